//! Portcullis keys (under construction).
#![forbid(unsafe_code)]
