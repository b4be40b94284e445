//! Criterion benches of `portcullis-postgres` against a real PostgreSQL server.
//!
//! Run with `PORTCULLIS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
//! cargo bench -p portcullis-bench-postgres`; without the variable the bench prints that
//! it is skipped and exits.
//!
//! It runs 8 appenders on one tenant, single entries and batches of 50, on plain and on
//! hash-partitioned audit tables, then 8 appenders on 8 tenants, next to the in-memory
//! store and bare single-row INSERTs in the same run. The recorded figures are the
//! README's bench table (the PostgreSQL rows); this file does not repeat them.
//!
//! Concurrent single-entry appends to one tenant are group-committed by `PgAuditStore`
//! (one transaction, one WAL flush, for all the appends queued while the previous group
//! committed); the bench prints how many entries each commit carried.
