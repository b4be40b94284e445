//! Issue 13, finding 1: the database accepts an entry only with the head move that covers
//! it, a head only when it names its last entry, a checkpoint only up to the head; reads
//! (and so `verify`) report damage written around the triggers with a typed error; the
//! documented repair procedure restores a damaged log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use std::sync::Arc;

use portcullis_audit::{AuditError, AuditLog, AuditStore, Entry, Hash, NewEntry};
use portcullis_core::{ActorId, BackendErrorKind, Provider, TenantId, UnixTime};
use portcullis_postgres::{AuditIntegrityError, PgAuditStore, SchemaName};

/// A well-formed entry at `seq` chained to `prev`, as an `INSERT` statement.
fn insert_entry(schema: &SchemaName, t: &TenantId, seq: u64, prev: Hash) -> String {
    forged(schema, t, seq, prev).0
}

/// [`insert_entry`] and the entry's hash.
fn forged(schema: &SchemaName, t: &TenantId, seq: u64, prev: Hash) -> (String, Hash) {
    let e = Entry::seal(
        t.clone(),
        seq,
        prev,
        UnixTime::from_millis(1),
        NewEntry::new(ActorId::new("mallory").unwrap(), "audit.forge", "x").unwrap(),
    );
    let sql = format!(
        "INSERT INTO \"{schema}\".audit_entries
            (tenant_id, seq, prev_hash, entry_hash, time_ms, actor, action, resource, record)
         VALUES ('{t}', {seq}, '\\x{prev}', '\\x{hash}', 1, 'mallory', 'audit.forge', 'x', '{rec}')",
        prev = e.prev().to_hex(),
        hash = e.hash().to_hex(),
        rec = e.to_json_line().unwrap().replace('\'', "''"),
    );
    (sql, *e.hash())
}

/// Runs `sql` in one transaction as `role` (None = the connecting superuser) scoped to
/// `tenant`, and commits: the result of the statement, or else of the `COMMIT`.
async fn attempt(
    c: &tokio_postgres::Client,
    role: Option<&str>,
    tenant: &TenantId,
    sql: &str,
) -> Result<(), tokio_postgres::Error> {
    common::begin_as(c, role, tenant.as_str()).await;
    if let Err(e) = c.batch_execute(sql).await {
        c.batch_execute("ROLLBACK").await.unwrap();
        return Err(e);
    }
    c.batch_execute("COMMIT").await
}

fn sqlstate(r: Result<(), tokio_postgres::Error>, what: &str) -> String {
    let err = r.expect_err(&format!("{what} must be refused"));
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("{what}: not a server error: {err}"));
    db.code().code().to_owned()
}

/// Writes `sql` as the superuser with the consistency (and head-forward) triggers off: damage from before
/// migration 4, or by an owner who disables triggers.
async fn damage(c: &tokio_postgres::Client, schema: &SchemaName, sql: &str) {
    let tables = [
        ("audit_entries", "audit_entries_consistent"),
        ("audit_heads", "audit_heads_consistent"),
        ("audit_heads", "audit_heads_forward"),
        ("audit_checkpoints", "audit_checkpoints_consistent"),
    ];
    let mut script = String::from("BEGIN;");
    for (table, trigger) in tables {
        script.push_str(&format!(
            "ALTER TABLE \"{schema}\".{table} DISABLE TRIGGER {trigger};"
        ));
    }
    script.push_str(sql);
    script.push(';');
    for (table, trigger) in tables {
        script.push_str(&format!(
            "ALTER TABLE \"{schema}\".{table} ENABLE ALWAYS TRIGGER {trigger};"
        ));
    }
    script.push_str("COMMIT;");
    c.batch_execute(&script).await.unwrap();
}

/// The [`AuditIntegrityError`] behind a failed read or verify.
fn integrity(r: Result<impl std::fmt::Debug, AuditError>) -> AuditIntegrityError {
    match r {
        Err(AuditError::Backend(b)) => {
            assert_eq!(b.kind(), BackendErrorKind::Corrupt, "{b}");
            std::error::Error::source(&b)
                .and_then(|s| s.downcast_ref::<AuditIntegrityError>())
                .unwrap_or_else(|| panic!("not an integrity error: {b:?}"))
                .clone()
        }
        other => panic!("expected an integrity error: {other:?}"),
    }
}

