//! Issue 13, item 8: the optional hash-partitioned audit layout (`migrate_with`). The
//! tables look the same from the outside (columns, keys, checks, triggers, policies,
//! grants), every partition carries the append-only triggers and row-level security, the
//! application role cannot touch a partition directly, and the layout is fixed once chosen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use std::sync::Arc;

use portcullis_audit::{AuditLog, AuditStore};
use portcullis_core::{Provider, TenantId};
use portcullis_postgres::{
    MAX_AUDIT_PARTITIONS, MigrateOptions, PgAuditStore, PgOptions, PgPool, PostgresError,
    SchemaName, migrate, migrate_with,
};

const AUDIT: [&str; 3] = ["audit_heads", "audit_entries", "audit_checkpoints"];

/// One text per row of `sql` (its columns joined by ` | `), with `schema` replaced by
/// `<s>` so two schemas compare.
async fn rows(c: &tokio_postgres::Client, sql: &str, schema: &SchemaName) -> Vec<String> {
    c.query(sql, &[&schema.as_str()])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" | ")
                .replace(schema.as_str(), "<s>")
        })
        .collect()
}

/// What a client of the audit tables can see of them: columns, constraints, indexes,
/// triggers, policies, row-level security flags and grants of the three tables.
async fn outside_view(c: &tokio_postgres::Client, schema: &SchemaName) -> Vec<Vec<String>> {
    let tables = "('audit_heads', 'audit_entries', 'audit_checkpoints')";
    let queries = [
        format!(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text,
                    column_default::text, collation_name::text
             FROM information_schema.columns WHERE table_schema = $1 AND table_name IN {tables}
             ORDER BY 1, ordinal_position"
        ),
        format!(
            "SELECT r.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
             FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
             JOIN pg_namespace n ON n.oid = r.relnamespace
             WHERE n.nspname = $1 AND r.relname IN {tables} ORDER BY 1, 2"
        ),
        format!(
            "SELECT i.tablename::text, i.indexname::text,
                    replace(i.indexdef, ' ON ONLY ', ' ON ')
             FROM pg_indexes i WHERE i.schemaname = $1 AND i.tablename IN {tables} ORDER BY 1, 2"
        ),
        format!(
            "SELECT r.relname::text, t.tgname::text, t.tgenabled::text, t.tgtype::text,
                    t.tgdeferrable::text, t.tginitdeferred::text, p.proname::text
             FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = r.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid
             WHERE n.nspname = $1 AND r.relname IN {tables} AND NOT t.tgisinternal ORDER BY 1, 2"
        ),
        format!(
            "SELECT tablename::text, policyname::text, permissive::text, roles::text, cmd::text,
                    qual::text, with_check::text
             FROM pg_policies WHERE schemaname = $1 AND tablename IN {tables} ORDER BY 1, 2"
        ),
        format!(
            "SELECT r.relname::text, r.relrowsecurity::text, r.relforcerowsecurity::text
             FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
             WHERE n.nspname = $1 AND r.relname IN {tables} ORDER BY 1"
        ),
        format!(
            "SELECT table_name::text, grantee::text, privilege_type::text
             FROM information_schema.table_privileges
             WHERE table_schema = $1 AND table_name IN {tables} ORDER BY 1, 2, 3"
        ),
        format!(
            "SELECT table_name::text, column_name::text, grantee::text, privilege_type::text
             FROM information_schema.column_privileges
             WHERE table_schema = $1 AND table_name IN {tables} ORDER BY 1, 2, 3, 4"
        ),
    ];
    let mut out = Vec::new();
    for q in queries {
        out.push(rows(c, &q, schema).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partitioned_layout_looks_like_the_plain_one_from_outside() {
    let Some(url) = common::db_url("the_partitioned_layout_looks_like_the_plain_one_from_outside")
    else {
        return;
    };
    let plain = common::fresh_pool(&url, "plain").await;
    let parted = common::fresh_pool_partitioned(&url, "parted", Some(8)).await;
    let c = common::admin(&url).await;
    let a = outside_view(&c, plain.schema()).await;
    let b = outside_view(&c, parted.schema()).await;
    assert!(a.iter().all(|part| !part.is_empty()), "{a:#?}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    // And the partitioned tables really are: 8 hash partitions each, on tenant_id.
    for table in AUDIT {
        let row = c
            .query_one(
                "SELECT p.partstrat::text, pg_get_partkeydef(r.oid),
                        (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = r.oid)
                 FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
                 JOIN pg_partitioned_table p ON p.partrelid = r.oid
                 WHERE n.nspname = $1 AND r.relname = $2",
                &[&parted.schema().as_str(), &table],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "h", "{table}");
        assert_eq!(row.get::<_, String>(1), "HASH (tenant_id)", "{table}");
        assert_eq!(row.get::<_, i64>(2), 8, "{table}");
    }
    common::drop_schema(&url, plain.schema()).await;
    common::drop_schema(&url, parted.schema()).await;
}

/// Every partition has row-level security forced with the tenant policy, no privilege for
/// anyone but its owner, and the append-only triggers (its own statement triggers, clones
/// of the parent's row triggers), all `ENABLE ALWAYS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_partition_has_the_triggers_and_row_level_security() {
    let Some(url) = common::db_url("every_partition_has_the_triggers_and_row_level_security")
    else {
        return;
    };
    let pool = common::fresh_pool_partitioned(&url, "everyp", Some(3)).await;
    let schema = pool.schema().clone();
    let c = common::admin(&url).await;
    for table in AUDIT {
        for i in 0..3 {
            let part = format!("{table}_p{i}");
            let row = c
                .query_one(
                    "SELECT r.relrowsecurity, r.relforcerowsecurity, r.relispartition,
                            coalesce(array_length(r.relacl, 1), 0),
                            (SELECT count(*) FROM pg_policies p WHERE p.schemaname = $1
                               AND p.tablename = r.relname AND p.policyname = 'tenant_isolation'
                               AND p.qual = '(tenant_id = current_setting(''portcullis.tenant_id''::text, true))'
                               AND p.with_check = p.qual)
                     FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
                     WHERE n.nspname = $1 AND r.relname = $2",
                    &[&schema.as_str(), &part],
                )
                .await
                .unwrap();
            assert!(
                row.get::<_, bool>(0) && row.get::<_, bool>(1),
                "{part}: RLS forced"
            );
            assert!(row.get::<_, bool>(2), "{part} is a partition");
            // Only the owner's own entry, if any (REVOKE ALL FROM PUBLIC writes one).
            assert!(row.get::<_, i32>(3) <= 1, "{part}: no grants");
            assert_eq!(row.get::<_, i64>(4), 1, "{part}: tenant policy");
            let grants: i64 = c
                .query_one(
                    "SELECT count(*) FROM information_schema.table_privileges
                     WHERE table_schema = $1 AND table_name = $2 AND grantee <> 'postgres'",
                    &[&schema.as_str(), &part],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(grants, 0, "{part}: nobody but the owner has a privilege");
            let triggers = rows(
                &c,
                &format!(
                    "SELECT t.tgname::text || ' ' || t.tgenabled::text || ' ' || p.proname::text
                     FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
                     JOIN pg_namespace n ON n.oid = r.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid
                     WHERE n.nspname = $1 AND r.relname = '{part}' AND NOT t.tgisinternal
                     ORDER BY 1"
                ),
                &schema,
            )
            .await;
            let expected: Vec<String> = match table {
                "audit_heads" => vec![
                    "audit_heads_consistent A portcullis_head_consistent".to_owned(),
                    "audit_heads_forward A portcullis_head_forward".to_owned(),
                    format!("{part}_no_delete A portcullis_refuse_change"),
                ],
                _ => vec![
                    format!(
                        "{table}_consistent A portcullis_{}_consistent",
                        if table == "audit_entries" {
                            "entry"
                        } else {
                            "checkpoint"
                        }
                    ),
                    format!("{part}_append_only A portcullis_refuse_change"),
                    format!("{part}_no_truncate A portcullis_refuse_change"),
                ],
            };
            let mut expected = expected;
            expected.sort();
            assert_eq!(triggers, expected, "{part}");
        }
    }
    common::drop_schema(&url, &schema).await;
}

/// Runs `sql` as `role` (None: the connecting superuser) with `tenant` set; the SQLSTATE
/// if it fails.
async fn try_as(
    c: &tokio_postgres::Client,
    role: Option<&str>,
    tenant: &TenantId,
    sql: &str,
) -> Result<Vec<tokio_postgres::Row>, String> {
    common::begin_as(c, role, tenant.as_str()).await;
    let r = c.query(sql, &[]).await;
    c.batch_execute("ROLLBACK").await.unwrap();
    r.map_err(|e| e.code().map(|c| c.code().to_owned()).unwrap_or_default())
}

/// The partition of `schema.table` that holds `tenant`'s rows.
async fn partition_of(
    c: &tokio_postgres::Client,
    schema: &SchemaName,
    table: &str,
    tenant: &TenantId,
) -> String {
    c.query_one(
        &format!(
            "SELECT tableoid::regclass::text FROM \"{schema}\".{table} WHERE tenant_id = $1 LIMIT 1"
        ),
        &[&tenant.as_str()],
    )
    .await
    .unwrap()
    .get::<_, String>(0)
    .rsplit('.')
    .next()
    .unwrap()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_are_out_of_reach_except_through_the_parent() {
    let Some(url) = common::db_url("partitions_are_out_of_reach_except_through_the_parent") else {
        return;
    };
    let pool = common::fresh_pool_partitioned(&url, "reach", Some(4)).await;
    let schema = pool.schema().clone();
    let app = schema.app_role();
    let store = PgAuditStore::new(pool);
    // Enough tenants that some share a partition and several partitions hold rows.
    let tenants: Vec<TenantId> = (0..16).map(|_| common::tenant("reach")).collect();
    for t in &tenants {
        store
            .append(t, (0..2).map(pending).collect())
            .await
            .unwrap();
        store.store_checkpoint(t, 2, "cp\n").await.unwrap();
    }
    let c = common::admin(&url).await;
    let used: i64 = c
        .query_one(
            &format!("SELECT count(DISTINCT tableoid) FROM \"{schema}\".audit_entries"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(used >= 2, "rows spread over {used} partitions");

    let t = &tenants[0];
    for table in AUDIT {
        let part = partition_of(&c, &schema, table, t).await;
        let p = format!("\"{schema}\".{part}");
        // The application role: no privilege on any partition, whatever the statement.
        let col = if table == "audit_heads" {
            "size"
        } else {
            "tenant_id"
        };
        for sql in [
            format!("SELECT * FROM {p}"),
            format!("INSERT INTO {p} (tenant_id) VALUES ('{t}')"),
            format!("UPDATE {p} SET {col} = {col}"),
            format!("DELETE FROM {p}"),
            format!("TRUNCATE {p}"),
        ] {
            assert_eq!(
                try_as(&c, Some(&app), t, &sql).await.err().as_deref(),
                Some("42501"),
                "{sql} as {app}"
            );
        }
        // Through the parent, the application role sees its tenant only.
        let through = try_as(
            &c,
            Some(&app),
            t,
            &format!("SELECT DISTINCT tenant_id FROM \"{schema}\".{table}"),
        )
        .await
        .unwrap();
        assert_eq!(through.len(), 1);
        assert_eq!(through[0].get::<_, String>(0), t.as_str());
        // Even the owner cannot change or remove rows of a partition directly.
        for sql in [
            format!("UPDATE {p} SET {col} = {col}"),
            format!("DELETE FROM {p}"),
            format!("TRUNCATE {p}"),
        ] {
            assert_eq!(
                try_as(&c, None, t, &sql).await.err().as_deref(),
                Some("42501"),
                "{sql} as the owner"
            );
        }
        // A privilege granted on a partition by mistake still meets its row-level
        // security: the tenant's own rows, and none without a tenant.
        c.batch_execute(&format!("GRANT SELECT ON {p} TO \"{app}\""))
            .await
            .unwrap();
        let total: i64 = c
            .query_one(&format!("SELECT count(*) FROM {p}"), &[])
            .await
            .unwrap()
            .get(0);
        let own = try_as(&c, Some(&app), t, &format!("SELECT tenant_id FROM {p}"))
            .await
            .unwrap();
        assert!(!own.is_empty());
        assert!(own.iter().all(|r| r.get::<_, String>(0) == t.as_str()));
        let nobody = TenantId::new("nobody").unwrap();
        let none = try_as(
            &c,
            Some(&app),
            &nobody,
            &format!("SELECT tenant_id FROM {p}"),
        )
        .await
        .unwrap();
        assert!(
            none.is_empty(),
            "{p}: {total} rows, none visible without its tenant"
        );
        c.batch_execute(&format!("REVOKE SELECT ON {p} FROM \"{app}\""))
            .await
            .unwrap();
    }
    // The log is intact and verifies.
    let log = AuditLog::new(Arc::new(store) as Arc<dyn AuditStore>, Provider::system());
    for t in &tenants {
        assert_eq!(log.verify(t).await.unwrap().size, 2);
    }
    common::drop_schema(&url, &schema).await;
}

/// Group commit on partitioned tables: concurrent appenders, consecutive receipts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_works_on_partitioned_tables() {
    let Some(url) = common::db_url("group_commit_works_on_partitioned_tables") else {
        return;
    };
    let pool = common::fresh_pool_partitioned(&url, "pgroup", Some(8)).await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let t = common::tenant("pgroup");
    let tasks: Vec<_> = (0..16u64)
        .map(|w| {
            let (store, t) = (Arc::clone(&store), t.clone());
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for a in 0..20 {
                    let r = store.append(&t, vec![pending(w * 100 + a)]).await.unwrap();
                    seqs.push(r[0].seq);
                }
                seqs
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.extend(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..320).collect::<Vec<u64>>());
    let log = AuditLog::new(
        Arc::clone(&store) as Arc<dyn AuditStore>,
        Provider::system(),
    );
    assert_eq!(log.verify(&t).await.unwrap().size, 320);
    common::drop_schema(&url, &schema).await;
}

fn pool_on(url: &str, schema: &SchemaName) -> PgPool {
    PgPool::connect(
        url,
        PgOptions {
            schema: schema.clone(),
            ..PgOptions::default()
        },
    )
    .unwrap()
}

async fn partitions(c: &tokio_postgres::Client, schema: &SchemaName) -> i64 {
    c.query_one(
        "SELECT count(i.inhrelid) FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
         LEFT JOIN pg_inherits i ON i.inhparent = r.oid
         WHERE n.nspname = $1 AND r.relname = 'audit_entries'",
        &[&schema.as_str()],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layout_is_chosen_once_and_a_mismatch_changes_nothing() {
    let Some(url) = common::db_url("the_layout_is_chosen_once_and_a_mismatch_changes_nothing")
    else {
        return;
    };
    let c = common::admin(&url).await;
    // Out-of-range counts are refused before any round trip.
    let schema = common::schema("layout");
    let pool = pool_on(&url, &schema);
    for n in [0, MAX_AUDIT_PARTITIONS + 1] {
        assert!(matches!(
            migrate_with(&pool, MigrateOptions::partitioned(n)).await,
            Err(PostgresError::InvalidConfig { .. })
        ));
    }
    // A plain schema stays plain; a partitioned one keeps its count; migrate accepts both.
    migrate(&pool).await.unwrap();
    assert!(matches!(
        migrate_with(&pool, MigrateOptions::partitioned(4)).await,
        Err(PostgresError::AuditLayoutMismatch {
            requested: 4,
            found: 0
        })
    ));
    assert_eq!(partitions(&c, &schema).await, 0);
    let parted = common::fresh_pool_partitioned(&url, "layout", Some(8)).await;
    assert!(matches!(
        migrate_with(&parted, MigrateOptions::partitioned(4)).await,
        Err(PostgresError::AuditLayoutMismatch {
            requested: 4,
            found: 8
        })
    ));
    let again = migrate_with(&parted, MigrateOptions::partitioned(8))
        .await
        .unwrap();
    assert!(again.applied.is_empty());
    assert!(migrate(&parted).await.unwrap().applied.is_empty());
    assert_eq!(partitions(&c, parted.schema()).await, 8);

    // Upgrading a schema at migration 7: with audit rows, asking for partitions is refused
    // and rolls back the whole run (migration 8 is not recorded, nothing was rebuilt, row
    // level security is still forced); without the option the upgrade goes through plain.
    let store = PgAuditStore::new(pool.clone());
    let t = common::tenant("layout");
    store.append(&t, vec![pending(0)]).await.unwrap();
    let forget_8 = format!("DELETE FROM \"{schema}\".portcullis_migrations WHERE version = 8");
    c.batch_execute(&forget_8).await.unwrap();
    assert!(matches!(
        migrate_with(&pool, MigrateOptions::partitioned(2)).await,
        Err(PostgresError::AuditLayoutMismatch {
            requested: 2,
            found: 0
        })
    ));
    let state = format!(
        "SELECT (SELECT count(*) FROM \"{schema}\".portcullis_migrations WHERE version = 8),
                (SELECT bool_and(relforcerowsecurity) FROM pg_class r
                   JOIN pg_namespace n ON n.oid = r.relnamespace
                  WHERE n.nspname = '{schema}' AND r.relkind IN ('r', 'p')
                    AND r.relname LIKE 'audit\\_%')"
    );
    let row = c.query_one(&state, &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, bool>(1)), (0, true));
    assert_eq!(migrate(&pool).await.unwrap().applied, vec![8]);
    assert_eq!(store.read(&t, 0, 1).await.unwrap().len(), 1);
    // With empty audit tables, the same upgrade rebuilds them partitioned.
    let empty = common::fresh_pool(&url, "layout").await;
    c.batch_execute(&format!(
        "DELETE FROM \"{}\".portcullis_migrations WHERE version = 8",
        empty.schema()
    ))
    .await
    .unwrap();
    let report = migrate_with(&empty, MigrateOptions::partitioned(2))
        .await
        .unwrap();
    assert_eq!(report.applied, vec![8]);
    assert_eq!(partitions(&c, empty.schema()).await, 2);
    let t2 = common::tenant("layout");
    let store = PgAuditStore::new(empty.clone());
    store
        .append(&t2, vec![pending(0), pending(1)])
        .await
        .unwrap();
    let log = AuditLog::new(Arc::new(store) as Arc<dyn AuditStore>, Provider::system());
    assert_eq!(log.verify(&t2).await.unwrap().size, 2);
    for s in [&schema, parted.schema(), empty.schema()] {
        common::drop_schema(&url, s).await;
    }
}
