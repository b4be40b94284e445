//! Criterion benches of `portcullis-webhooks` against its peer crates in the same run.
//!
//! Run with `cargo bench -p portcullis-bench-webhooks`.
