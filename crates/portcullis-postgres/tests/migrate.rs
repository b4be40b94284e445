//! Migrations: idempotent, recorded, safe when several processes run them at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use portcullis_postgres::{PgOptions, PgPool, PostgresError, SchemaName, migrate};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations_apply_once_and_rerun_is_a_no_op() {
    let Some(url) = common::db_url("concurrent_migrations_apply_once_and_rerun_is_a_no_op") else {
        return;
    };
    let schema = common::schema("mig");
    let pools: Vec<PgPool> = (0..4)
        .map(|_| {
            PgPool::connect(
                &url,
                PgOptions {
                    schema: schema.clone(),
                    ..PgOptions::default()
                },
            )
            .unwrap()
        })
        .collect();
    let runs: Vec<_> = pools
        .iter()
        .cloned()
        .map(|p| tokio::spawn(async move { migrate(&p).await.unwrap() }))
        .collect();
    let mut applied = Vec::new();
    for r in runs {
        let report = r.await.unwrap();
        assert_eq!(report.version, 9);
        applied.extend(report.applied);
    }
    applied.sort_unstable();
    assert_eq!(
        applied,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9],
        "each migration applied exactly once"
    );
    assert!(migrate(&pools[0]).await.unwrap().applied.is_empty());

    let c = common::admin(&url).await;
    let rows = c
        .query(
            &format!(
                "SELECT version, name FROM \"{schema}\".portcullis_migrations ORDER BY version"
            ),
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            (1, "audit".to_owned()),
            (2, "credentials".to_owned()),
            (3, "bindings".to_owned()),
            (4, "integrity".to_owned()),
            (5, "roles".to_owned()),
            (6, "secret_rotation".to_owned()),
            (7, "integrity_static".to_owned()),
            (8, "audit_partitions".to_owned()),
            (9, "seal_budget".to_owned())
        ]
    );

    // An applied migration that differs from the embedded one stops the run.
    c.execute(
        &format!(
            "UPDATE \"{schema}\".portcullis_migrations SET checksum = '\\x00' WHERE version = 2"
        ),
        &[],
    )
    .await
    .unwrap();
    assert!(matches!(
        migrate(&pools[0]).await,
        Err(PostgresError::MigrationMismatch { version: 2, .. })
    ));
    // A database newer than this build is refused too.
    c.execute(
        &format!("INSERT INTO \"{schema}\".portcullis_migrations (version, name, checksum) VALUES (99, 'future', '\\x00')"),
        &[],
    )
    .await
    .unwrap();
    assert!(migrate(&pools[0]).await.is_err());
    common::drop_schema(&url, &schema).await;
}