async fn setup(
    url: &str,
    tag: &str,
    partitions: Option<u16>,
) -> (PgAuditStore, AuditLog, SchemaName, String) {
    let pool = common::fresh_pool_partitioned(url, tag, partitions).await;
    let schema = pool.schema().clone();
    let app = schema.app_role();
    let store = PgAuditStore::new(pool);
    let log = AuditLog::new(Arc::new(store.clone()), Provider::system());
    (store, log, schema, app)
}

async fn three_entries(store: &PgAuditStore, prefix: &str) -> (TenantId, Vec<Entry>) {
    let t = common::tenant(prefix);
    store
        .append(&t, (0..3).map(pending).collect())
        .await
        .unwrap();
    let entries = store.read(&t, 0, u64::MAX).await.unwrap();
    (t, entries)
}

async fn an_entry_without_its_head_move_is_refused_at_commit(url: String, partitions: Option<u16>) {
    let (store, log, schema, app) = setup(&url, "nohead", partitions).await;
    let (t, entries) = three_entries(&store, "squat").await;
    let c = common::admin(&url).await;
    // The finding: a well-chained row at the next seq, the head left alone, as the
    // superuser (bypassing the application) and as the application role.
    let sql = insert_entry(&schema, &t, 3, *entries[2].hash());
    for role in [None, Some(app.as_str())] {
        assert_eq!(sqlstate(attempt(&c, role, &t, &sql).await, &sql), "PC001");
    }
    // Far beyond the head, and for a tenant with no head at all.
    let far = insert_entry(&schema, &t, 1000, Hash::ZERO);
    assert_eq!(sqlstate(attempt(&c, None, &t, &far).await, &far), "PC001");
    let t2 = common::tenant("headless");
    let first = insert_entry(&schema, &t2, 0, Hash::ZERO);
    assert_eq!(
        sqlstate(attempt(&c, Some(&app), &t2, &first).await, &first),
        "PC001"
    );
    // Nothing landed, and the log is not wedged: honest appends and verify go on.
    assert_eq!(store.read(&t, 0, u64::MAX).await.unwrap(), entries);
    store.append(&t, vec![pending(3)]).await.unwrap();
    assert_eq!(log.verify(&t).await.unwrap().size, 4);
    assert_eq!(log.verify(&t2).await.unwrap().size, 0);
    // Entry and head move in one transaction, in either order, is what an append is.
    let e4 = store.read(&t, 3, 4).await.unwrap();
    let (insert, hash) = forged(&schema, &t, 4, *e4[0].hash());
    let move_head = format!(
        "UPDATE \"{schema}\".audit_heads SET size = 5, head_hash = '\\x{}'
         WHERE tenant_id = '{t}'",
        hash.to_hex()
    );
    attempt(&c, Some(&app), &t, &format!("{move_head}; {insert}"))
        .await
        .unwrap();
    assert_eq!(log.verify(&t).await.unwrap().size, 5);
    common::drop_schema(&url, &schema).await;
}

async fn a_head_that_does_not_name_its_last_entry_is_refused(url: String, partitions: Option<u16>) {
    let (store, log, schema, app) = setup(&url, "headpast", partitions).await;
    let (t, entries) = three_entries(&store, "past").await;
    let c = common::admin(&url).await;
    let heads = format!("\"{schema}\".audit_heads");
    let statements = [
        // Past the entries, with the last entry's hash or another one.
        format!(
            "UPDATE {heads} SET size = 10, head_hash = '\\x{}' WHERE tenant_id = '{t}'",
            entries[2].hash().to_hex()
        ),
        format!(
            "UPDATE {heads} SET size = 4, head_hash = '\\x{}' WHERE tenant_id = '{t}'",
            "11".repeat(32)
        ),
    ];
    for sql in &statements {
        for role in [None, Some(app.as_str())] {
            assert_eq!(sqlstate(attempt(&c, role, &t, sql).await, sql), "PC002");
        }
    }
    // A non-genesis head for a tenant with no entries (only the superuser may try).
    let t2 = common::tenant("empty");
    let sql = format!(
        "INSERT INTO {heads} (tenant_id, size, head_hash) VALUES ('{t2}', 1, '\\x{}')",
        "22".repeat(32)
    );
    assert_eq!(sqlstate(attempt(&c, None, &t2, &sql).await, &sql), "PC002");
    let head = store.head(&t).await.unwrap();
    assert_eq!((head.size, head.hash), (3, *entries[2].hash()));
    assert_eq!(log.verify(&t).await.unwrap(), head);
    common::drop_schema(&url, &schema).await;
}

