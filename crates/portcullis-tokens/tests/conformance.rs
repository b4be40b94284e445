#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The in-memory stores pass the shared conformance suite.

use portcullis_testkit::conformance::tokens::{StoreSet, run_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stores_conform() {
    run_all(
        |clock| async move { StoreSet::memory(&clock.provider(0)) },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}
