//! Criterion benches of `portcullis-passwords` against its peer crates in the same run.
//!
//! Run with `cargo bench -p portcullis-bench-passwords`.
