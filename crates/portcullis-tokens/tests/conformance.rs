#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The in-memory stores pass the shared conformance suite.

use portcullis_testkit::conformance::tokens::{TokenStores, run_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stores_conform() {
    run_all(
        || async { TokenStores::memory() },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}
