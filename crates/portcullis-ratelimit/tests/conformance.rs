#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The in-memory limiter passes the rate-limit conformance suite.

use portcullis_ratelimit::{MemoryRateLimiter, RateLimitError, RateLimiter};
use portcullis_testkit::ManualClock;
use portcullis_testkit::conformance::ratelimit::run_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_limiter_conforms() {
    run_all(
        |quota, clock| async move { MemoryRateLimiter::with_capacity(quota, clock.provider(0), 10_000) },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

#[tokio::test]
async fn full_key_map_fails_closed_until_keys_go_idle() {
    let clock = ManualClock::new();
    let quota = portcullis_ratelimit::presets::auth_per_ip();
    let l = MemoryRateLimiter::with_capacity(quota, clock.provider(0), 4);
    for i in 0..4 {
        assert!(l.check(&format!("ip{i}"), 1).await.unwrap().allowed);
    }
    assert!(matches!(
        l.check("ip-new", 1).await,
        Err(RateLimitError::Backend(_))
    ));
    // After the buckets refill, idle keys are dropped and new keys are served again.
    clock.advance(std::time::Duration::from_secs(60));
    assert!(l.check("ip-new", 1).await.unwrap().allowed);
    assert!(l.len() <= 4);
}
