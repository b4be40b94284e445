//! Criterion benches of `portcullis-rbac` against its peer crates in the same run.
//!
//! Run with `cargo bench -p portcullis-bench-rbac`.
