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
        assert_eq!(report.version, 5);
        applied.extend(report.applied);
    }
    applied.sort_unstable();
    assert_eq!(
        applied,
        vec![1, 2, 3, 4, 5],
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
            (5, "roles".to_owned())
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
    assert_eq!(report.applied, vec![3, 4, 5]);
    assert_eq!(report.version, 5);
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

#[test]
fn database_passwords_are_not_echoed() {
    let err = PgPool::connect(
        "postgres://u:hunter2@host:notaport/db",
        PgOptions::default(),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
