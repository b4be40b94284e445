//! The portcullis-testkit audit conformance suite against a real PostgreSQL server, each
//! step on a fresh schema (the suite uses fixed tenant names).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, Mutex};

use portcullis_postgres::{PgAuditStore, SchemaName};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_conformance_suite_passes_against_postgres() {
    let Some(url) = common::db_url("audit_conformance_suite_passes_against_postgres") else {
        return;
    };
    suite(&url, None).await;
}

/// The same suite on audit tables hash-partitioned by tenant (migrate_with).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_conformance_suite_passes_on_partitioned_tables() {
    let Some(url) = common::db_url("audit_conformance_suite_passes_on_partitioned_tables") else {
        return;
    };
    suite(&url, Some(4)).await;
}

async fn suite(url: &str, partitions: Option<u16>) {
    let schemas: Arc<Mutex<Vec<SchemaName>>> = Arc::default();
    let (u, s) = (url.to_owned(), Arc::clone(&schemas));
    portcullis_testkit::conformance::audit::run_all(
        move || {
            let (u, s) = (u.clone(), Arc::clone(&s));
            async move {
                let pool = common::fresh_pool_partitioned(&u, "conf", partitions).await;
                s.lock().unwrap().push(pool.schema().clone());
                PgAuditStore::new(pool)
            }
        },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
    let done: Vec<SchemaName> = schemas.lock().unwrap().clone();
    for schema in done {
        common::drop_schema(url, &schema).await;
    }
}
