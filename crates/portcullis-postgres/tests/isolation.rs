//! Tenant isolation by row-level security, as the application role sees it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use portcullis_audit::AuditStore;
use portcullis_core::TenantId;
use portcullis_postgres::PgAuditStore;

/// `SELECT tenant_id FROM <table>` as the application role `app` with the tenant
/// setting `setting`.
async fn tenants_visible(
    c: &tokio_postgres::Client,
    app: &str,
    table: &str,
    setting: Option<&str>,
) -> Vec<String> {
    c.batch_execute(&format!("BEGIN; SET LOCAL ROLE {app}"))
        .await
        .unwrap();
    if let Some(s) = setting {
        c.execute("SELECT set_config('portcullis.tenant_id', $1, true)", &[&s])
            .await
            .unwrap();
    }
    let rows = c
        .query(&format!("SELECT tenant_id FROM {table}"), &[])
        .await
        .unwrap();
    c.batch_execute("COMMIT").await.unwrap();
    rows.into_iter().map(|r| r.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rls_never_returns_another_tenants_rows() {
    let Some(url) = common::db_url("rls_never_returns_another_tenants_rows") else {
        return;
    };
    let pool = common::fresh_pool(&url, "rls").await;
    let schema = pool.schema().clone();
    let store = PgAuditStore::new(pool);
    let (a, b) = (common::tenant("a"), common::tenant("b"));
    store
        .append(&a, (0..4).map(pending).collect())
        .await
        .unwrap();
    store
        .append(&b, (0..6).map(pending).collect())
        .await
        .unwrap();
    store.store_checkpoint(&a, 4, "a\n").await.unwrap();
    store.store_checkpoint(&b, 6, "b\n").await.unwrap();

    let c = common::admin(&url).await;
    let app = schema.app_role();
    for (table, na, nb) in [
        ("audit_entries", 4, 6),
        ("audit_heads", 1, 1),
        ("audit_checkpoints", 1, 1),
    ] {
        let table = format!("\"{schema}\".{table}");
        let seen_a = tenants_visible(&c, &app, &table, Some(a.as_str())).await;
        assert_eq!(seen_a.len(), na, "{table} under a");
        assert!(
            seen_a.iter().all(|t| t == a.as_str()),
            "{table}: only a's rows"
        );
        let seen_b = tenants_visible(&c, &app, &table, Some(b.as_str())).await;
        assert_eq!(seen_b.len(), nb, "{table} under b");
        assert!(
            seen_b.iter().all(|t| t == b.as_str()),
            "{table}: only b's rows"
        );
        assert!(
            tenants_visible(&c, &app, &table, None).await.is_empty(),
            "{table}: no setting, no rows"
        );
        assert!(
            tenants_visible(&c, &app, &table, Some("")).await.is_empty(),
            "{table}: empty setting, no rows"
        );
    }

    // Writing another tenant's row under a's setting is refused (WITH CHECK).
    c.batch_execute(&format!("BEGIN; SET LOCAL ROLE {}", schema.app_role()))
        .await
        .unwrap();
    c.execute(
        "SELECT set_config('portcullis.tenant_id', $1, true)",
        &[&a.as_str()],
    )
    .await
    .unwrap();
    let err = c
        .execute(
            &format!("INSERT INTO \"{schema}\".audit_checkpoints (tenant_id, size, note) VALUES ($1, 0, 'x')"),
            &[&b.as_str()],
        )
        .await
        .unwrap_err();
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42501");

    // The setting does not leak past its transaction on a pooled connection.
    assert!(
        tenants_visible(&c, &app, &format!("\"{schema}\".audit_entries"), None)
            .await
            .is_empty()
    );
    // And through the store, a's reads only ever hold a's entries.
    let ea = store.read(&a, 0, u64::MAX).await.unwrap();
    assert_eq!(ea.len(), 4);
    assert!(ea.iter().all(|e| e.tenant() == &a));
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_ids_are_validated_by_the_schema_too() {
    let Some(url) = common::db_url("tenant_ids_are_validated_by_the_schema_too") else {
        return;
    };
    let pool = common::fresh_pool(&url, "tid").await;
    let schema = pool.schema().clone();
    let c = common::admin(&url).await;
    // NOT NULL and the tenant pattern hold even for the owner.
    for v in ["NULL", "''", "'a/b'"] {
        let r = c
            .execute(
                &format!("INSERT INTO \"{schema}\".audit_heads (tenant_id) VALUES ({v})"),
                &[],
            )
            .await;
        assert!(r.is_err(), "tenant {v} must be refused");
    }
    let _ = TenantId::new("ok").unwrap();
    common::drop_schema(&url, &schema).await;
}
