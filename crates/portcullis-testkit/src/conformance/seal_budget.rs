//! The conformance suite every [`SealBudgetStore`] passes (in memory, PostgreSQL): grants
//! never pass the limit, never overlap under concurrency, and are kept per purpose and
//! key version.
//!
//! Panics name the suite and the step (these are test helpers).
#![allow(clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use portcullis_keys::{KeyVersion, Purpose, SealBudgetStore};

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap_or_else(|e| panic!("seal budget conformance: {e}"))
}

fn purpose(s: &str) -> Purpose {
    Purpose::new(s).unwrap_or_else(|e| panic!("seal budget conformance: {e}"))
}

async fn reserve(
    store: &dyn SealBudgetStore,
    p: &Purpose,
    version: KeyVersion,
    want: u64,
    limit: u64,
) -> u64 {
    store
        .reserve(p, version, want, limit)
        .await
        .unwrap_or_else(|e| panic!("seal budget conformance: reserve: {e}"))
}

async fn total(store: &dyn SealBudgetStore, p: &Purpose, version: KeyVersion) -> u64 {
    store
        .reserved(p, version)
        .await
        .unwrap_or_else(|e| panic!("seal budget conformance: reserved: {e}"))
}

/// Runs every behaviour, each on a fresh store from `new_store`.
pub async fn run_all<S, F, Fut>(new_store: F)
where
    S: SealBudgetStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    grants_add_up_and_stop_at_the_limit(&new_store().await).await;
    counts_are_per_purpose_and_version(&new_store().await).await;
    concurrent_grants_never_overlap(Arc::new(new_store().await)).await;
}

/// Grants are what was asked until the limit, then the remainder, then 0; the total is
/// their sum.
pub async fn grants_add_up_and_stop_at_the_limit(store: &dyn SealBudgetStore) {
    let p = purpose("conformance");
    assert_eq!(
        total(store, &p, v(1)).await,
        0,
        "seal budget conformance: a new count is 0"
    );
    assert_eq!(reserve(store, &p, v(1), 400, 1000).await, 400);
    assert_eq!(reserve(store, &p, v(1), 400, 1000).await, 400);
    assert_eq!(
        reserve(store, &p, v(1), 400, 1000).await,
        200,
        "seal budget conformance: the remainder"
    );
    assert_eq!(
        reserve(store, &p, v(1), 400, 1000).await,
        0,
        "seal budget conformance: at the limit"
    );
    assert_eq!(total(store, &p, v(1)).await, 1000);
    // A larger limit later (a new policy) continues from the total, never restarts.
    assert_eq!(reserve(store, &p, v(1), 50, 1020).await, 20);
    assert_eq!(total(store, &p, v(1)).await, 1020);
    assert_eq!(
        reserve(store, &p, v(1), 0, 5000).await,
        0,
        "seal budget conformance: want 0"
    );
    // Large numbers (the real limit is 2^32) are exact.
    assert_eq!(reserve(store, &p, v(2), 1 << 32, 1 << 32).await, 1 << 32);
    assert_eq!(reserve(store, &p, v(2), 1, 1 << 32).await, 0);
}

/// Counts of different purposes and versions are independent.
pub async fn counts_are_per_purpose_and_version(store: &dyn SealBudgetStore) {
    let (a, b) = (purpose("alpha"), purpose("beta"));
    assert_eq!(reserve(store, &a, v(1), 10, 100).await, 10);
    assert_eq!(reserve(store, &a, v(2), 20, 100).await, 20);
    assert_eq!(reserve(store, &b, v(1), 30, 100).await, 30);
    assert_eq!(
        (
            total(store, &a, v(1)).await,
            total(store, &a, v(2)).await,
            total(store, &b, v(1)).await
        ),
        (10, 20, 30),
        "seal budget conformance: independent counts"
    );
}

/// 32 concurrent reservations of 50 against a limit of 1000 grant exactly 1000 in all.
pub async fn concurrent_grants_never_overlap<S: SealBudgetStore + 'static>(store: Arc<S>) {
    let p = purpose("concurrent");
    let calls = (0..32).map(|_| {
        let (store, p) = (Arc::clone(&store), p.clone());
        async move { reserve(store.as_ref(), &p, v(1), 50, 1000).await }
    });
    let granted: u64 = futures::future::join_all(calls).await.into_iter().sum();
    assert_eq!(
        granted, 1000,
        "seal budget conformance: grants overlap or were lost"
    );
    assert_eq!(total(store.as_ref(), &p, v(1)).await, 1000);
}
