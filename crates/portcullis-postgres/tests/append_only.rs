//! Append-only as deployed: the triggers stop UPDATE, DELETE and TRUNCATE for the
//! application role and for the owner (even with `session_replication_role = replica`),
//! and a row inserted by hand out of sequence is caught by `verify_chain`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use portcullis_audit::{AuditError, AuditStore, ChainFault, Entry, Hash, NewEntry, verify_chain};
use portcullis_core::{ActorId, TenantId, UnixTime};
use portcullis_postgres::{PgAuditStore, SchemaName};

/// Runs `sql` in a transaction as `role` (None = the connecting owner) scoped to
/// `tenant`, optionally with triggers "disabled" by replication role; returns the error.
async fn try_as(
    c: &tokio_postgres::Client,
    role: Option<&str>,
    tenant: &TenantId,
    replica: bool,
    sql: &str,
) -> Result<u64, tokio_postgres::Error> {
    try_as_raw(c, role, tenant.as_str(), replica, sql).await
}

/// [`try_as`] with any string as the tenant setting (even an invalid tenant id).
async fn try_as_raw(
    c: &tokio_postgres::Client,
    role: Option<&str>,
    tenant: &str,
    replica: bool,
    sql: &str,
) -> Result<u64, tokio_postgres::Error> {
    common::begin_as(c, role, tenant).await;
    if replica {
        c.batch_execute("SET LOCAL session_replication_role = replica")
            .await
            .unwrap();
    }
    match c.execute(sql, &[]).await {
        // The consistency triggers (migration 4) check at COMMIT.
        Ok(n) => c.batch_execute("COMMIT").await.map(|()| n),
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn setup(url: &str, tag: &str) -> (PgAuditStore, SchemaName, TenantId) {
    let pool = common::fresh_pool(url, tag).await;
    let schema = pool.schema().clone();
    let store = PgAuditStore::new(pool);
    let t = common::tenant("ao");
    store
        .append(&t, (0..3).map(pending).collect())
        .await
        .unwrap();
    store.store_checkpoint(&t, 3, "note\n").await.unwrap();
    (store, schema, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_delete_truncate_fail_for_app_role_and_owner() {
    let Some(url) = common::db_url("update_delete_truncate_fail_for_app_role_and_owner") else {
        return;
    };
    let (store, schema, t) = setup(&url, "ao").await;
    let app = schema.app_role();
    let c = common::admin(&url).await;
    let before = store.read(&t, 0, u64::MAX).await.unwrap();
    for table in ["audit_entries", "audit_checkpoints"] {
        let q = format!("\"{schema}\".{table}");
        let statements = [
            format!("UPDATE {q} SET tenant_id = tenant_id"),
            format!("DELETE FROM {q}"),
            format!("TRUNCATE {q}"),
        ];
        for sql in &statements {
            for (role, replica) in [(Some(app.as_str()), false), (None, false), (None, true)] {
                let err = try_as(&c, role, &t, replica, sql)
                    .await
                    .expect_err(&format!("{sql} as {role:?} (replica {replica}) must fail"));
                let db = err.as_db_error().expect("a server error");
                assert_eq!(
                    db.code().code(),
                    "42501",
                    "{sql} as {role:?}: {}",
                    db.message()
                );
            }
        }
    }
    // The heads table: no delete, no truncate, no moving backwards.
    let heads = format!("\"{schema}\".audit_heads");
    for sql in [
        format!("DELETE FROM {heads}"),
        format!("TRUNCATE {heads}"),
        format!(
            "UPDATE {heads} SET size = 0, head_hash = '\\x{}'",
            "00".repeat(32)
        ),
    ] {
        for role in [Some(app.as_str()), None] {
            assert!(
                try_as(&c, role, &t, false, &sql).await.is_err(),
                "{sql} as {role:?} must fail"
            );
        }
    }
    // The triggers are enabled ALWAYS.
    let rows = c
        .query(
            "SELECT tgname, tgenabled::text FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = r.relnamespace
             WHERE n.nspname = $1 AND NOT t.tgisinternal",
            &[&schema.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        9,
        "six append-only and three consistency triggers"
    );
    for r in rows {
        let (name, enabled): (String, String) = (r.get(0), r.get(1));
        assert_eq!(enabled, "A", "trigger {name} is enabled ALWAYS");
    }
    // Nothing changed.
    assert_eq!(store.read(&t, 0, u64::MAX).await.unwrap(), before);
    verify_chain(&t, &before).unwrap();
    assert_eq!(store.latest_checkpoint(&t).await.unwrap().unwrap().size, 3);
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_role_has_no_other_rights() {
    let Some(url) = common::db_url("app_role_has_no_other_rights") else {
        return;
    };
    let (_store, schema, t) = setup(&url, "rights").await;
    let app = schema.app_role();
    let c = common::admin(&url).await;
    // The rotator role cannot touch the audit tables at all.
    let sql = format!("SELECT count(*) FROM \"{schema}\".audit_entries");
    let err = try_as(&c, Some(schema.rotator_role().as_str()), &t, false, &sql)
        .await
        .unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42501");
    // The app role cannot create tables in the schema or alter the audit tables.
    for sql in [
        format!("CREATE TABLE \"{schema}\".x (a int)"),
        format!("ALTER TABLE \"{schema}\".audit_entries DISABLE TRIGGER ALL"),
        format!("ALTER TABLE \"{schema}\".audit_entries NO FORCE ROW LEVEL SECURITY"),
    ] {
        assert!(
            try_as(&c, Some(app.as_str()), &t, false, &sql)
                .await
                .is_err(),
            "{sql} must fail for the app role"
        );
    }
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_inserted_out_of_sequence_is_detected_by_verify() {
    let Some(url) = common::db_url("a_row_inserted_out_of_sequence_is_detected_by_verify") else {
        return;
    };
    let (store, schema, t) = setup(&url, "forge").await;
    let app = schema.app_role();
    let c = common::admin(&url).await;
    let entries = store.read(&t, 0, u64::MAX).await.unwrap();
    // A forger with the app role's rights writes seq 3 directly, linked to seq 1 instead
    // of seq 2 (an entry slipped in "after" an earlier one), and moves the head forward.
    let forged = Entry::seal(
        t.clone(),
        3,
        *entries[1].hash(),
        UnixTime::from_millis(1),
        NewEntry::new(ActorId::new("mallory").unwrap(), "audit.forge", "x").unwrap(),
    );
    let sql = format!(
        "WITH i AS (INSERT INTO \"{schema}\".audit_entries
            (tenant_id, seq, prev_hash, entry_hash, time_ms, actor, action, resource, record)
            VALUES ('{t}', 3, '\\x{prev}', '\\x{hash}', 1, 'mallory', 'audit.forge', 'x', '{rec}'))
         UPDATE \"{schema}\".audit_heads SET size = 4, head_hash = '\\x{hash}' WHERE tenant_id = '{t}'",
        prev = forged.prev().to_hex(),
        hash = forged.hash().to_hex(),
        rec = forged.to_json_line().unwrap().replace('\'', "''"),
    );
    try_as(&c, Some(app.as_str()), &t, false, &sql)
        .await
        .unwrap();
    let read = store.read(&t, 0, u64::MAX).await.unwrap();
    assert_eq!(read.len(), 4);
    match verify_chain(&t, &read) {
        Err(AuditError::ChainBroken { seq: 3, fault }) => {
            assert_eq!(fault, ChainFault::BrokenLink)
        }
        other => panic!("verify must name seq 3: {other:?}"),
    }

    // A row at the next seq that does not move the head is refused at commit (it used
    // to wedge every later append; tests/integrity.rs has the rest), so appends go on.
    let sql = format!(
        "INSERT INTO \"{schema}\".audit_entries
            (tenant_id, seq, prev_hash, entry_hash, time_ms, actor, action, resource, record)
         VALUES ('{t}', 4, '\\x{z}', '\\x{z}', 1, 'm', 'a', 'r', '{{}}')",
        z = Hash::ZERO.to_hex()
    );
    assert_eq!(
        code(try_as(&c, Some(app.as_str()), &t, false, &sql).await, &sql),
        "PC001"
    );
    store.append(&t, vec![pending(9)]).await.unwrap();
    assert_eq!(store.head(&t).await.unwrap().size, 5);
    common::drop_schema(&url, &schema).await;
}

fn code(r: Result<u64, tokio_postgres::Error>, what: &str) -> String {
    let err = r.expect_err(&format!("{what} must fail"));
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("{what}: not a server error: {err}"));
    db.code().code().to_owned()
}

/// Finding: a head update that kept the size (rewriting the hash in place) passed the
/// forward-only trigger. Now every update must grow the size, for the app role and the
/// owner; the store's appends (which always grow it) still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_update_must_grow_the_size() {
    let Some(url) = common::db_url("a_head_update_must_grow_the_size") else {
        return;
    };
    let (store, schema, t) = setup(&url, "grow").await;
    let app = schema.app_role();
    let c = common::admin(&url).await;
    let heads = format!("\"{schema}\".audit_heads");
    let same_size = format!(
        "UPDATE {heads} SET head_hash = '\\x{}' WHERE tenant_id = '{t}'",
        "11".repeat(32)
    );
    let no_op = format!("UPDATE {heads} SET size = size WHERE tenant_id = '{t}'");
    for sql in [&same_size, &no_op] {
        for role in [Some(app.as_str()), None] {
            assert_eq!(
                code(try_as(&c, role, &t, false, sql).await, sql),
                "42501",
                "{sql} as {role:?}"
            );
        }
    }
    let head = store.head(&t).await.unwrap();
    assert_eq!(head.size, 3);
    // Appends (one entry, then a batch) still move it forward.
    store.append(&t, vec![pending(3)]).await.unwrap();
    store
        .append(&t, (4..7).map(pending).collect())
        .await
        .unwrap();
    let entries = store.read(&t, 0, u64::MAX).await.unwrap();
    assert_eq!(entries.len(), 7);
    verify_chain(&t, &entries).unwrap();
    assert_eq!(store.head(&t).await.unwrap().size, 7);
    common::drop_schema(&url, &schema).await;
}

/// Finding: the app role could INSERT a head at any size and hash. Now it may name only
/// the tenant; the defaults give the genesis head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_role_inserts_only_genesis_heads() {
    let Some(url) = common::db_url("the_app_role_inserts_only_genesis_heads") else {
        return;
    };
    let (store, schema, _t) = setup(&url, "genesis").await;
    let app = schema.app_role();
    let c = common::admin(&url).await;
    let heads = format!("\"{schema}\".audit_heads");
    let t2 = common::tenant("fresh");
    for sql in [
        format!(
            "INSERT INTO {heads} (tenant_id, size, head_hash) VALUES ('{t2}', 5, '\\x{}')",
            "22".repeat(32)
        ),
        format!("INSERT INTO {heads} (tenant_id, size) VALUES ('{t2}', 0)"),
        format!(
            "INSERT INTO {heads} (tenant_id, head_hash) VALUES ('{t2}', '\\x{}')",
            "00".repeat(32)
        ),
    ] {
        assert_eq!(
            code(try_as(&c, Some(app.as_str()), &t2, false, &sql).await, &sql),
            "42501",
            "{sql}"
        );
    }
    try_as(
        &c,
        Some(app.as_str()),
        &t2,
        false,
        &format!("INSERT INTO {heads} (tenant_id) VALUES ('{t2}')"),
    )
    .await
    .unwrap();
    let head = store.head(&t2).await.unwrap();
    assert_eq!(head.size, 0);
    assert_eq!(head.hash, Hash::ZERO);
    // The store creates heads itself on first append: still allowed.
    let t3 = common::tenant("first");
    store.append(&t3, vec![pending(0)]).await.unwrap();
    assert_eq!(store.head(&t3).await.unwrap().size, 1);
    common::drop_schema(&url, &schema).await;
}

/// Finding: entries and checkpoints did not check the tenant id pattern that the heads
/// table checks. Now a row with an invalid tenant id is refused for every role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_and_checkpoints_check_the_tenant_id() {
    let Some(url) = common::db_url("entries_and_checkpoints_check_the_tenant_id") else {
        return;
    };
    let (_store, schema, _t) = setup(&url, "tid").await;
    let app = schema.app_role();
    let c = common::admin(&url).await;
    let z = Hash::ZERO.to_hex();
    for bad in ["bad tenant", "-leading-dash", "a/b", &"x".repeat(65)] {
        let statements = [
            format!(
                "INSERT INTO \"{schema}\".audit_entries
                    (tenant_id, seq, prev_hash, entry_hash, time_ms, actor, action, resource, record)
                 VALUES ('{bad}', 0, '\\x{z}', '\\x{z}', 1, 'm', 'a', 'r', '{{}}')"
            ),
            format!(
                "INSERT INTO \"{schema}\".audit_checkpoints (tenant_id, size, note)
                 VALUES ('{bad}', 0, 'n')"
            ),
        ];
        for sql in &statements {
            for role in [Some(app.as_str()), None] {
                assert_eq!(
                    code(try_as_raw(&c, role, bad, false, sql).await, sql),
                    "23514",
                    "{sql} as {role:?}"
                );
            }
        }
    }
    common::drop_schema(&url, &schema).await;
}
