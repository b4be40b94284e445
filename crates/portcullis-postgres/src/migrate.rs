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
];

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
    pool.deadline("postgres.migrate", migrate_inner(pool)).await
}

async fn migrate_inner(pool: &PgPool) -> Result<MigrationReport, PostgresError> {
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
    // Migration 5 and later read the role names from these.
    tx.execute(
        "SELECT set_config('portcullis.app_role', $1, true), \
                set_config('portcullis.rotator_role', $2, true)",
        &[&roles[0], &roles[1]],
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
    tx.commit().await.map_err(q)?;
    let version = MIGRATIONS.last().map_or(0, |m| m.version);
    Ok(MigrationReport { applied, version })
}
