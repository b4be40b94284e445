//! The nonce budget shared across processes: a sealer with reserved seals only seals what
//! was reserved in the shared store; several "processes" (sealers) on one store never
//! exceed the limit together; a restart never reuses reserved seals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use common::{key, tenant, v};
use portcullis_core::Provider;
use portcullis_keys::{
    KeysError, MasterKeys, MemorySealBudgetStore, Purpose, SealBudget, SealBudgetStore, Sealer,
    SealerConfig, UsagePolicy, UsageState,
};
use portcullis_testkit::SeededRandom;

fn config(limit: u64) -> SealerConfig {
    SealerConfig {
        usage: UsagePolicy {
            warn_after: limit / 2,
            limit,
        },
        reserved_seals_only: true,
        ..SealerConfig::default()
    }
}

fn sealer(seed: u64, config: SealerConfig) -> Sealer {
    Sealer::with_config(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(v(1), key(1)),
        Provider::from_parts(
            Arc::new(portcullis_core::SystemClock),
            Arc::new(SeededRandom::new(seed)),
        ),
        config,
    )
}

#[tokio::test]
async fn the_memory_store_passes_the_seal_budget_conformance_suite() {
    portcullis_testkit::conformance::seal_budget::run_all(|| async {
        MemorySealBudgetStore::new()
    })
    .await;
}

#[tokio::test]
async fn a_sealer_with_reserved_seals_only_seals_what_was_reserved() {
    let s = sealer(1, config(1 << 32));
    let t = tenant("acme");
    assert!(matches!(s.seal(&t, b"c", b"x"), Err(KeysError::SealsNotReserved(x)) if x == v(1)));
    let store = Arc::new(MemorySealBudgetStore::new());
    let budget = SealBudget::new(store.clone(), config(1 << 32).usage).with_block(10);
    let usage = budget.top_up(&s).await.unwrap().unwrap();
    assert_eq!(
        (usage.version, usage.seals, usage.state),
        (v(1), 10, UsageState::Ok)
    );
    // Enough left: no second reservation until half a block remains.
    assert_eq!(budget.top_up(&s).await.unwrap(), None);
    for _ in 0..10 {
        s.seal(&t, b"c", b"x").unwrap();
    }
    assert!(matches!(
        s.seal(&t, b"c", b"x"),
        Err(KeysError::SealsNotReserved(_))
    ));
    assert_eq!(s.seal_allowance().reserved, Some(10));
    assert_eq!(s.seal_allowance().seals, 10);
    // Through the budget, sealing reserves as needed.
    for _ in 0..25 {
        budget.seal(&s, &t, b"c", b"x").await.unwrap();
    }
    assert_eq!(s.seal_allowance().seals, 35);
    assert_eq!(store.reserved(s.purpose(), v(1)).await.unwrap(), 40);
    // A sealer without reserved seals is not the budget's to feed.
    let plain = sealer(2, SealerConfig::default());
    assert!(matches!(
        budget.top_up(&plain).await,
        Err(KeysError::InvalidInput { .. })
    ));
    assert_eq!(plain.seal_allowance().reserved, None);
}

#[tokio::test]
async fn processes_sharing_a_store_never_exceed_the_limit_together_and_restarts_never_reuse() {
    let limit = 1000;
    let store: Arc<dyn SealBudgetStore> = Arc::new(MemorySealBudgetStore::new());
    let t = tenant("acme");
    let mut sealed = 0u64;
    let mut limit_hit = 0;
    // Three replicas, then each "restarts" (a new Sealer on the same store) and goes on.
    for round in 0..2u64 {
        let replicas: Vec<_> = (0..3)
            .map(|i| Arc::new(sealer(round * 10 + i, config(limit))))
            .collect();
        let budget =
            Arc::new(SealBudget::new(Arc::clone(&store), config(limit).usage).with_block(64));
        let tasks = replicas.iter().map(|s| {
            let (s, budget, t) = (Arc::clone(s), Arc::clone(&budget), t.clone());
            async move {
                let mut n = 0u64;
                let mut hit = false;
                for _ in 0..300 {
                    match budget.seal(&s, &t, b"c", b"x").await {
                        Ok(_) => n += 1,
                        Err(KeysError::SealLimitReached(x)) => {
                            assert_eq!(x, v(1));
                            hit = true;
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
                (n, hit)
            }
        });
        for (n, hit) in futures::future::join_all(tasks).await {
            sealed += n;
            limit_hit += usize::from(hit);
        }
    }
    assert!(sealed <= limit, "{sealed} seals under a limit of {limit}");
    // Blocks reserved by a replica that stopped are lost, not reused: fewer than the limit
    // were sealed, but the store says the budget is spent.
    assert_eq!(
        store
            .reserved(&Purpose::new("credentials").unwrap(), v(1))
            .await
            .unwrap(),
        limit
    );
    assert!(limit_hit > 0, "the limit was never reached");
    assert!(sealed > limit / 2, "only {sealed} seals");
}

#[tokio::test]
async fn after_a_rotation_the_budget_reserves_for_the_new_primary() {
    let store = Arc::new(MemorySealBudgetStore::new());
    let s = sealer(3, config(100));
    let budget = SealBudget::new(store.clone(), config(100).usage).with_block(100);
    let t = tenant("acme");
    for _ in 0..100 {
        budget.seal(&s, &t, b"c", b"x").await.unwrap();
    }
    assert!(
        matches!(budget.seal(&s, &t, b"c", b"x").await, Err(KeysError::SealLimitReached(x)) if x == v(1))
    );
    s.rotate(v(2), key(2)).unwrap();
    let blob = budget.seal(&s, &t, b"c", b"after rotation").await.unwrap();
    assert_eq!(portcullis_keys::inspect(&blob).unwrap().key_version, v(2));
    let usage = s.seal_allowance();
    assert_eq!(
        (usage.version, usage.seals, usage.reserved),
        (v(2), 1, Some(100))
    );
    assert_eq!(store.reserved(s.purpose(), v(2)).await.unwrap(), 100);
}
