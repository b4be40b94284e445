//! Criterion benches of `portcullis-postgres` against a real PostgreSQL server.
//!
//! Run with `PORTCULLIS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
//! cargo bench -p portcullis-bench-postgres`; without the variable the bench prints that
//! it is skipped and exits.
//!
//! It runs 8 appenders on one tenant, single entries and batches of 50, next to the
//! in-memory store and bare single-row INSERTs in the same run. The recorded figures are
//! the README's bench table (the PostgreSQL rows), from the run whose raw output is in
//! `benches/results-2026-11-22.txt`; this file does not repeat them.
//!
//! Single-entry appends serialize on the tenant's head row through each commit's WAL
//! flush; batch appends (or an `AuditLog` fed from a queue) amortize it.
