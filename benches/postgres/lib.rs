//! Criterion benches of `portcullis-postgres` against a real PostgreSQL server.
//!
//! Run with `PORTCULLIS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
//! cargo bench -p portcullis-bench-postgres`; without the variable the bench prints that
//! it is skipped and exits.
//!
//! Two runs on the shared 2-core development machine (PostgreSQL 15 on localhost,
//! `synchronous_commit = on`), `-- --warm-up-time 1 --measurement-time 3`, 8 appenders
//! on one tenant:
//!
//! | Bench | Run 1 | Run 2 |
//! | --- | --- | --- |
//! | `postgres_batch_50` (entries/s) | 20.4 k | 18.5 k |
//! | `postgres_single` (entries/s) | 650 | 448 |
//! | `bare_insert_single` (rows/s, no chain, no lock) | 2.81 k | 3.72 k |
//! | `memory_single` (entries/s) | 779 k | 582 k |
//!
//! Single-entry appends serialize on the tenant's head row through each commit's WAL
//! flush; batch appends (or an `AuditLog` fed from a queue) amortize it.
