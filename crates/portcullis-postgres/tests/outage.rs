//! A PostgreSQL connection cut (`pg_terminate_backend`) during appends: only typed errors,
//! no partial entry, no fork, and the next append works.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::pending;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use portcullis_audit::{AuditError, AuditStore, verify_chain};
use portcullis_postgres::{PgAuditStore, PgOptions, PgPool, migrate};

const BATCH: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminated_connections_yield_typed_errors_and_the_pool_recovers() {
    let Some(url) =
        common::db_url("terminated_connections_yield_typed_errors_and_the_pool_recovers")
    else {
        return;
    };
    // A unique application_name marks this test's connections for pg_terminate_backend.
    let app = format!("pgt_outage_{}", common::suffix());
    let sep = if url.contains('?') { '&' } else { '?' };
    let options = PgOptions {
        schema: common::schema("outage"),
        max_connections: 8,
        ..PgOptions::default()
    };
    let pool = PgPool::connect(&format!("{url}{sep}application_name={app}"), options).unwrap();
    migrate(&pool).await.unwrap();
    let schema = pool.schema().clone();
    let store = Arc::new(PgAuditStore::new(pool));
    let t = common::tenant("outage");

    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let (url, app, stop) = (url.clone(), app.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let c = common::admin(&url).await;
            let mut killed = 0u64;
            for _ in 0..15 {
                tokio::time::sleep(Duration::from_millis(40)).await;
                let rows = c
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                        &[&app],
                    )
                    .await
                    .unwrap();
                killed += rows.len() as u64;
            }
            stop.store(true, Ordering::SeqCst);
            killed
        })
    };
    let workers: Vec<_> = (0..8u64)
        .map(|w| {
            let (store, t, stop) = (Arc::clone(&store), t.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let (mut ok, mut failed) = (Vec::new(), 0u64);
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let batch = (0..BATCH)
                        .map(|k| pending(w * 1_000_000 + i * BATCH + k))
                        .collect();
                    match store.append(&t, batch).await {
                        Ok(r) => ok.extend(r),
                        Err(AuditError::Backend(_)) => failed += 1,
                        Err(other) => panic!("untyped failure: {other:?}"),
                    }
                    i += 1;
                }
                (ok, failed)
            })
        })
        .collect();
    let killed = killer.await.unwrap();
    let (mut receipts, mut failures) = (Vec::new(), 0);
    for w in workers {
        let (ok, failed) = w.await.unwrap();
        receipts.extend(ok);
        failures += failed;
    }
    assert!(killed > 0, "the test terminated no connection");
    assert!(
        failures > 0,
        "terminating connections mid-append caused no error"
    );

    // The next append works (the pool replaced the dead connections).
    let next = store.append(&t, vec![pending(42)]).await.unwrap();

    let entries = store.read(&t, 0, u64::MAX).await.unwrap();
    let head = verify_chain(&t, &entries).unwrap();
    assert_eq!(
        head,
        store.head(&t).await.unwrap(),
        "one chain, head matches"
    );
    assert_eq!(
        next[0].seq + 1,
        head.size,
        "the next append is the last entry"
    );
    // No partial batch: everything before the last append came in whole batches.
    assert_eq!((head.size - 1) % BATCH, 0, "only whole batches were stored");
    // Every successful receipt is in the chain with its hash (commits that were cut in
    // flight may have landed too; they are whole batches, reported as errors).
    for r in &receipts {
        assert_eq!(entries[r.seq as usize].hash(), &r.hash, "receipt {}", r.seq);
    }
    eprintln!(
        "outage: {killed} connections terminated, {failures} typed failures, {} entries",
        head.size
    );
    common::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_is_a_typed_timeout_and_nothing_is_written() {
    let Some(url) = common::db_url("a_held_lock_is_a_typed_timeout_and_nothing_is_written") else {
        return;
    };
    let options = PgOptions {
        statement_timeout: Duration::from_millis(200),
        ..PgOptions::default()
    };
    let pool = common::fresh_pool_with(&url, "lock", options).await;
    let schema = pool.schema().clone();
    let store = PgAuditStore::new(pool);
    let t = common::tenant("lock");
    store.append(&t, vec![pending(0)]).await.unwrap();

    // Another session holds the tenant's head row.
    let c = common::admin(&url).await;
    c.batch_execute("BEGIN").await.unwrap();
    c.query(
        &format!("SELECT size FROM \"{schema}\".audit_heads WHERE tenant_id = $1 FOR UPDATE"),
        &[&t.as_str()],
    )
    .await
    .unwrap();
    match store.append(&t, vec![pending(1)]).await {
        Err(AuditError::Backend(e)) => {
            assert_eq!(e.kind(), portcullis_core::BackendErrorKind::Timeout, "{e}")
        }
        other => panic!("expected a typed timeout: {other:?}"),
    }
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(store.head(&t).await.unwrap().size, 1, "nothing written");
    let r = store.append(&t, vec![pending(2)]).await.unwrap();
    assert_eq!(r[0].seq, 1);
    common::drop_schema(&url, &schema).await;
}
