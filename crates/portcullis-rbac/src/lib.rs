//! Portcullis rbac (under construction).
#![forbid(unsafe_code)]
