//! Portcullis audit (under construction).
#![forbid(unsafe_code)]
