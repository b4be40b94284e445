//! Criterion benches of `portcullis-tokens` against its peer crates in the same run.
//!
//! Run with `cargo bench -p portcullis-bench-tokens`.
