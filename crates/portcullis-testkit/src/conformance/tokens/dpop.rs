//! The [`DpopReplayStore`]: a proof id is accepted once while its entry lives (also under
//! concurrency), ids are independent, and an entry past its time frees the id.
//!
//! [`DpopReplayStore`]: portcullis_tokens::DpopReplayStore

use std::time::Duration;

use portcullis_core::UnixTime;

use super::fixtures::{BoxFuture, StoreSet};

/// Once per id and window: sequential and 16 concurrent inserts of one id see exactly one
/// `true`; another id is unaffected; after the entry's time the id is accepted again.
pub async fn dpop_proofs_are_accepted_once<S>(stores: &StoreSet, spawn: &S)
where
    S: Fn(BoxFuture<String>) -> BoxFuture<String>,
{
    let step = "dpop_proofs_are_accepted_once";
    let store = stores.dpop_replay.clone();
    let t = UnixTime::from_secs(1_700_000_000);
    let until = t.saturating_add(Duration::from_secs(70));
    let a = [0xa1u8; 32];
    let b = [0xb2u8; 32];
    assert!(
        store.check_and_insert(&a, until, t).await.unwrap(),
        "{step}: first"
    );
    assert!(
        !store.check_and_insert(&a, until, t).await.unwrap(),
        "{step}: replay"
    );
    let mid = t.saturating_add(Duration::from_secs(69));
    assert!(
        !store.check_and_insert(&a, until, mid).await.unwrap(),
        "{step}: within window"
    );
    assert!(
        store.check_and_insert(&b, until, t).await.unwrap(),
        "{step}: another id"
    );
    let after = t.saturating_add(Duration::from_secs(71));
    let later = after.saturating_add(Duration::from_secs(70));
    assert!(
        store.check_and_insert(&a, later, after).await.unwrap(),
        "{step}: after its time"
    );

    let c = [0xc3u8; 32];
    let mut racers = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        racers.push(spawn(Box::pin(async move {
            store
                .check_and_insert(&c, until, t)
                .await
                .unwrap()
                .to_string()
        })));
    }
    let mut fresh = 0;
    for r in racers {
        if r.await == "true" {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "{step}: exactly one concurrent insert wins");
}
