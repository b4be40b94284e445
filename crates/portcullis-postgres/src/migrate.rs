//! Embedded migrations, applied by [`migrate`].

use sha2::{Digest, Sha256};

use crate::error::{self, PostgresError};
use crate::pool::PgPool;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "audit",
        sql: include_str!("../migrations/0001_audit.sql"),
    },
    Migration {
        version: 2,
        name: "credentials",
        sql: include_str!("../migrations/0002_credentials.sql"),
    },
    Migration {
        version: 3,
        name: "bindings",
        sql: include_str!("../migrations/0003_bindings.sql"),
    },
    Migration {
        version: 4,
        name: "integrity",
        sql: include_str!("../migrations/0004_integrity.sql"),
    },
    Migration {
        version: 5,
        name: "roles",
        sql: include_str!("../migrations/0005_roles.sql"),
    },
    Migration {
        version: 6,
        name: "secret_rotation",
        sql: include_str!("../migrations/0006_secret_rotation.sql"),
    },
    Migration {
        version: 7,
        name: "integrity_static",
        sql: include_str!("../migrations/0007_integrity_static.sql"),
    },
    Migration {
        version: 8,
        name: "audit_partitions",
        sql: include_str!("../migrations/0008_audit_partitions.sql"),
    },
    Migration {
        version: 9,
        name: "seal_budget",
        sql: include_str!("../migrations/0009_seal_budget.sql"),
    },
];

/// The most hash partitions [`MigrateOptions::audit_partitions`] accepts.
pub const MAX_AUDIT_PARTITIONS: u16 = 1024;

/// Options of [`migrate_with`]. The default is what [`migrate`] does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Create the audit tables (`audit_heads`, `audit_entries`, `audit_checkpoints`)
    /// hash-partitioned by `tenant_id` into this many partitions each (1 to
    /// [`MAX_AUDIT_PARTITIONS`]), instead of as plain tables. The layout is chosen when
    /// the audit tables are created (by migration 8, while they are empty) and is never
    /// changed afterwards: asking for a layout the schema does not have is an error
    /// ([`PostgresError::AuditLayoutMismatch`]). `None` (the default) creates plain tables
    /// in a fresh schema and accepts either layout in an existing one.
    pub audit_partitions: Option<u16>,
}

impl MigrateOptions {
    /// Options for audit tables hash-partitioned into `n` partitions.
    pub fn partitioned(n: u16) -> Self {
        Self {
            audit_partitions: Some(n),
        }
    }
}

/// The advisory-lock key every [`migrate`] call takes (`"portcull"` as a big-endian
/// `i64`), so concurrent runs, in any schema, apply migrations one at a time.
pub const MIGRATION_LOCK_KEY: i64 = 0x706f_7274_6375_6c6c;

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call, in order.
    pub applied: Vec<i32>,
    /// The schema's version afterwards.
    pub version: i32,
}

/// Creates the schema, the roles and the tables, or brings them up to date.
///
/// Idempotent and safe to call from several processes at once: it runs in one
/// transaction that first takes `pg_advisory_xact_lock(MIGRATION_LOCK_KEY)`, records each
/// applied migration (version, name, SHA-256 of its SQL) in `<schema>.portcullis_migrations`,
/// and applies only the missing ones. Run it as the schema's owner with the `CREATEROLE`
/// privilege, not as the application's login role: it creates the schema's `NOLOGIN`
/// roles [`SchemaName::app_role`](crate::SchemaName::app_role) and
/// [`SchemaName::rotator_role`](crate::SchemaName::rotator_role) (`<schema>_app`,
/// `<schema>_rotator`) if absent, and before anything else refuses to adopt an existing
/// role of those names that may log in, is a superuser or bypasses row-level security.
///
/// # Errors
///
/// [`PostgresError::UnsafeRole`] if one of the schema's roles exists with `LOGIN`,
/// `SUPERUSER` or `BYPASSRLS`; [`PostgresError::MigrationMismatch`] if an applied
/// migration differs from the embedded one, [`PostgresError::MigrationFromTheFuture`] if
/// the database is newer than this build, [`PostgresError::Backend`] if the database
/// fails. Nothing is changed on any error (one transaction).
pub async fn migrate(pool: &PgPool) -> Result<MigrationReport, PostgresError> {
    migrate_with(pool, MigrateOptions::default()).await
}

