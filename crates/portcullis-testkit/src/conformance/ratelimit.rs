//! Conformance suite for [`RateLimiter`] implementations (`portcullis-ratelimit`).
//!
//! A backend's integration test calls [`run_all`] with a factory that builds a fresh
//! limiter (no state shared with earlier limiters) for a [`Quota`], reading time from the
//! given [`ManualClock`], and a `spawn` function that runs a future on a real task of a
//! multi-threaded runtime (for tokio:
//! `|f| Box::pin(async move { tokio::spawn(f).await.unwrap() })`).
//!
//! ```ignore
//! portcullis_testkit::conformance::ratelimit::run_all(
//!     |quota, clock| async move { MemoryRateLimiter::with_capacity(quota, clock.provider(0), 1000) },
//!     |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
//! ).await;
//! ```
//!
//! The expected numbers follow the GCRA rule documented on [`Quota`]: with 10 per minute
//! (one cell per 6 s, burst 10), ten requests pass at once, the eleventh waits exactly 6 s.

// Test helpers report a failed expectation by panicking (see the module docs above).
#![allow(clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use portcullis_ratelimit::{Quota, RateDecision, RateLimitError, RateLimiter};

use crate::ManualClock;

/// A boxed, sendable future (what `spawn` receives and returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn ten_per_minute() -> Quota {
    match Quota::per_minute(10) {
        Ok(q) => q,
        Err(e) => panic!("ratelimit conformance: quota: {e}"),
    }
}

async fn check(l: &dyn RateLimiter, key: &str, cost: u32, step: &str) -> RateDecision {
    match l.check(key, cost).await {
        Ok(d) => d,
        Err(e) => panic!("ratelimit conformance: {step}: unexpected error: {e}"),
    }
}

fn allowed(d: RateDecision, remaining: u32, step: &str) {
    assert!(d.allowed, "{step}: expected allowed, got {d:?}");
    assert_eq!(d.remaining, remaining, "{step}: remaining in {d:?}");
    assert_eq!(
        d.retry_after,
        Duration::ZERO,
        "{step}: retry_after in {d:?}"
    );
    assert_eq!(d.limit, 10, "{step}: limit in {d:?}");
}

fn denied(d: RateDecision, retry_after: Duration, step: &str) {
    assert!(!d.allowed, "{step}: expected denied, got {d:?}");
    assert_eq!(d.remaining, 0, "{step}: remaining in {d:?}");
    assert_eq!(d.retry_after, retry_after, "{step}: retry_after in {d:?}");
    assert_eq!(d.limit, 10, "{step}: limit in {d:?}");
}

/// A full bucket admits `burst` requests, then denies with the exact wait, and admits one
/// request per emission interval after that.
pub async fn burst_then_deny(l: &dyn RateLimiter, clock: &ManualClock) {
    let step = "burst_then_deny";
    assert_eq!(l.quota(), ten_per_minute(), "{step}: quota");
    for i in 0..10u32 {
        allowed(check(l, "k", 1, step).await, 9 - i, step);
    }
    denied(check(l, "k", 1, step).await, Duration::from_secs(6), step);
    clock.advance(Duration::from_millis(5_999));
    denied(check(l, "k", 1, step).await, Duration::from_millis(1), step);
    clock.advance(Duration::from_millis(1));
    allowed(check(l, "k", 1, step).await, 0, step);
    denied(check(l, "k", 1, step).await, Duration::from_secs(6), step);
}

