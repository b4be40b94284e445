#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Pins what the crate docs ("Time") say about the revocation store: `check` has no
//! `now`, so a revoked `jti` counts while its key exists, whose expiry is `keep_until`
//! minus the backend's clock at write time, enforced by Redis.

mod common;

use std::time::Duration;

use portcullis_core::{ActorId, Clock, TenantId, UnixTime};
use portcullis_redis::RedisRevocationStore;
use portcullis_testkit::ManualClock;
use portcullis_tokens::{RevocationReason, RevocationStatus, RevocationStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_jti_is_decided_by_key_existence_not_by_a_now() {
    let Some(url) = common::redis_url("revoked_jti_is_decided_by_key_existence_not_by_a_now")
    else {
        return;
    };
    let clock = ManualClock::new();
    let b = common::backend(&url, "revtime", clock.clone()).await;
    let store = RedisRevocationStore::new(b.clone());
    let tenant: TenantId = "tenant-a".parse().unwrap();
    let sub: ActorId = "sam".parse().unwrap();
    let keep_until = clock.now().saturating_add(Duration::from_secs(10));
    store.revoke_jti(&tenant, "j1", keep_until).await.unwrap();

    // The key's expiry is the relative TTL computed against the backend clock at write.
    let key = b.keys().jti(&tenant, "j1");
    let pttl = match common::raw(&url, &["PTTL", &key]).await {
        redis::Value::Int(n) => n,
        other => panic!("PTTL: {other:?}"),
    };
    assert!(pttl > 0 && pttl <= 10_000, "pttl {pttl}");

    // The backend clock moving past keep_until does not end the revocation: no `now` is
    // consulted, the key still exists.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        store
            .check(&tenant, &sub, "j1", UnixTime::from_secs(1))
            .await
            .unwrap(),
        RevocationStatus::Revoked(RevocationReason::TokenRevoked)
    );

    // Once Redis removes the key (here: forced), the jti is no longer revoked.
    common::raw(&url, &["DEL", &key]).await;
    assert_eq!(
        store
            .check(&tenant, &sub, "j1", UnixTime::from_secs(1))
            .await
            .unwrap(),
        RevocationStatus::NotRevoked
    );
}
