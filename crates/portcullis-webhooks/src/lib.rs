//! Portcullis webhooks (under construction).
#![forbid(unsafe_code)]
