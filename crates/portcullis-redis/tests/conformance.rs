#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The Redis stores pass the same conformance suites as the in-memory stores, on the
//! single server (`PORTCULLIS_TEST_REDIS_URL`), on the 3-master cluster
//! (`PORTCULLIS_TEST_REDIS_CLUSTER_URLS`) and over TLS (`PORTCULLIS_TEST_REDIS_TLS_URL`),
//! each run under its own key prefix.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Target;
use portcullis_ratelimit::{Quota, RateLimiter};
use portcullis_redis::{
    RedisApiKeyStore, RedisDpopReplayStore, RedisRateLimiter, RedisRefreshStore, RedisReplayGuard,
    RedisRevocationStore, RedisTicketStore, TimeSource,
};
use portcullis_testkit::ManualClock;
use portcullis_testkit::conformance::tokens::StoreSet;
use portcullis_testkit::conformance::{ratelimit, tokens, webhooks};

async fn token_stores_conform(target: Target, test: &str) {
    let Some(url) = target.url(test) else {
        return;
    };
    tokens::run_all(
        |clock| {
            let url = url.clone();
            async move {
                // Revocation retention is computed against the suite's clock.
                let b = target.backend(&url, "tokens", clock).await;
                StoreSet {
                    refresh: Arc::new(RedisRefreshStore::new(b.clone())),
                    revocation: Arc::new(RedisRevocationStore::new(b.clone())),
                    tickets: Arc::new(RedisTicketStore::new(b.clone())),
                    api_keys: Arc::new(RedisApiKeyStore::new(b.clone())),
                    dpop_replay: Arc::new(RedisDpopReplayStore::new(b)),
                }
            }
        },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

async fn replay_guard_conforms(target: Target, test: &str) {
    let Some(url) = target.url(test) else {
        return;
    };
    webhooks::run_all(
        |clock| {
            let url = url.clone();
            async move { RedisReplayGuard::new(target.backend(&url, "replay", clock).await) }
        },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

async fn rate_limiter_conforms(target: Target, test: &str) {
    let Some(url) = target.url(test) else {
        return;
    };
    ratelimit::run_all(
        |quota, clock| {
            let url = url.clone();
            async move {
                let b = target.backend(&url, "rl", clock).await;
                RedisRateLimiter::new(b, "conf", quota, TimeSource::Backend).unwrap()
            }
        },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

/// One test per suite and target: the single server, the cluster, TLS, the TLS cluster.
macro_rules! on_every_target {
    ($($suite:ident => $single:ident, $cluster:ident, $tls:ident, $cluster_tls:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $single() {
            $suite(Target::Single, stringify!($single)).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $cluster() {
            $suite(Target::Cluster, stringify!($cluster)).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $tls() {
            $suite(Target::Tls, stringify!($tls)).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $cluster_tls() {
            $suite(Target::ClusterTls, stringify!($cluster_tls)).await;
        }
    )*};
}

on_every_target! {
    token_stores_conform => token_stores_conform_single, token_stores_conform_cluster, token_stores_conform_tls, token_stores_conform_cluster_tls;
    replay_guard_conforms => replay_guard_conforms_single, replay_guard_conforms_cluster, replay_guard_conforms_tls, replay_guard_conforms_cluster_tls;
    rate_limiter_conforms => rate_limiter_conforms_single, rate_limiter_conforms_cluster, rate_limiter_conforms_tls, rate_limiter_conforms_cluster_tls;
}

/// With the server's clock, the same quota holds (timing-independent assertions only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiter_on_server_time() {
    let Some(url) = common::redis_url("rate_limiter_on_server_time") else {
        return;
    };
    let b = common::backend(&url, "rl-server", ManualClock::new()).await;
    let l = RedisRateLimiter::new(
        b,
        "auth",
        Quota::per_minute(10).unwrap(),
        TimeSource::Server,
    )
    .unwrap();
    for _ in 0..10 {
        assert!(l.check("ip:203.0.113.9", 1).await.unwrap().allowed);
    }
    let d = l.check("ip:203.0.113.9", 1).await.unwrap();
    assert!(!d.allowed);
    assert!(d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_secs(6));
    assert!(l.check("ip:203.0.113.10", 1).await.unwrap().allowed);
}
