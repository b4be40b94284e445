//! Criterion benches comparing Portcullis with its peer crates in the same run.
//!
//! Run one with `cargo bench -p portcullis-benches --bench <name>`; the README reports the
//! ratios measured on this project's machines.
