//! Criterion benches of `portcullis-audit` against its peer crates in the same run.
//!
//! Run with `cargo bench -p portcullis-bench-audit`.