/// A schema migrated by an earlier build (migrations 1 and 2 recorded, rows present)
/// upgrades to 3 in place instead of being refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_schema_with_rows_upgrades() {
    let Some(url) = common::db_url("a_version_2_schema_with_rows_upgrades") else {
        return;
    };
    let schema = common::schema("up");
    let c = common::admin(&url).await;
    let mut sql = format!(
        "BEGIN; SELECT pg_advisory_xact_lock({key});
         CREATE SCHEMA \"{schema}\"; SET LOCAL search_path TO \"{schema}\";
         CREATE TABLE portcullis_migrations (version integer PRIMARY KEY, name text NOT NULL,
             checksum bytea NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());",
        key = portcullis_postgres::MIGRATION_LOCK_KEY
    );
    for (v, name, body) in [
        (1, "audit", include_str!("../migrations/0001_audit.sql")),
        (
            2,
            "credentials",
            include_str!("../migrations/0002_credentials.sql"),
        ),
    ] {
        sql.push_str(body);
        sql.push_str(&format!(
            "\n;INSERT INTO portcullis_migrations (version, name, checksum) VALUES ({v}, '{name}', '\\x{}');",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body))
        ));
    }
    sql.push_str(
        "INSERT INTO audit_heads (tenant_id) VALUES ('old-tenant');
         INSERT INTO audit_checkpoints (tenant_id, size, note) VALUES ('old-tenant', 0, 'n');
         COMMIT;",
    );
    c.batch_execute(&sql).await.unwrap();
    let pool = PgPool::connect(
        &url,
        PgOptions {
            schema: schema.clone(),
            ..PgOptions::default()
        },
    )
    .unwrap();
    let report = migrate(&pool).await.unwrap();
    assert_eq!(report.applied, vec![3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(report.version, 9);
    assert!(migrate(&pool).await.unwrap().applied.is_empty());
    // The shared roles of migrations 1 and 2 keep no right in the schema; its own have
    // them.
    let privileges = |role: String| {
        let c = &c;
        let schema = &schema;
        async move {
            c.query_one(
                "SELECT has_schema_privilege($1, $2, 'USAGE'),
                        has_table_privilege($1, $3, 'SELECT'),
                        has_table_privilege($1, $4, 'SELECT')",
                &[
                    &role,
                    &schema.as_str(),
                    &format!("\"{schema}\".audit_entries"),
                    &format!("\"{schema}\".sealed_credentials"),
                ],
            )
            .await
            .map(|r| {
                (
                    r.get::<_, bool>(0),
                    r.get::<_, bool>(1),
                    r.get::<_, bool>(2),
                )
            })
            .unwrap()
        }
    };
    assert_eq!(
        privileges("portcullis_app".into()).await,
        (false, false, false)
    );
    assert_eq!(
        privileges("portcullis_rotator".into()).await,
        (false, false, false)
    );
    assert_eq!(privileges(schema.app_role()).await, (true, true, true));
    assert_eq!(privileges(schema.rotator_role()).await, (true, false, true));
    common::drop_schema(&url, &schema).await;
}

#[test]
fn schema_names_are_validated() {
    for bad in [
        "",
        "Upper",
        "1abc",
        "a-b",
        "a\"b",
        "pg_catalog",
        &"a".repeat(56),
    ] {
        assert!(SchemaName::new(bad).is_err(), "{bad:?} must be refused");
    }
    for ok in ["portcullis", "_x", "a1_b2", &"a".repeat(55)] {
        assert_eq!(SchemaName::new(ok).unwrap().as_str(), ok);
    }
    let default = SchemaName::default();
    assert_eq!(default.app_role(), "portcullis_app");
    assert_eq!(default.rotator_role(), "portcullis_rotator");
    let longest = SchemaName::new("a".repeat(55)).unwrap();
    assert_eq!(longest.rotator_role().len(), 63);
}

#[tokio::test]
async fn an_unreachable_server_is_a_typed_error() {
    // Port 1 on localhost: nothing listens; the pool's connect fails as a backend error.
    let pool = PgPool::connect(
        "postgres://postgres@127.0.0.1:1/test",
        PgOptions {
            schema: SchemaName::new("unreachable").unwrap(),
            ..PgOptions::default()
        },
    )
    .unwrap();
    match migrate(&pool).await {
        Err(PostgresError::Backend(e)) => {
            assert_eq!(
                e.kind(),
                portcullis_core::BackendErrorKind::Unavailable,
                "{e}"
            )
        }
        other => panic!("expected a backend error: {other:?}"),
    }
    let store = portcullis_postgres::PgAuditStore::new(pool);
    let t = portcullis_core::TenantId::new("t").unwrap();
    assert!(matches!(
        portcullis_audit::AuditStore::head(&store, &t).await,
        Err(portcullis_audit::AuditError::Backend(_))
    ));
}

/// Every message, debug form and source of `err` (and its chain).
fn rendered(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        out.push(e.to_string());
        out.push(format!("{e:?}"));
        out.push(format!("{e:#?}"));
        cur = e.source();
    }
    out
}

fn assert_hidden(err: &(dyn std::error::Error + 'static), url: &str) {
    for text in rendered(err) {
        for secret in ["hunter2", "hunter%32", "aHVudGVy"] {
            assert!(!text.contains(secret), "{secret} shown for {url:?}: {text}");
        }
        assert!(!text.contains(url), "the url {url:?} is shown: {text}");
        assert!(
            !text.contains("db.internal"),
            "a part of {url:?} is shown: {text}"
        );
    }
}

/// Finding 3: a password in the URL's query string (or any malformed URL) was echoed in
/// the parse error. Now no error holds the URL or any part of it.
#[test]
fn database_passwords_are_not_echoed() {
    for url in [
        "postgres://u:hunter2@db.internal:notaport/db",
        "postgres://u@db.internal/db?password=hunter2&sslmode=bogus",
        "postgres://u@db.internal/db?sslmode=bogus&password=hunter2",
        "postgres://u@db.internal/db?password=hunter2&hunter2=1",
        "postgres://u@db.internal/db?hunter2",
        "postgres://u@db.internal/db?password=hunter%32&connect_timeout=x",
        "postgres://u:hunter2@db.internal/db?password=aHVudGVy&sslmode=bogus",
        "postgres://u:hunter2@db.internal:99999/db",
        "postgresql://u:hunter2@[db.internal/db",
        "host=db.internal password=hunter2 sslmode=bogus",
        "host=db.internal password='hunter2",
        "host=db.internal hunter2",
        "hunter2",
    ] {
        let err = PgPool::connect(url, PgOptions::default())
            .map(|_| ())
            .expect_err(url);
        assert!(
            matches!(err, PostgresError::InvalidDatabaseUrl),
            "{url:?}: {err:?}"
        );
        assert!(std::error::Error::source(&err).is_none(), "{url:?}");
        assert_hidden(&err, url);
    }
}

/// A URL that parses but names an unreachable server: neither the pool nor the
/// connection error shows its passwords.
#[tokio::test]
async fn connection_errors_do_not_echo_passwords() {
    let url = "postgres://u:hunter2@127.0.0.1:1/db?password=hunter2&application_name=db.internal";
    let pool = PgPool::connect(url, PgOptions::default()).unwrap();
    assert!(!format!("{pool:?}").contains("hunter2"));
    let err = migrate(&pool).await.unwrap_err();
    assert!(matches!(err, PostgresError::Backend(_)), "{err:?}");
    assert_hidden(&err, url);
}
