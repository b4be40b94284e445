//! Issue 13, item 8: concurrent appends to one tenant from one store join one transaction
//! (group commit). Every appender gets its own consecutive receipts, a failed group fails
//! every member and commits nothing, cancelled appenders leave the queue without wedging
//! it, and tenants do not wait on each other.
//!
//! A group's entries share one `inserted_at` (the column defaults to `now()`, the
//! transaction's start), which is how these tests see which entries committed together.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_audit::{AppendReceipt, AuditError, AuditLog, AuditStore, NewEntry, PendingEntry};
use portcullis_core::{ActorId, BackendErrorKind, Provider, TenantId, UnixTime};
use portcullis_postgres::{
    GroupCommitError, MAX_GROUP_ENTRIES, PgAuditStore, PgOptions, SchemaName,
};

/// Waits until `f` holds (polling), or panics after 10 s.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An admin session holding `t`'s head row lock until it commits or rolls back.
async fn hold_head(url: &str, schema: &SchemaName, t: &TenantId) -> tokio_postgres::Client {
    let c = common::admin(url).await;
    c.batch_execute("BEGIN").await.unwrap();
    let rows = c
        .query(
            &format!("SELECT size FROM \"{schema}\".audit_heads WHERE tenant_id = $1 FOR UPDATE"),
            &[&t.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the tenant has a head row");
    c
}

/// Sizes of the transactions that wrote `t`'s entries from `from` on, in seq order (as
/// the superuser, so damage does not get in the way).
async fn commit_sizes(url: &str, schema: &SchemaName, t: &TenantId, from: i64) -> Vec<i64> {
    let c = common::admin(url).await;
    c.query(
        &format!(
            "SELECT count(*) FROM \"{schema}\".audit_entries WHERE tenant_id = $1 AND seq >= $2
             GROUP BY inserted_at ORDER BY min(seq)"
        ),
        &[&t.as_str(), &from],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Seqs of `t`'s stored rows and its head size, as the superuser.
async fn stored(url: &str, schema: &SchemaName, t: &TenantId) -> (Vec<i64>, i64) {
    let c = common::admin(url).await;
    let seqs = c
        .query(
            &format!(
                "SELECT seq FROM \"{schema}\".audit_entries WHERE tenant_id = $1 ORDER BY seq"
            ),
            &[&t.as_str()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let size = c
        .query_one(
            &format!("SELECT size FROM \"{schema}\".audit_heads WHERE tenant_id = $1"),
            &[&t.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    (seqs, size)
}

/// Spawns one append per batch, each its own task.
fn spawn_appends(
    store: &Arc<PgAuditStore>,
    t: &TenantId,
    batches: Vec<Vec<PendingEntry>>,
) -> Vec<tokio::task::JoinHandle<Result<Vec<AppendReceipt>, AuditError>>> {
    batches
        .into_iter()
        .map(|b| {
            let (store, t) = (Arc::clone(store), t.clone());
            tokio::spawn(async move { store.append(&t, b).await })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_get_distinct_consecutive_receipts_and_verify_passes() {
    let Some(url) =
        common::db_url("concurrent_appenders_get_distinct_consecutive_receipts_and_verify_passes")
    else {
        return;
    };
    let pool = common::fresh_pool(&url, "group").await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let log = AuditLog::new(
        Arc::clone(&store) as Arc<dyn AuditStore>,
        Provider::system(),
    );
    let t = common::tenant("group");
    // 24 appenders x 40 appends, every third a batch of 3 (a batch stays consecutive).
    let (tasks, rounds) = (24u64, 40u64);
    let workers: Vec<_> = (0..tasks)
        .map(|w| {
            let (store, t) = (Arc::clone(&store), t.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for a in 0..rounds {
                    let n = if a % 3 == 0 { 3 } else { 1 };
                    let batch = (0..n)
                        .map(|k| pending(w * 1_000_000 + a * 10 + k))
                        .collect();
                    let r = store.append(&t, batch).await.unwrap();
                    assert_eq!(r.len() as u64, n);
                    for pair in r.windows(2) {
                        assert_eq!(pair[0].seq + 1, pair[1].seq, "a batch is consecutive");
                    }
                    mine.extend(r);
                }
                mine
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for w in workers {
        receipts.extend(w.await.unwrap());
    }
    let expected = tasks * (rounds / 3 + 1) * 3 + tasks * (rounds - rounds / 3 - 1);
    let seqs: BTreeSet<u64> = receipts.iter().map(|r| r.seq).collect();
    assert_eq!(seqs.len() as u64, expected, "every receipt has its own seq");
    assert_eq!(
        seqs,
        (0..expected).collect(),
        "the seqs are 0..n without gaps"
    );
    let head = log.verify(&t).await.unwrap();
    assert_eq!(head.size, expected);
    let entries = store.read(&t, 0, u64::MAX).await.unwrap();
    for r in &receipts {
        assert_eq!(entries[r.seq as usize].hash(), &r.hash, "receipt {}", r.seq);
    }
    let commits = commit_sizes(&url, &schema, &t, 0).await;
    assert_eq!(commits.iter().sum::<i64>() as u64, expected);
    assert!(
        (commits.len() as u64) < tasks * rounds,
        "appends were grouped: {} commits for {} appends",
        commits.len(),
        tasks * rounds
    );
    assert_eq!(store.queued_appends(&t), 0);
    common::drop_schema(&url, &schema).await;
}

/// While another session holds the head, appends pile up; once it lets go, one
/// transaction takes them all, up to `MAX_GROUP_ENTRIES`, and a larger batch commits alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queued_appends_commit_in_one_transaction_up_to_the_bound() {
    let Some(url) = common::db_url("queued_appends_commit_in_one_transaction_up_to_the_bound")
    else {
        return;
    };
    let pool = common::fresh_pool(&url, "bound").await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let t = common::tenant("bound");
    store.append(&t, vec![pending(0)]).await.unwrap();

    let n = MAX_GROUP_ENTRIES + 44;
    let c = hold_head(&url, &schema, &t).await;
    let first = spawn_appends(&store, &t, vec![vec![pending(1)]]);
    // The first appender leads and waits for the lock; the others queue behind it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rest = spawn_appends(
        &store,
        &t,
        (2..=n as u64).map(|i| vec![pending(i)]).collect(),
    );
    until("the appends to queue", || store.queued_appends(&t) == n - 1).await;
    c.batch_execute("COMMIT").await.unwrap();
    let mut seqs = BTreeSet::new();
    for task in first.into_iter().chain(rest) {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.len(), 1);
        assert!(seqs.insert(r[0].seq));
    }
    assert_eq!(seqs, (1..=n as u64).collect());
    // The leader's group: its own append and all that fit behind it; then the rest.
    assert_eq!(
        commit_sizes(&url, &schema, &t, 1).await,
        vec![MAX_GROUP_ENTRIES as i64, 44]
    );

    // A batch larger than the bound is never split; queued singles do not join it.
    let big = MAX_GROUP_ENTRIES as u64 + 10;
    let c = hold_head(&url, &schema, &t).await;
    let from = n as u64 + 1;
    let first = spawn_appends(
        &store,
        &t,
        vec![(0..big).map(|k| pending(from + k)).collect()],
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rest = spawn_appends(&store, &t, (0..5).map(|k| vec![pending(k)]).collect());
    until("the singles to queue", || store.queued_appends(&t) == 5).await;
    c.batch_execute("COMMIT").await.unwrap();
    let r = first.into_iter().next().unwrap().await.unwrap().unwrap();
    assert_eq!(r.len() as u64, big);
    assert_eq!(r[0].seq, from);
    for task in rest {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        commit_sizes(&url, &schema, &t, from as i64).await,
        vec![big as i64, 5]
    );
    let log = AuditLog::new(
        Arc::clone(&store) as Arc<dyn AuditStore>,
        Provider::system(),
    );
    assert_eq!(log.verify(&t).await.unwrap().size, from + big + 5);
    common::drop_schema(&url, &schema).await;
}

/// The group error every member of a failed group gets.
fn group_error(
    r: Result<Vec<AppendReceipt>, AuditError>,
    kind: BackendErrorKind,
) -> GroupCommitError {
    match r {
        Err(AuditError::Backend(b)) => {
            assert_eq!(b.kind(), kind, "{b}");
            assert_eq!(b.operation(), "postgres.audit.append");
            std::error::Error::source(&b)
                .and_then(|s| s.downcast_ref::<GroupCommitError>())
                .unwrap_or_else(|| panic!("not a group commit error: {b:?}"))
                .clone()
        }
        other => panic!("every member of the group must fail: {other:?}"),
    }
}

/// A unique violation on one entry of a group of 8 (a stray row at seq 5, written around
/// the triggers) fails all 8 appends with the same error and commits none of them, not
/// even those whose seqs were free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_constraint_violation_fails_the_whole_group_and_commits_nothing() {
    let Some(url) =
        common::db_url("a_constraint_violation_fails_the_whole_group_and_commits_nothing")
    else {
        return;
    };
    let pool = common::fresh_pool(&url, "gfail").await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let t = common::tenant("gfail");
    let three = store
        .append(&t, (0..3).map(pending).collect())
        .await
        .unwrap();
    let admin = common::admin(&url).await;
    let stray = portcullis_audit::Entry::seal(
        t.clone(),
        5,
        three[2].hash,
        UnixTime::from_millis(1),
        NewEntry::new(ActorId::new("mallory").unwrap(), "audit.forge", "x").unwrap(),
    );
    admin
        .batch_execute(&format!(
            "BEGIN;
             ALTER TABLE \"{schema}\".audit_entries DISABLE TRIGGER audit_entries_consistent;
             INSERT INTO \"{schema}\".audit_entries
                 (tenant_id, seq, prev_hash, entry_hash, time_ms, actor, action, resource, record)
             VALUES ('{t}', 5, '\\x{prev}', '\\x{hash}', 1, 'mallory', 'audit.forge', 'x', '{rec}');
             ALTER TABLE \"{schema}\".audit_entries ENABLE ALWAYS TRIGGER audit_entries_consistent;
             COMMIT;",
            prev = stray.prev().to_hex(),
            hash = stray.hash().to_hex(),
            rec = stray.to_json_line().unwrap().replace('\'', "''"),
        ))
        .await
        .unwrap();

    let c = hold_head(&url, &schema, &t).await;
    let first = spawn_appends(&store, &t, vec![vec![pending(10)]]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rest = spawn_appends(&store, &t, (11..18).map(|i| vec![pending(i)]).collect());
    until("7 appends to queue", || store.queued_appends(&t) == 7).await;
    c.batch_execute("COMMIT").await.unwrap();
    let mut causes = Vec::new();
    for task in first.into_iter().chain(rest) {
        let e = group_error(task.await.unwrap(), BackendErrorKind::Conflict);
        assert_eq!((e.appends, e.entries), (8, 8));
        causes.push(e.cause().to_string());
        match e.cause() {
            AuditError::Backend(b) => assert_eq!(b.kind(), BackendErrorKind::Conflict),
            other => panic!("the cause is the unique violation: {other:?}"),
        }
    }
    assert!(causes.windows(2).all(|w| w[0] == w[1]), "one shared cause");
    // Seqs 3 and 4 were free, yet nothing of the group landed; the head did not move.
    assert_eq!(stored(&url, &schema, &t).await, (vec![0, 1, 2, 5], 3));
    assert_eq!(store.queued_appends(&t), 0);

    // Without the stray row the tenant goes on: the failed group did not wedge the lane.
    admin
        .batch_execute(&format!(
            "BEGIN;
             ALTER TABLE \"{schema}\".audit_entries DISABLE TRIGGER audit_entries_append_only;
             DELETE FROM \"{schema}\".audit_entries WHERE tenant_id = '{t}' AND seq = 5;
             ALTER TABLE \"{schema}\".audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_only;
             COMMIT;"
        ))
        .await
        .unwrap();
    for task in spawn_appends(&store, &t, (20..28).map(|i| vec![pending(i)]).collect()) {
        task.await.unwrap().unwrap();
    }
    let log = AuditLog::new(
        Arc::clone(&store) as Arc<dyn AuditStore>,
        Provider::system(),
    );
    assert_eq!(log.verify(&t).await.unwrap().size, 11);
    common::drop_schema(&url, &schema).await;
}

/// A group whose `INSERT` runs into the lock timeout (another session holds a `SHARE`
/// lock on the entries table) fails every member with a timeout and commits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_timeout_inside_a_group_fails_every_member() {
    let Some(url) = common::db_url("a_lock_timeout_inside_a_group_fails_every_member") else {
        return;
    };
    let options = PgOptions {
        statement_timeout: Duration::from_millis(1500),
        ..PgOptions::default()
    };
    let pool = common::fresh_pool_with(&url, "gtime", options).await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let t = common::tenant("gtime");
    store.append(&t, vec![pending(0)]).await.unwrap();

    let table = common::admin(&url).await;
    table
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE \"{schema}\".audit_entries IN SHARE MODE"
        ))
        .await
        .unwrap();
    let c = hold_head(&url, &schema, &t).await;
    let first = spawn_appends(&store, &t, vec![vec![pending(1)]]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rest = spawn_appends(
        &store,
        &t,
        vec![
            vec![pending(2)],
            (3..6).map(pending).collect(),
            vec![pending(6)],
        ],
    );
    until("3 appends to queue", || store.queued_appends(&t) == 3).await;
    c.batch_execute("COMMIT").await.unwrap();
    for task in first.into_iter().chain(rest) {
        let e = group_error(task.await.unwrap(), BackendErrorKind::Timeout);
        assert_eq!((e.appends, e.entries), (4, 6));
    }
    table.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(stored(&url, &schema, &t).await, (vec![0], 1));
    let r = store.append(&t, vec![pending(7)]).await.unwrap();
    assert_eq!(r[0].seq, 1);
    common::drop_schema(&url, &schema).await;
}

/// A queued appender that gives up leaves the queue (its entry is never written); a leader
/// that gives up while waiting for the lock hands the lane to the next appender.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_appenders_leave_the_queue_and_the_lane_goes_on() {
    let Some(url) = common::db_url("cancelled_appenders_leave_the_queue_and_the_lane_goes_on")
    else {
        return;
    };
    let pool = common::fresh_pool(&url, "gcancel").await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let t = common::tenant("gcancel");
    store.append(&t, vec![pending(0)]).await.unwrap();

    let cancel_after = |store: &Arc<PgAuditStore>, i: u64| {
        let (store, t) = (Arc::clone(store), t.clone());
        tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_millis(300),
                store.append(&t, vec![pending(i)]),
            )
            .await
        })
    };
    let c = hold_head(&url, &schema, &t).await;
    // The leader gives up while waiting for the lock; so does one queued appender.
    let leader = cancel_after(&store, 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let a = spawn_appends(&store, &t, vec![vec![pending(2)]]);
    let quitter = cancel_after(&store, 3);
    let b = spawn_appends(&store, &t, vec![vec![pending(4)], vec![pending(5)]]);
    until("4 appends to queue", || store.queued_appends(&t) == 4).await;
    assert!(leader.await.unwrap().is_err(), "the leader gave up");
    assert!(
        quitter.await.unwrap().is_err(),
        "the queued appender gave up"
    );
    // The next appender leads now (waiting for the lock); the quitter left the queue.
    until("the next leader to take over", || {
        store.queued_appends(&t) == 2
    })
    .await;
    c.batch_execute("COMMIT").await.unwrap();
    let mut seqs = BTreeSet::new();
    for task in a.into_iter().chain(b) {
        seqs.insert(task.await.unwrap().unwrap()[0].seq);
    }
    assert_eq!(seqs, (1..4).collect());
    let entries = store.read(&t, 0, u64::MAX).await.unwrap();
    let resources: Vec<&str> = entries.iter().map(|e| e.body().resource()).collect();
    assert_eq!(resources.len(), 4);
    assert!(!resources.contains(&"doc/1") && !resources.contains(&"doc/3"));
    let log = AuditLog::new(
        Arc::clone(&store) as Arc<dyn AuditStore>,
        Provider::system(),
    );
    assert_eq!(log.verify(&t).await.unwrap().size, 4);
    // The cancelled leader's connection was closed, not returned to the pool inside its
    // transaction: no connection of the schema's app role is left in a transaction.
    let admin = common::admin(&url).await;
    let stuck: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE state LIKE 'idle in transaction%' AND query LIKE $1",
            &[&format!("%{schema}%")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stuck, 0,
        "a connection went back to the pool inside a transaction"
    );
    for i in 6..10 {
        store.append(&t, vec![pending(i)]).await.unwrap();
    }
    assert_eq!(log.verify(&t).await.unwrap().size, 8);
    common::drop_schema(&url, &schema).await;
}

/// Appends to another tenant go through while one tenant's appenders wait for its head.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_on_different_tenants_do_not_wait_on_each_other() {
    let Some(url) = common::db_url("appends_on_different_tenants_do_not_wait_on_each_other") else {
        return;
    };
    let pool = common::fresh_pool(&url, "gtenants").await;
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let (blocked, free) = (common::tenant("blocked"), common::tenant("free"));
    store.append(&blocked, vec![pending(0)]).await.unwrap();

    let c = hold_head(&url, &schema, &blocked).await;
    let waiting = spawn_appends(&store, &blocked, (1..4).map(|i| vec![pending(i)]).collect());
    until("2 appends of the blocked tenant to queue", || {
        store.queued_appends(&blocked) == 2
    })
    .await;
    // Concurrent appenders on the free tenant, from the same store, all finish.
    let start = Instant::now();
    let free_tasks = spawn_appends(&store, &free, (0..16).map(|i| vec![pending(i)]).collect());
    let mut seqs = BTreeSet::new();
    for task in free_tasks {
        let r = tokio::time::timeout(Duration::from_secs(3), task)
            .await
            .expect("the free tenant's append finished while the other tenant waited")
            .unwrap()
            .unwrap();
        seqs.insert(r[0].seq);
    }
    assert_eq!(seqs, (0..16).collect());
    eprintln!("16 appends on the free tenant took {:?}", start.elapsed());
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the blocked tenant's appends still wait"
    );
    assert_eq!(store.queued_appends(&blocked), 2);
    c.batch_execute("COMMIT").await.unwrap();
    for task in waiting {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.head(&blocked).await.unwrap().size, 4);
    common::drop_schema(&url, &schema).await;
}
