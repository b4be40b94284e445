//! Runnable examples composing the Portcullis crates.
//!
//! This package holds no library code; run an example with
//! `cargo run --example quickstart`.
