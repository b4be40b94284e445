//! Criterion benches of `portcullis-keys` against its peer crates in the same run.
//!
//! Run with `cargo bench -p portcullis-bench-keys`.
