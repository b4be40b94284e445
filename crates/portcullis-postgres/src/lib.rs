//! PostgreSQL backends for Portcullis: the append-only audit store
//! ([`PgAuditStore`], implementing [`portcullis_audit::AuditStore`]), the sealed-credential
//! store for `portcullis-keys` blobs ([`PgCredentialStore`], also a
//! [`BlobSource`](portcullis_keys::BlobSource)/[`BlobSink`](portcullis_keys::BlobSink) so
//! [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all) runs over the table),
//! and a [`SecretSource`](portcullis_keys::SecretSource) backed by a table
//! ([`PgSecretSource`]).
//!
//! The database enforces what it can on its own: entries and checkpoints are append-only
//! by trigger (for every role, including the owner), the application runs as a role
//! with `INSERT`/`SELECT` only, and row-level security confines every transaction to one
//! tenant.
//!
//! # When not to use it
//!
//! - In tests and single-process tools: the in-memory and file stores of the concern
//!   crates need no server.
//! - Where the database operator is the adversary: the chain and append-only triggers
//!   stop mistakes and a compromised application, not a superuser. Publish signed
//!   checkpoints so customers can detect a rewrite (see `portcullis-audit`).
//! - Over an untrusted network: this version connects without TLS (see below).
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_audit::{AuditLog, NewEntry};
//! use portcullis_core::{ActorId, Provider, TenantId};
//! use portcullis_postgres::{migrate, PgAuditStore, PgOptions, PgPool, SchemaName};
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
//! let Ok(url) = std::env::var("PORTCULLIS_TEST_DATABASE_URL") else {
//!     eprintln!("SKIPPED: PORTCULLIS_TEST_DATABASE_URL is not set");
//!     return Ok(());
//! };
//! let options = PgOptions { schema: SchemaName::new("doctest_quickstart")?, ..PgOptions::default() };
//! let pool = PgPool::connect(&url, options)?;
//! migrate(&pool).await?; // idempotent; run at deploy time as the schema owner
//!
//! let log = AuditLog::new(Arc::new(PgAuditStore::new(pool)), Provider::system());
//! let tenant: TenantId = format!("doc-{}", std::process::id()).parse()?;
//! let receipt = log.append(&tenant, NewEntry::new(ActorId::new("alice")?, "user.login", "app")?).await?;
//! assert_eq!(log.verify(&tenant).await?.size, receipt.seq + 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! This crate has no optional features. It runs on tokio (through `tokio-postgres` and
//! `deadpool-postgres`); build and use the pool inside a tokio runtime.
//!
//! | Item | What it does |
//! | --- | --- |
//! | [`PgPool`], [`PgOptions`], [`SchemaName`] | connection pool, timeouts, target schema |
//! | [`migrate`] | embedded, idempotent, advisory-locked migrations |
//! | [`PgAuditStore`] | `AuditStore`: locked head row, batched appends, checkpoints |
//! | [`PgCredentialStore`] | sealed credentials per tenant; `BlobSource` + `BlobSink` |
//! | [`PgSecretSource`] | `SecretSource` over a table of sealed secrets |
//!
//! # Setup
//!
//! **PostgreSQL 12 or newer** (generated columns, `FORCE ROW LEVEL SECURITY`,
//! `EXECUTE FUNCTION` triggers); tested on 15.
//!
//! 1. **Migrate** at deploy time, as a role that owns (or may create) the schema and has
//!    `CREATEROLE`: `migrate(&pool).await?`. It creates the schema (default
//!    `portcullis`), the tables, the triggers, the policies and two `NOLOGIN` roles,
//!    `portcullis_app` and `portcullis_rotator`, and records each migration (version,
//!    name, SHA-256 of its SQL) in `<schema>.portcullis_migrations`. It is idempotent and
//!    takes `pg_advisory_xact_lock(MIGRATION_LOCK_KEY)` in its one transaction, so several
//!    instances may run it at start-up together. The SQL is in `migrations/` of this crate.
//! 2. **Create the service's login role** and let it become the application roles, but
//!    give it no table rights of its own:
//!    ```sql
//!    CREATE ROLE billing_svc LOGIN PASSWORD '...' NOINHERIT;
//!    GRANT portcullis_app TO billing_svc;
//!    -- A separate login for the re-encryption job, which reads every tenant's blobs:
//!    CREATE ROLE billing_rotate LOGIN PASSWORD '...' NOINHERIT;
//!    GRANT portcullis_rotator TO billing_rotate;
//!    ```
//! 3. **Connect** as that login role: `PgPool::connect("postgres://billing_svc@db/app",
//!    options)`. Every transaction the stores open starts with one statement that sets,
//!    `LOCAL` to the transaction, `role` to `portcullis_app` (or `portcullis_rotator`),
//!    `portcullis.tenant_id` to the tenant, and `statement_timeout`/`lock_timeout`; a
//!    pooled connection therefore carries nothing over to the next checkout.
//!
//! What the roles may do:
//!
//! | Table | `portcullis_app` | `portcullis_rotator` |
//! | --- | --- | --- |
//! | `audit_entries`, `audit_checkpoints` | `SELECT`, `INSERT` | none |
//! | `audit_heads` | `SELECT`, `INSERT (tenant_id)` (a genesis head), `UPDATE (size, head_hash)` (size must grow) | none |
//! | `sealed_credentials` | `SELECT`, `INSERT`, `DELETE`, `UPDATE (key_version, blob, updated_at)` | `SELECT`, `UPDATE (key_version, blob, updated_at)` |
//! | `sealed_secrets` | `SELECT`, `INSERT`, `DELETE`, `UPDATE` of blob columns | none |
//!
//! Every table has `FORCE ROW LEVEL SECURITY` with the policy `tenant_id =
//! current_setting('portcullis.tenant_id', true)`; without the setting no row is visible
//! or writable. Only `portcullis_rotator` has an all-tenant policy, on
//! `sealed_credentials`. Superusers and `BYPASSRLS` roles bypass row-level security
//! (PostgreSQL's rule), which is why the service must not log in as one.
//!
//! # Stored formats
//!
//! - `audit_entries`: one row per entry, `UNIQUE (tenant_id, seq)`; `record` holds the
//!   entry's JSON-line form from `portcullis-audit` (the hashed binary encoding is
//!   specified there), with `prev_hash`, `entry_hash` and the main fields as columns.
//!   `audit_heads` holds `(size, head_hash)` per tenant, genesis = `(0, 32 zero bytes)`
//!   (the column defaults; the application role may insert only `tenant_id`). Every
//!   table's `tenant_id` is checked against the tenant id pattern.
//! - `sealed_credentials`: `(tenant_id, credential_id, key_version, blob)`; the blob is the
//!   `portcullis-keys` sealed format, sealed for the tenant with context
//!   `portcullis-postgres/credential:<credential id>` ([`credential_context`]), which the
//!   store derives and never stores; the re-encryption [`portcullis_keys::BlobId`] is
//!   `<tenant>/<credential id>` ([`blob_id`]), ordered bytewise (`COLLATE "C"`).
//! - `sealed_secrets`: `(tenant_id, name, key_version, blob)`, sealed with context
//!   `portcullis-postgres/secret:<name>`.
//!
//! # Security considerations
//!
//! - **Append-only**: statement-level triggers raise on `UPDATE`, `DELETE` and
//!   `TRUNCATE` of entries and checkpoints, and on `DELETE`/`TRUNCATE` of heads and any
//!   head update that does not grow its size. They are `ENABLE ALWAYS`, so `session_replication_role = replica` does not
//!   silence them; the table owner is stopped too. A superuser or the owner can still
//!   drop or disable a trigger: that is what signed checkpoints held by others detect.
//! - **The application role can insert entries** (it must). A compromised application
//!   could insert a forged row; it cannot change or remove existing ones, and
//!   `verify_chain` names the first forged seq. A forged row at the next seq makes
//!   honest appends fail with a conflict (fail closed) until an operator inspects it.
//! - **Tenant isolation** is enforced twice: the stores only query their tenant, and
//!   row-level security hides other tenants' rows from the same connection.
//! - **Fail closed**: every database failure is a typed
//!   [`BackendError`](portcullis_core::BackendError) (unavailable, timeout, conflict,
//!   corrupt, other) inside the trait's error; nothing is retried behind the caller's
//!   back (an append whose commit was lost in flight may or may not have landed: read the
//!   head). Each operation has a server-side statement/lock timeout and a client-side
//!   deadline ([`PgOptions`]).
//! - **No plaintext** column exists; credentials and secrets are `portcullis-keys`
//!   ciphertext bound to the tenant and to a context the store derives from the row's id
//!   (`portcullis-postgres/credential:<id>`, `portcullis-postgres/secret:<name>`), never
//!   one read from the row, so a blob copied to another tenant or id does not open
//!   through the store ([`KeysError::Decrypt`](portcullis_keys::KeysError::Decrypt)).
//!   Copying a row's own older blob back over it (a rollback) is not detected.
//! - **No TLS** in this version: connect over a Unix socket, to a local server, or through
//!   a TLS-terminating proxy. Database passwords in URLs are redacted from errors.
//! - Schema names are validated (`[a-z_][a-z0-9_]*`) before being spliced into SQL; all
//!   values are bound parameters.
#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod audit;
mod credentials;
mod error;
mod migrate;
mod pool;
mod secrets;

pub use audit::PgAuditStore;
pub use credentials::{
    CredentialId, PgCredentialStore, StoredCredential, blob_id, credential_context, split_blob_id,
};
pub use error::PostgresError;
pub use migrate::{MIGRATION_LOCK_KEY, MigrationReport, migrate};
pub use pool::{APP_ROLE, PgOptions, PgPool, ROTATOR_ROLE, SchemaName};
pub use secrets::PgSecretSource;