/// Costs are weighted; a denied request takes nothing; zero and over-burst costs are
/// typed errors.
pub async fn cost_is_weighted(l: &dyn RateLimiter, clock: &ManualClock) {
    let step = "cost_is_weighted";
    allowed(check(l, "w", 4, step).await, 6, step);
    allowed(check(l, "w", 4, step).await, 2, step);
    denied(check(l, "w", 4, step).await, Duration::from_secs(12), step);
    allowed(check(l, "w", 2, step).await, 0, step);
    clock.advance(Duration::from_secs(12));
    allowed(check(l, "w", 2, step).await, 0, step);
    assert!(
        matches!(l.check("w", 0).await, Err(RateLimitError::ZeroCost)),
        "{step}: cost 0"
    );
    assert!(
        matches!(
            l.check("w2", 11).await,
            Err(RateLimitError::CostExceedsBurst {
                cost: 11,
                burst: 10
            })
        ),
        "{step}: cost above burst"
    );
    allowed(check(l, "w2", 10, step).await, 0, step);
}

/// Time refills the bucket, but never beyond the burst.
pub async fn refill_caps_at_burst(l: &dyn RateLimiter, clock: &ManualClock) {
    let step = "refill_caps_at_burst";
    for _ in 0..10 {
        assert!(check(l, "r", 1, step).await.allowed, "{step}: initial");
    }
    clock.advance(Duration::from_secs(30));
    let mut n = 0;
    while check(l, "r", 1, step).await.allowed {
        n += 1;
        assert!(n <= 10, "{step}: runaway");
    }
    assert_eq!(n, 5, "{step}: 30 s refill five cells");
    clock.advance(Duration::from_secs(3600));
    let mut n = 0;
    while check(l, "r", 1, step).await.allowed {
        n += 1;
        assert!(n <= 11, "{step}: runaway");
    }
    assert_eq!(n, 10, "{step}: an hour refills only up to the burst");
}

/// Keys are independent, including keys that a naive key scheme would confuse.
pub async fn keys_are_independent(l: &dyn RateLimiter) {
    let step = "keys_are_independent";
    let keys = [
        "a",
        "b",
        "A",
        "a:b",
        "a:",
        ":b",
        "",
        "{a}",
        "a}",
        "tenant:acme",
        "ip:203.0.113.7",
        "ip:2001:db8::1",
        "naïve",
    ];
    for key in keys {
        for i in 0..10u32 {
            allowed(check(l, key, 1, step).await, 9 - i, step);
        }
        assert!(
            !check(l, key, 1, step).await.allowed,
            "{step}: `{key}` exhausted"
        );
    }
}

/// Of many concurrent checks on one key with a frozen clock, exactly `burst` pass.
pub async fn concurrent_checks_respect_burst<S>(l: Arc<dyn RateLimiter>, spawn: &S)
where
    S: Fn(BoxFuture<bool>) -> BoxFuture<bool>,
{
    let step = "concurrent_checks_respect_burst";
    for round in 0..4 {
        let key = format!("race_{round}");
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let (l, key) = (Arc::clone(&l), key.clone());
                spawn(Box::pin(async move {
                    match l.check(&key, 1).await {
                        Ok(d) => d.allowed,
                        Err(e) => panic!("ratelimit conformance: {step}: {e}"),
                    }
                }))
            })
            .collect();
        let mut passed = 0;
        for h in handles {
            if h.await {
                passed += 1;
            }
        }
        assert_eq!(passed, 10, "{step}: round {round}: {passed} allowed");
    }
}

/// Runs every step, each on a fresh limiter with quota 10 per minute.
pub async fn run_all<F, Fut, L, S>(factory: F, spawn: S)
where
    F: Fn(Quota, ManualClock) -> Fut,
    Fut: Future<Output = L>,
    L: RateLimiter + 'static,
    S: Fn(BoxFuture<bool>) -> BoxFuture<bool>,
{
    let q = ten_per_minute();
    let clock = ManualClock::new();
    burst_then_deny(&factory(q, clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    cost_is_weighted(&factory(q, clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    refill_caps_at_burst(&factory(q, clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    keys_are_independent(&factory(q, clock).await).await;
    let clock = ManualClock::new();
    concurrent_checks_respect_burst(Arc::new(factory(q, clock).await), &spawn).await;
}
