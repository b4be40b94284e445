//! PostgreSQL backends for Portcullis: the append-only audit store
//! ([`PgAuditStore`], implementing [`portcullis_audit::AuditStore`]), the sealed-credential
//! store for `portcullis-keys` blobs ([`PgCredentialStore`], also a
//! [`BlobSource`](portcullis_keys::BlobSource)/[`BlobSink`](portcullis_keys::BlobSink) so
//! [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all) runs over the table),
//! and a [`SecretSource`](portcullis_keys::SecretSource) backed by a table
//! ([`PgSecretSource`], also a `BlobSource`/`BlobSink`, so sealed secrets are
//! re-encrypted on rotation too).
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
//! - `tls` (default): `sslmode=verify-full` through rustls with the ring provider —
//!   `sslrootcert` / [`PgTls::root_ca_pem`] or the system roots, an optional client
//!   certificate ([`PgTls`] has the `sslmode` table). Without it, only plain TCP to
//!   loopback and Unix sockets.
//!
//! It runs on tokio (through `tokio-postgres` and `deadpool-postgres`); build and use the
//! pool inside a tokio runtime.
//!
//! | Item | What it does |
//! | --- | --- |
//! | [`PgPool`], [`PgOptions`], [`SchemaName`] | connection pool, timeouts, target schema and its roles |
//! | [`PgTls`] | TLS roots, client certificate, the plaintext-to-loopback rule |
//! | [`migrate`], [`migrate_with`], [`MigrateOptions`] | embedded, idempotent, advisory-locked migrations; the optional hash-partitioned audit layout |
//! | [`PgAuditStore`] | `AuditStore`: locked head row, group commit of concurrent appends, checkpoints |
//! | [`PgCredentialStore`] | sealed credentials per tenant; `BlobSource` + `BlobSink` |
//! | [`PgSecretSource`] | `SecretSource` over a table of sealed secrets; `BlobSource` + `BlobSink` |
//! | [`PgSealBudgetStore`] | `SealBudgetStore`: the random-nonce budget (reserved seals per purpose and key version) shared by every process |
//!
//! # Setup
//!
//! **PostgreSQL 12 or newer** (generated columns, `FORCE ROW LEVEL SECURITY`,
//! `EXECUTE FUNCTION` triggers); tested on 15.
//!
//! 1. **Migrate** at deploy time, as a role that owns (or may create) the schema and has
//!    `CREATEROLE`: `migrate(&pool).await?`. It creates the schema (default
//!    `portcullis`), the tables, the triggers, the policies and the schema's two
//!    `NOLOGIN` roles, `<schema>_app` and `<schema>_rotator`
//!    ([`SchemaName::app_role`], [`SchemaName::rotator_role`]; `portcullis_app` and
//!    `portcullis_rotator` for the default schema), and records each migration (version,
//!    name, SHA-256 of its SQL) in `<schema>.portcullis_migrations`. It refuses, with
//!    [`PostgresError::UnsafeRole`] and without changing anything, to adopt an existing
//!    role of those names that has `LOGIN`, `SUPERUSER` or `BYPASSRLS`. It is idempotent
//!    and takes `pg_advisory_xact_lock(MIGRATION_LOCK_KEY)` in its one transaction, so
//!    several instances may run it at start-up together. The SQL is in `migrations/` of
//!    this crate. [`migrate_with`] does the same with options: today the hash-partitioned
//!    audit layout (see "Scale" below), chosen when the schema is created.
//! 2. **Create the service's login role** and let it become the application roles, but
//!    give it no table rights of its own (here for the schema `billing`):
//!    ```sql
//!    CREATE ROLE billing_svc LOGIN PASSWORD '...' NOINHERIT;
//!    GRANT billing_app TO billing_svc;
//!    -- A separate login for the re-encryption job, which reads every tenant's blobs:
//!    CREATE ROLE billing_rotate LOGIN PASSWORD '...' NOINHERIT;
//!    GRANT billing_rotator TO billing_rotate;
//!    ```
//! 3. **Connect** as that login role: `PgPool::connect("postgres://billing_svc@db/app",
//!    options)`. Every transaction the stores open starts with one statement that sets,
//!    `LOCAL` to the transaction, `role` to the schema's app (or rotator) role,
//!    `portcullis.tenant_id` to the tenant, and `statement_timeout`/`lock_timeout`; a
//!    pooled connection therefore carries nothing over to the next checkout.
//!
//! **Several deployments on one server** each use their own schema, and so their own
//! roles: a login granted `billing_app` has no right at all in the schema `crm`, whose
//! tables only `crm_app` and `crm_rotator` may use. Roles are server-wide while schemas
//! are per database, so two databases of one server must not both use the same schema
//! name (they would share its roles).
//!
//! **Upgrading from migration 4 or earlier**: those versions granted every schema to the
//! shared roles `portcullis_app` and `portcullis_rotator`. Migration 5 gives the rights
//! to the schema's own roles and revokes the shared roles' rights in the schema (unless
//! it is the default schema, whose roles they are). For another schema, grant the login
//! roles `<schema>_app` / `<schema>_rotator` instead. A fresh migration of another
//! schema still runs migrations 1 to 3 as released, which create the shared roles (with
//! no rights afterwards) if they do not exist.
//!
//! What the roles may do:
//!
//! | Table | `<schema>_app` | `<schema>_rotator` |
//! | --- | --- | --- |
//! | `audit_entries`, `audit_checkpoints` | `SELECT`, `INSERT` | none |
//! | `audit_heads` | `SELECT`, `INSERT (tenant_id)` (a genesis head), `UPDATE (size, head_hash)` (size must grow) | none |
//! | `sealed_credentials` | `SELECT`, `INSERT`, `DELETE`, `UPDATE (key_version, blob, updated_at)` | `SELECT`, `UPDATE (key_version, blob, updated_at)` |
//! | `sealed_secrets` | `SELECT`, `INSERT`, `DELETE`, `UPDATE (key_version, blob, updated_at)` | `SELECT`, `UPDATE (key_version, blob, updated_at)` |
//!
//! Every table has `FORCE ROW LEVEL SECURITY` with the policy `tenant_id =
//! current_setting('portcullis.tenant_id', true)`; without the setting no row is visible
//! or writable. Only the rotator role has an all-tenant policy, on
//! `sealed_credentials` and `sealed_secrets`. Superusers and `BYPASSRLS` roles bypass row-level security
//! (PostgreSQL's rule), which is why the service must not log in as one.
//!
//! # Scale
//!
//! **Group commit.** A single-entry append is one transaction with one WAL flush at
//! `COMMIT`, and appends of one tenant serialize on its head row, so one tenant's appends
//! used to be bounded by one flush each. [`PgAuditStore`] now queues concurrent appends to
//! the same tenant (from one store and its clones, in one process) and lets one of them,
//! the leader, commit a group: it locks the head row once, takes every append queued
//! meanwhile in arrival order (up to [`MAX_GROUP_ENTRIES`] entries; a batch is never split,
//! and a batch larger than that commits alone), seals them after the head in that order,
//! inserts them and moves the head in one statement, and commits once. Each append gets its
//! own receipts, the same seqs and hashes as if the appends had run one after the other:
//! the chain format is unchanged. The next group forms while one commits, so under load a
//! group holds about as many appends as there are appenders.
//!
//! A group costs two round trips: `BEGIN`, the session setup and the head lock are sent
//! together, then the insert-and-move-head statement and `COMMIT` together (the server runs
//! pipelined statements in order; a failed statement turns the `COMMIT` into a rollback, and
//! the statement fails unless it moved the head). The transaction is driven by hand: if
//! the append is cancelled or fails before its `COMMIT` answered, its connection is closed,
//! never returned to the pool inside a transaction.
//!
//! - **All or nothing per group**: if the group's transaction fails, every append of the
//!   group fails with the same error and none of its entries is committed. For a group of
//!   two or more, the error is an [`AuditError::Backend`](portcullis_audit::AuditError::Backend)
//!   of the cause's kind whose source is a [`GroupCommitError`] (appends, entries, and the
//!   shared [`cause`](GroupCommitError::cause)); an append that ran alone gets its own
//!   error, as before. Nothing is retried on the caller's behalf.
//! - **Deadlines**: each append keeps its own [`PgOptions::operation_timeout`], waiting
//!   included. An append whose deadline passes while queued leaves the queue and is never
//!   written. Once taken into a running group, its outcome is the group's; an append whose
//!   deadline passes then (or a leader cancelled mid-transaction, whose group then fails
//!   with a timeout) may or may not have landed, as for any commit cut in flight: read the
//!   head.
//! - **Isolation**: each tenant has its own queue; a busy or blocked tenant never delays
//!   another tenant's appends (each busy tenant uses one pooled connection at a time).
//!   [`PgAuditStore::queued_appends`] shows a tenant's queue.
//! - **Across processes** (or separate stores) appends still serialize on the head row
//!   lock, group against group; one store per process gets the most out of it.
//!
//! Migration 7 also made the consistency triggers (see "Audit log integrity") much cheaper
//! per entry: one prepared query per row instead of three queries planned again at every
//! call (measured with `pgbench` while building this, not by the criterion bench).
//!
//! **Partitioned audit tables** (opt-in, tested here on PostgreSQL 15). `migrate_with(&pool,
//! MigrateOptions::partitioned(8))` on a fresh schema creates `audit_heads`,
//! `audit_entries` and `audit_checkpoints` as native tables `PARTITION BY HASH
//! (tenant_id)`, each with that many partitions `<table>_p0` ... `<table>_p7`. From the
//! outside they are the same tables: columns, keys, checks, triggers, policies and grants
//! (the tests compare both layouts). Every statement of the store names one tenant, so
//! PostgreSQL reaches one partition of each table, and a tenant's rows, indexes and vacuum
//! work stay in one partition. PostgreSQL clones row-level triggers onto partitions (the
//! consistency triggers, `audit_heads_forward`), but a parent's statement-level triggers
//! and row-level security apply only to statements naming the parent, so migration 8 gives
//! every partition its own append-only statement triggers (`<partition>_append_only`,
//! `_no_truncate`, `_no_delete`, `ENABLE ALWAYS`), `ENABLE` + `FORCE ROW LEVEL SECURITY`
//! with the tenant policy, and no privilege for anyone but the owner: the application role
//! reaches the rows only through the parent (a statement naming a partition is refused
//! with `42501`), and even a privilege granted on a partition by mistake meets the same
//! policy. The layout is fixed when the audit tables are created empty:
//! [`migrate_with`] refuses another layout than the one it finds
//! ([`PostgresError::AuditLayoutMismatch`], nothing changed), while [`migrate`] accepts
//! either. Moving an existing log to the other layout means a new schema and a copy (not
//! provided). In this crate's bench, partitioned appends on one tenant are slower than
//! plain ones (each cached plan over a partitioned table locks every partition; PostgreSQL
//! 15 does that), so partition for the size of the tables and their maintenance, not for
//! append speed.
//!
//! **Citus (not tested here).** The audit tables are built for distribution on
//! `tenant_id`: every key and every query of the store includes it, and one append touches
//! one tenant's rows of the three tables. With the plain layout, distributing them
//! colocated would be:
//!
//! ```sql
//! SELECT create_distributed_table('portcullis.audit_heads', 'tenant_id');
//! SELECT create_distributed_table('portcullis.audit_entries', 'tenant_id',
//!                                 colocate_with => 'portcullis.audit_heads');
//! SELECT create_distributed_table('portcullis.audit_checkpoints', 'tenant_id',
//!                                 colocate_with => 'portcullis.audit_heads');
//! ```
//!
//! so that each append is a single-shard transaction on one worker. This has not been run
//! against Citus by this crate's tests, and several of the guarantees above rest on
//! features whose support depends on the Citus version; check each before relying on it:
//! the triggers (append-only, forward-only heads, and the consistency triggers, whose
//! functions query the schema's tables by name and must run against the colocated shards;
//! Citus has needed `citus.enable_unsafe_triggers` or triggers created on the shards),
//! row-level security and its policies on distributed tables, the transaction-local
//! settings `role` and `portcullis.tenant_id` reaching the workers, and the grants of the
//! schema's roles on the workers. Group commit needs nothing from the server beyond one
//! transaction per group.
//!
//! # Stored formats
//!
//! - `audit_entries`: one row per entry, `UNIQUE (tenant_id, seq)`; `record` holds the
//!   entry's JSON-line form from `portcullis-audit` (the hashed binary encoding is
//!   specified there), with `prev_hash`, `entry_hash` and the main fields as columns.
//!   `audit_heads` holds `(size, head_hash)` per tenant, genesis = `(0, 32 zero bytes)`
//!   (the column defaults; the application role may insert only `tenant_id`). Every
//!   table's `tenant_id` is checked against the tenant id pattern. With
//!   [`MigrateOptions::audit_partitions`], the three audit tables are hash-partitioned by
//!   `tenant_id` (partitions `<table>_p<i>`); the rows are the same.
//! - `sealed_credentials`: `(tenant_id, credential_id, key_version, blob)`; the blob is the
//!   `portcullis-keys` sealed format, sealed for the tenant with context
//!   `portcullis-postgres/credential:<credential id>` ([`credential_context`]), which the
//!   store derives and never stores; the re-encryption [`portcullis_keys::BlobId`] is
//!   `<tenant>/<credential id>` ([`blob_id`]), ordered bytewise (`COLLATE "C"`).
//! - `sealed_secrets`: `(tenant_id, name, key_version, blob)`, sealed with context
//!   `portcullis-postgres/secret:<name>`; the re-encryption id is `<tenant>/<name>`,
//!   ordered bytewise.
//!
//! # Key rotation runbook
//!
//! The steps of `portcullis-keys`' runbook, over both tables (`tests/rotation.rs`
//! follows them):
//!
//! 1. **Add** the new master version as primary in every process ([`Sealer::rotate`],
//!    or `insert_key` everywhere, then `set_primary`). New credentials and secrets are
//!    sealed under it from then on.
//! 2. **Re-encrypt**, as a login granted only `<schema>_rotator` (setup step 2), with
//!    the same [`Sealer`] (purpose and keys) the blobs were sealed with:
//!    ```no_run
//!    # use portcullis_keys::{ReencryptOptions, Sealer};
//!    # use portcullis_postgres::{PgCredentialStore, PgSecretSource};
//!    # async fn run(sealer: &Sealer, credentials: &PgCredentialStore, secrets: &PgSecretSource)
//!    # -> Result<(), Box<dyn std::error::Error>> {
//!    let report = sealer.reencrypt_all(credentials, credentials, ReencryptOptions::default()).await?;
//!    assert!(report.failed.is_empty() && report.conflicts == 0, "{report:?}");
//!    // Every tenant's secrets, whatever the tenant the PgSecretSource was built for.
//!    let report = sealer.reencrypt_all(secrets, secrets, ReencryptOptions::default()).await?;
//!    assert!(report.failed.is_empty() && report.conflicts == 0, "{report:?}");
//!    # Ok(()) }
//!    ```
//!    Re-run on conflicts; investigate `failed` (a blob that does not open for its row).
//!    `SELECT key_version, count(*) FROM <table> GROUP BY 1` shows what is left.
//! 3. **Fence**: [`Sealer::set_min_decrypt_version`] to the new version once a run finds
//!    nothing left under the old one (`reencrypted == 0`).
//! 4. **Retire** the old version ([`Sealer::retire`]) and stop loading its key.
//!
//! [`Sealer`]: portcullis_keys::Sealer
//! [`Sealer::rotate`]: portcullis_keys::Sealer::rotate
//! [`Sealer::set_min_decrypt_version`]: portcullis_keys::Sealer::set_min_decrypt_version
//! [`Sealer::retire`]: portcullis_keys::Sealer::retire
//!
//! # Audit log integrity and repair
//!
//! Since migration 4, the database refuses to commit a transaction that leaves a
//! tenant's audit rows disagreeing with its head, for every role including the owner
//! (deferred constraint triggers, `ENABLE ALWAYS`, checked at `COMMIT`):
//!
//! | Rule | Refused with SQLSTATE |
//! | --- | --- |
//! | every entry lies below the head (`seq < size`): an entry commits only in the transaction that moves the head past it | `PC001` |
//! | the head names its last entry: size 0 with the all-zero hash, or the entry at `size - 1` exists with the head's hash | `PC002` |
//! | no checkpoint exceeds the head's size | `PC003` |
//!
//! (Since migration 7 each trigger checks what its row can change, with a prepared query:
//! an inserted entry against its head, a moved head against the entry it names, an
//! inserted checkpoint against its head. With entries append-only and heads forward-only,
//! that is the same rules for everything committed since migration 4.)
//!
//! [`PgAuditStore`]'s reads check the same rules against the stored rows (so
//! [`AuditLog::verify`](portcullis_audit::AuditLog::verify) does), and fail with an
//! [`AuditIntegrityError`] (`EntryBeyondHead { seq, .. }`, `HeadMismatch { .. }`,
//! `CheckpointBeyondHead { .. }`) as the source of a
//! [`Corrupt`](portcullis_core::BackendErrorKind::Corrupt) backend error: rows written
//! before migration 4, or by a role that disabled the triggers, are reported, not
//! skipped.
//!
//! **Repair** a damaged tenant as the schema's owner, after reading what is there and
//! comparing with the latest signed checkpoint you hold elsewhere. Every honest append
//! commits its entries and its head move together, so rows at or beyond the head were
//! never part of the log; a head that does not name its last entry was moved or
//! rewritten. If your signed checkpoint is larger than the head this leaves, entries
//! were removed: restore from a backup instead. The script lifts the append-only triggers
//! for its own transaction only (`ALTER TABLE` is transactional and locks the tables
//! until `COMMIT`), and has the consistency triggers check the result before it puts
//! them back (`SET CONSTRAINTS ALL IMMEDIATE`; an inconsistent result aborts it all). Replace
//! the schema `portcullis` and the tenant `'acme'`:
//!
//! ```sql
//! BEGIN;
//! SET LOCAL search_path TO portcullis;
//! SELECT set_config('portcullis.tenant_id', 'acme', true); -- row-level security
//! -- Look first: the head, then every entry at or beyond it.
//! SELECT size, encode(head_hash, 'hex') FROM audit_heads WHERE tenant_id = 'acme';
//! SELECT seq, actor, action, resource, inserted_at FROM audit_entries
//!  WHERE tenant_id = 'acme'
//!    AND seq >= coalesce((SELECT size FROM audit_heads WHERE tenant_id = 'acme'), 0);
//! ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only;
//! ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only;
//! ALTER TABLE audit_heads DISABLE TRIGGER audit_heads_forward;
//! -- 1. Remove entries at or beyond the head.
//! DELETE FROM audit_entries
//!  WHERE tenant_id = 'acme'
//!    AND seq >= coalesce((SELECT size FROM audit_heads WHERE tenant_id = 'acme'), 0);
//! -- 2. Re-point the head at the last remaining entry (no change if it names it already).
//! UPDATE audit_heads h SET size = e.seq + 1, head_hash = e.entry_hash
//!   FROM (SELECT seq, entry_hash FROM audit_entries WHERE tenant_id = 'acme'
//!          ORDER BY seq DESC LIMIT 1) e
//!  WHERE h.tenant_id = 'acme';
//! -- 3. Remove checkpoints beyond the head.
//! DELETE FROM audit_checkpoints
//!  WHERE tenant_id = 'acme'
//!    AND size > coalesce((SELECT size FROM audit_heads WHERE tenant_id = 'acme'), 0);
//! -- Check the result now (the tables cannot be altered while checks are pending).
//! SET CONSTRAINTS ALL IMMEDIATE;
//! ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_only;
//! ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_append_only;
//! ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_forward;
//! COMMIT;
//! ```
//!
//! The script is the same for the partitioned layout: its statements name the parent
//! tables, whose triggers it lifts; the partitions' own statement triggers fire only for
//! statements naming a partition, and `ALTER TABLE` on a parent disables and re-enables the
//! row-level triggers of its partitions with it.
//!
//! Then run `verify` for the tenant: a chain fault it still names
//! ([`AuditError::ChainBroken`](portcullis_audit::AuditError::ChainBroken)) is inside
//! the log and is evidence, not something to repair. (The script assumes at least one
//! entry remains; for a tenant with none it leaves the head, and the check refuses it.)
//!
//! # Security considerations
//!
//! - **Append-only**: statement-level triggers raise on `UPDATE`, `DELETE` and
//!   `TRUNCATE` of entries and checkpoints, and on `DELETE`/`TRUNCATE` of heads and any
//!   head update that does not grow its size. They are `ENABLE ALWAYS`, so `session_replication_role = replica` does not
//!   silence them; the table owner is stopped too. A superuser or the owner can still
//!   drop or disable a trigger: that is what signed checkpoints held by others detect.
//! - **The application role can insert entries** (it must). A compromised application
//!   could append a forged entry together with a head move, like an honest append; it
//!   cannot change or remove existing ones, and `verify_chain` names the first forged
//!   seq. A row that does not move the head, a head moved past its entries and a
//!   checkpoint beyond the head are refused at commit (see above), so they cannot wedge
//!   the log.
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
//! - **Transport.** `sslmode=verify-full` (also `require` and `verify-ca`, which verify
//!   just as much here) makes every connection TLS with the server's chain and host name
//!   checked; plain TCP goes only to loopback hosts and Unix sockets unless
//!   [`PgTls::danger_allow_plaintext_remote`] (refused with [`PostgresError::Transport`]).
//!   Tested against a private `ssl=on` server with openssl-made certificates (audit
//!   conformance suite, credentials, a wrong CA refused). No error holds the database URL or any part of it: a URL
//!   that does not parse is [`PostgresError::InvalidDatabaseUrl`], a fixed message with
//!   no source, so a password in the userinfo or in a `password=` option never shows.
//! - Schema names are validated (`[a-z_][a-z0-9_]*`) before being spliced into SQL; all
//!   values are bound parameters.
#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod audit;
mod blobs;
mod credentials;
mod error;
mod migrate;
mod pool;
mod seal_budget;
mod secrets;
mod tls;

pub use audit::{GroupCommitError, MAX_GROUP_ENTRIES, PgAuditStore};
pub use credentials::{
    CredentialId, PgCredentialStore, StoredCredential, blob_id, credential_context, split_blob_id,
};
pub use error::{AuditIntegrityError, PostgresError};
pub use migrate::{
    MAX_AUDIT_PARTITIONS, MIGRATION_LOCK_KEY, MigrateOptions, MigrationReport, migrate,
    migrate_with,
};
pub use pool::{MAX_SCHEMA_NAME_LEN, PgOptions, PgPool, SchemaName};
pub use seal_budget::PgSealBudgetStore;
pub use secrets::PgSecretSource;
pub use tls::PgTls;
