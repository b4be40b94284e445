//! Shared helpers: skip without a server, fresh schema per store, an admin connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub
)]

use portcullis_core::{OsRandom, TenantId, random_array};
use portcullis_postgres::{MigrateOptions, PgOptions, PgPool, SchemaName, migrate, migrate_with};
use tokio_postgres::NoTls;

pub const ENV: &str = "PORTCULLIS_TEST_DATABASE_URL";

/// The server URL, or `None` after printing loudly that `test` is skipped.
pub fn db_url(test: &str) -> Option<String> {
    match std::env::var(ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("SKIPPED {test}: {ENV} is not set; no PostgreSQL test ran");
            None
        }
    }
}

/// A random lowercase hex suffix.
pub fn suffix() -> String {
    hex::encode(random_array::<6>(&OsRandom).unwrap())
}

/// A unique tenant id with `prefix`.
pub fn tenant(prefix: &str) -> TenantId {
    TenantId::new(format!("{prefix}-{}", suffix())).unwrap()
}

/// A fresh schema name `pgt_<tag>_<random>`.
pub fn schema(tag: &str) -> SchemaName {
    SchemaName::new(format!("pgt_{tag}_{}", suffix())).unwrap()
}

/// A pool on a fresh, migrated schema.
pub async fn fresh_pool(url: &str, tag: &str) -> PgPool {
    fresh_pool_with(url, tag, PgOptions::default()).await
}

/// A pool on a fresh, migrated schema with `options` (its schema is replaced).
pub async fn fresh_pool_with(url: &str, tag: &str, options: PgOptions) -> PgPool {
    let options = PgOptions {
        schema: schema(tag),
        ..options
    };
    let pool = PgPool::connect(url, options).unwrap();
    migrate(&pool).await.unwrap();
    pool
}

/// A pool on a fresh schema migrated with `partitions` hash partitions per audit table
/// (`None`: the plain layout, as [`fresh_pool`]).
pub async fn fresh_pool_partitioned(url: &str, tag: &str, partitions: Option<u16>) -> PgPool {
    let pool = PgPool::connect(
        url,
        PgOptions {
            schema: schema(tag),
            ..PgOptions::default()
        },
    )
    .unwrap();
    migrate_with(
        &pool,
        MigrateOptions {
            audit_partitions: partitions,
        },
    )
    .await
    .unwrap();
    pool
}

/// A plain connection (as the URL's user: the superuser `postgres` in CI, which also owns
/// the schemas the tests create).
pub async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Drops a test schema and its two roles (best effort; `DROP` is not `TRUNCATE`, so the
/// triggers allow it).
pub async fn drop_schema(url: &str, schema: &SchemaName) {
    let c = admin(url).await;
    let (app, rot) = (schema.app_role(), schema.rotator_role());
    let _ = c
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE;
             DROP ROLE IF EXISTS \"{app}\";
             DROP ROLE IF EXISTS \"{rot}\";"
        ))
        .await;
}

/// `url` with its user replaced by `user` (the test server trusts local connections).
pub fn url_as(url: &str, user: &str) -> String {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("postgres");
    format!("host={host} port={port} dbname={db} user={user}")
}

/// Entry `n` of a test log: `alice` did `doc.update` on `doc/<n>` at 1,700,000,000,000 + n ms.
pub fn pending(n: u64) -> portcullis_audit::PendingEntry {
    portcullis_audit::PendingEntry {
        time: portcullis_core::UnixTime::from_millis(1_700_000_000_000 + n),
        body: portcullis_audit::NewEntry::new(
            portcullis_core::ActorId::new("alice").unwrap(),
            "doc.update",
            &format!("doc/{n}"),
        )
        .unwrap(),
    }
}

/// Opens a transaction on `c` as `role` (None: the connecting superuser) with the RLS
/// tenant set to `tenant`; the caller ends it.
pub async fn begin_as(c: &tokio_postgres::Client, role: Option<&str>, tenant: &str) {
    c.batch_execute("BEGIN").await.unwrap();
    if let Some(role) = role {
        c.execute("SELECT set_config('role', $1, true)", &[&role])
            .await
            .unwrap();
    }
    c.execute(
        "SELECT set_config('portcullis.tenant_id', $1, true)",
        &[&tenant],
    )
    .await
    .unwrap();
}
