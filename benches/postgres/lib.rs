//! Criterion benches of `portcullis-postgres` against a real PostgreSQL server.
//!
//! Run with `PORTCULLIS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
//! cargo bench -p portcullis-bench-postgres`; without the variable the bench prints that
//! it is skipped and exits.