/// [`migrate`] with options: the same migrations in the same one transaction, with the
/// audit tables hash-partitioned by tenant if [`MigrateOptions::audit_partitions`] asks
/// for it (see the crate docs, "Partitioned audit tables").
///
/// # Errors
///
/// As [`migrate`]; also [`PostgresError::InvalidConfig`] for a partition count outside 1
/// to [`MAX_AUDIT_PARTITIONS`], and [`PostgresError::AuditLayoutMismatch`] if the audit
/// tables end up with another layout than asked for (they existed already, with rows or
/// migration 8 applied). Nothing is changed on any error.
pub async fn migrate_with(
    pool: &PgPool,
    options: MigrateOptions,
) -> Result<MigrationReport, PostgresError> {
    if let Some(n) = options.audit_partitions {
        if n == 0 || n > MAX_AUDIT_PARTITIONS {
            return Err(PostgresError::InvalidConfig {
                what: "audit partition count",
                value: n.to_string(),
            });
        }
    }
    pool.deadline("postgres.migrate", migrate_inner(pool, options))
        .await
}

async fn migrate_inner(
    pool: &PgPool,
    options: MigrateOptions,
) -> Result<MigrationReport, PostgresError> {
    const OP: &str = "postgres.migrate";
    let schema = pool.schema();
    let table = schema.table("portcullis_migrations");
    let mut client = pool.get(OP).await?;
    let tx = client.transaction().await.map_err(|e| error::db(OP, e))?;
    let q = |e| PostgresError::Backend(error::db(OP, e));
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(q)?;
    let roles = [schema.app_role(), schema.rotator_role()];
    let found = tx
        .query(
            "SELECT rolname::text, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles
             WHERE rolname = ANY($1) ORDER BY rolname",
            &[&roles.as_slice()],
        )
        .await
        .map_err(q)?;
    for row in found {
        for (column, attribute) in [(1, "LOGIN"), (2, "SUPERUSER"), (3, "BYPASSRLS")] {
            if row.try_get::<_, bool>(column).map_err(q)? {
                return Err(PostgresError::UnsafeRole {
                    role: row.try_get(0).map_err(q)?,
                    attribute,
                });
            }
        }
    }
    // Migration 5 and later read the role names from these, migration 8 the layout.
    let partitions = options
        .audit_partitions
        .map_or_else(String::new, |n| n.to_string());
    tx.execute(
        "SELECT set_config('portcullis.app_role', $1, true), \
                set_config('portcullis.rotator_role', $2, true), \
                set_config('portcullis.audit_partitions', $3, true)",
        &[&roles[0], &roles[1], &partitions],
    )
    .await
    .map_err(q)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{s}\";
         SET LOCAL search_path TO \"{s}\";
         CREATE TABLE IF NOT EXISTS {table} (
             version integer PRIMARY KEY,
             name text NOT NULL,
             checksum bytea NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
        s = schema.as_str()
    ))
    .await
    .map_err(q)?;
    let rows = tx
        .query(
            &format!("SELECT version, checksum FROM {table} ORDER BY version"),
            &[],
        )
        .await
        .map_err(q)?;
    let mut done = Vec::with_capacity(rows.len());
    for row in rows {
        let version: i32 = row.try_get(0).map_err(q)?;
        let checksum: Vec<u8> = row.try_get(1).map_err(q)?;
        done.push((version, checksum));
    }
    for (version, checksum) in &done {
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version) else {
            return Err(PostgresError::MigrationFromTheFuture(*version));
        };
        if Sha256::digest(m.sql).as_slice() != checksum.as_slice() {
            return Err(PostgresError::MigrationMismatch {
                version: m.version,
                name: m.name,
            });
        }
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        if done.iter().any(|(v, _)| *v == m.version) {
            continue;
        }
        tx.batch_execute(m.sql).await.map_err(q)?;
        tx.execute(
            &format!("INSERT INTO {table} (version, name, checksum) VALUES ($1, $2, $3)"),
            &[&m.version, &m.name, &Sha256::digest(m.sql).as_slice()],
        )
        .await
        .map_err(q)?;
        applied.push(m.version);
    }
    if let Some(requested) = options.audit_partitions {
        let row = tx
            .query_one(
                "SELECT count(i.inhrelid)::int4 FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 LEFT JOIN pg_inherits i ON i.inhparent = c.oid
                 WHERE n.nspname = $1 AND c.relname = 'audit_entries'",
                &[&schema.as_str()],
            )
            .await
            .map_err(q)?;
        let found: i32 = row.try_get(0).map_err(q)?;
        if i32::from(requested) != found {
            // Dropping the transaction rolls back every migration of this run.
            return Err(PostgresError::AuditLayoutMismatch {
                requested,
                found: u16::try_from(found).unwrap_or(u16::MAX),
            });
        }
    }
    tx.commit().await.map_err(q)?;
    let version = MIGRATIONS.last().map_or(0, |m| m.version);
    Ok(MigrationReport { applied, version })
}