async fn a_checkpoint_beyond_the_head_is_refused(url: String, partitions: Option<u16>) {
    let (store, _log, schema, app) = setup(&url, "cpfar", partitions).await;
    let (t, _) = three_entries(&store, "cp").await;
    let c = common::admin(&url).await;
    let sql = format!(
        "INSERT INTO \"{schema}\".audit_checkpoints (tenant_id, size, note)
         VALUES ('{t}', 1000000000000, 'forged')"
    );
    for role in [None, Some(app.as_str())] {
        assert_eq!(sqlstate(attempt(&c, role, &t, &sql).await, &sql), "PC003");
    }
    let at_four = sql.replace("1000000000000", "4");
    assert_eq!(
        sqlstate(attempt(&c, Some(&app), &t, &at_four).await, &at_four),
        "PC003"
    );
    // Honest checkpoints are not blocked.
    assert!(store.latest_checkpoint(&t).await.unwrap().is_none());
    store.store_checkpoint(&t, 3, "honest\n").await.unwrap();
    assert_eq!(store.latest_checkpoint(&t).await.unwrap().unwrap().size, 3);
    common::drop_schema(&url, &schema).await;
}

/// The repair script of the crate docs, for `schema` and `tenant`.
fn repair_script(schema: &SchemaName, tenant: &TenantId) -> String {
    let docs = include_str!("../src/lib.rs");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in docs.lines() {
        let Some(text) = line.strip_prefix("//!") else {
            continue;
        };
        let text = text.strip_prefix(' ').unwrap_or(text);
        match (&mut current, text.trim()) {
            (None, "```sql") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    let script = blocks
        .into_iter()
        .find(|b| b.contains("DISABLE TRIGGER"))
        .expect("the crate docs hold the repair script");
    assert_eq!(script.matches("search_path TO portcullis;").count(), 1);
    assert!(script.matches("'acme'").count() >= 8);
    script
        .replace(
            "search_path TO portcullis;",
            &format!("search_path TO \"{schema}\";"),
        )
        .replace("'acme'", &format!("'{tenant}'"))
}

/// Damage of every kind the consistency triggers now refuse, written around them (as
/// before migration 4): reads and verify name it with a typed error, honest writes stop
/// where they would build on it, and the documented repair restores each tenant without
/// touching the others.
async fn damage_is_reported_by_verify_and_the_documented_repair_restores_the_log(
    url: String,
    partitions: Option<u16>,
) {
    let (store, log, schema, _app) = setup(&url, "repair", partitions).await;
    let c = common::admin(&url).await;
    let (stray, stray_entries) = three_entries(&store, "stray").await;
    let (past, past_entries) = three_entries(&store, "past").await;
    let (rewritten, _) = three_entries(&store, "rewritten").await;
    let (cp, _) = three_entries(&store, "cp").await;
    let (healthy, healthy_entries) = three_entries(&store, "healthy").await;
    store.store_checkpoint(&healthy, 3, "h\n").await.unwrap();
    let heads = format!("\"{schema}\".audit_heads");

    // A stray row at the next seq, the head not moved (the finding's wedge).
    damage(
        &c,
        &schema,
        &insert_entry(&schema, &stray, 3, *stray_entries[2].hash()),
    )
    .await;
    assert_eq!(
        integrity(log.verify(&stray).await),
        AuditIntegrityError::EntryBeyondHead {
            seq: 3,
            head_size: 3
        }
    );
    assert_eq!(
        integrity(store.read(&stray, 0, 1).await),
        AuditIntegrityError::EntryBeyondHead {
            seq: 3,
            head_size: 3
        }
    );
    match store.append(&stray, vec![pending(3)]).await {
        Err(AuditError::Backend(e)) => assert_eq!(e.kind(), BackendErrorKind::Conflict),
        other => panic!("an append onto the stray row must fail: {other:?}"),
    }
    // The head moved past its entries (with the last entry's hash, so only the size lies).
    damage(
        &c,
        &schema,
        &format!(
            "UPDATE {heads} SET size = 8, head_hash = '\\x{}' WHERE tenant_id = '{past}'",
            past_entries[2].hash().to_hex()
        ),
    )
    .await;
    assert_eq!(
        integrity(log.verify(&past).await),
        AuditIntegrityError::HeadMismatch { head_size: 8 }
    );
    // The head's hash rewritten in place.
    damage(
        &c,
        &schema,
        &format!(
            "UPDATE {heads} SET head_hash = '\\x{}' WHERE tenant_id = '{rewritten}'",
            "33".repeat(32)
        ),
    )
    .await;
    assert_eq!(
        integrity(log.verify(&rewritten).await),
        AuditIntegrityError::HeadMismatch { head_size: 3 }
    );
    // A forged checkpoint far beyond the head blocks honest checkpoints (regression).
    damage(
        &c,
        &schema,
        &format!(
            "INSERT INTO \"{schema}\".audit_checkpoints (tenant_id, size, note)
             VALUES ('{cp}', 1000000000000, 'forged')"
        ),
    )
    .await;
    assert_eq!(
        integrity(log.verify(&cp).await),
        AuditIntegrityError::CheckpointBeyondHead {
            checkpoint_size: 1_000_000_000_000,
            head_size: 3
        }
    );
    assert!(matches!(
        store.store_checkpoint(&cp, 3, "honest\n").await,
        Err(AuditError::CheckpointRegression { .. })
    ));
    assert_eq!(log.verify(&healthy).await.unwrap().size, 3);

    // The documented procedure, step by step as written, per damaged tenant.
    for t in [&stray, &past, &rewritten, &cp] {
        c.batch_execute(&repair_script(&schema, t)).await.unwrap();
        assert_eq!(log.verify(t).await.unwrap().size, 3, "{t} after repair");
        store.append(t, vec![pending(3)]).await.unwrap();
        store.store_checkpoint(t, 4, "honest\n").await.unwrap();
        assert_eq!(log.verify(t).await.unwrap().size, 4, "{t} after an append");
    }
    assert_eq!(
        store.read(&stray, 0, u64::MAX).await.unwrap()[..3],
        stray_entries[..]
    );
    // The healthy tenant was untouched, and the append-only triggers are back.
    assert_eq!(
        store.read(&healthy, 0, u64::MAX).await.unwrap(),
        healthy_entries
    );
    assert_eq!(
        store
            .latest_checkpoint(&healthy)
            .await
            .unwrap()
            .unwrap()
            .size,
        3
    );
    let enabled: Vec<String> = c
        .query(
            "SELECT t.tgenabled::text FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = r.relnamespace
             WHERE n.nspname = $1 AND NOT t.tgisinternal",
            &[&schema.as_str()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        enabled,
        // Nine on the tables; on each partition of the three, its statement triggers and
        // the clones of the parent's row triggers (three per partition).
        vec!["A".to_owned(); 9 + 9 * usize::from(partitions.unwrap_or(0))],
        "every trigger ENABLE ALWAYS"
    );
    let del = format!("DELETE FROM \"{schema}\".audit_entries WHERE tenant_id = '{stray}'");
    assert_eq!(
        sqlstate(attempt(&c, None, &stray, &del).await, &del),
        "42501"
    );
    common::drop_schema(&url, &schema).await;
}

/// Each case on the plain tables and on tables hash-partitioned by tenant.
macro_rules! both_layouts {
    ($($case:ident => $plain:ident, $partitioned:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $plain() {
            let Some(url) = common::db_url(stringify!($plain)) else {
                return;
            };
            $case(url, None).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $partitioned() {
            let Some(url) = common::db_url(stringify!($partitioned)) else {
                return;
            };
            $case(url, Some(4)).await;
        }
    )*};
}

both_layouts! {
    an_entry_without_its_head_move_is_refused_at_commit =>
        plain_an_entry_without_its_head_move_is_refused_at_commit,
        partitioned_an_entry_without_its_head_move_is_refused_at_commit;
    a_head_that_does_not_name_its_last_entry_is_refused =>
        plain_a_head_that_does_not_name_its_last_entry_is_refused,
        partitioned_a_head_that_does_not_name_its_last_entry_is_refused;
    a_checkpoint_beyond_the_head_is_refused =>
        plain_a_checkpoint_beyond_the_head_is_refused,
        partitioned_a_checkpoint_beyond_the_head_is_refused;
    damage_is_reported_by_verify_and_the_documented_repair_restores_the_log =>
        plain_damage_is_reported_by_verify_and_the_documented_repair_restores_the_log,
        partitioned_damage_is_reported_by_verify_and_the_documented_repair_restores_the_log;
}
