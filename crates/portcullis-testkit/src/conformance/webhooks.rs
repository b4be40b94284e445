//! Conformance suite for [`ReplayGuard`] implementations (`portcullis-webhooks`).
//!
//! A backend's integration test calls [`run_all`] with a factory for fresh, empty guards
//! that read time from the given [`ManualClock`], and a `spawn` function that runs a future
//! on a real task of a multi-threaded runtime (for tokio:
//! `|f| Box::pin(async move { tokio::spawn(f).await.unwrap() })`).
//!
//! ```ignore
//! portcullis_testkit::conformance::webhooks::run_all(
//!     |clock| async move { MemoryReplayGuard::new(clock.provider(0)) },
//!     |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
//! ).await;
//! ```

// Test helpers report a failed expectation by panicking (see the module docs above).
#![allow(clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use portcullis_webhooks::{ReplayGuard, ReplayOutcome};

use crate::ManualClock;

/// A boxed, sendable future (what `spawn` receives and returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

const TTL: Duration = Duration::from_secs(600);

async fn check(
    guard: &dyn ReplayGuard,
    scope: &str,
    id: &str,
    ttl: Duration,
    step: &str,
) -> ReplayOutcome {
    match guard.check_and_insert(scope, id, ttl).await {
        Ok(o) => o,
        Err(e) => panic!("replay guard conformance: {step}: unexpected error: {e}"),
    }
}

/// The first sighting is `Fresh`, the second `Duplicate`, and a duplicate does not
/// extend the entry's life.
pub async fn fresh_then_duplicate(guard: &dyn ReplayGuard, clock: &ManualClock) {
    let step = "fresh_then_duplicate";
    assert_eq!(
        check(guard, "ep_1", "msg_1", TTL, step).await,
        ReplayOutcome::Fresh,
        "{step}: first"
    );
    assert_eq!(
        check(guard, "ep_1", "msg_1", TTL, step).await,
        ReplayOutcome::Duplicate,
        "{step}: second"
    );
    clock.advance(Duration::from_secs(599));
    assert_eq!(
        check(guard, "ep_1", "msg_1", TTL, step).await,
        ReplayOutcome::Duplicate,
        "{step}: still inside the ttl"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        check(guard, "ep_1", "msg_1", TTL, step).await,
        ReplayOutcome::Fresh,
        "{step}: a duplicate must not have extended the ttl"
    );
}

/// Scopes and ids are independent, including ids that differ only in case or contain
/// separators a naive key scheme would confuse.
pub async fn scopes_and_ids_are_independent(guard: &dyn ReplayGuard) {
    let step = "scopes_and_ids_are_independent";
    let pairs = [
        ("ep_1", "msg_1"),
        ("ep_2", "msg_1"),
        ("ep_1", "msg_2"),
        ("ep_1", "MSG_1"),
        ("ep_1:msg", "1"),
        ("ep_1", "msg:1"),
        ("ep", "1:msg_1"),
        ("ep_1", "msg.with.dots"),
        ("", "empty-scope"),
    ];
    for (scope, id) in pairs {
        assert_eq!(
            check(guard, scope, id, TTL, step).await,
            ReplayOutcome::Fresh,
            "{step}: {scope}/{id}"
        );
    }
    for (scope, id) in pairs {
        assert_eq!(
            check(guard, scope, id, TTL, step).await,
            ReplayOutcome::Duplicate,
            "{step}: {scope}/{id} again"
        );
    }
}

/// Entries expire exactly at their TTL, each with its own TTL.
pub async fn entries_expire(guard: &dyn ReplayGuard, clock: &ManualClock) {
    let step = "entries_expire";
    assert_eq!(
        check(guard, "s", "short", Duration::from_secs(10), step).await,
        ReplayOutcome::Fresh
    );
    assert_eq!(
        check(guard, "s", "long", Duration::from_secs(100), step).await,
        ReplayOutcome::Fresh
    );
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        check(guard, "s", "short", Duration::from_secs(10), step).await,
        ReplayOutcome::Duplicate,
        "{step}: 9 s"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        check(guard, "s", "short", Duration::from_secs(10), step).await,
        ReplayOutcome::Fresh,
        "{step}: 10 s"
    );
    assert_eq!(
        check(guard, "s", "long", Duration::from_secs(100), step).await,
        ReplayOutcome::Duplicate,
        "{step}: long lives on"
    );
}

/// Of many concurrent tasks inserting the same id, exactly one sees `Fresh`.
pub async fn concurrent_inserts_admit_one<S>(guard: Arc<dyn ReplayGuard>, spawn: &S)
where
    S: Fn(BoxFuture<ReplayOutcome>) -> BoxFuture<ReplayOutcome>,
{
    let step = "concurrent_inserts_admit_one";
    for round in 0..8 {
        let id = format!("race_{round}");
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let guard = Arc::clone(&guard);
                let id = id.clone();
                spawn(Box::pin(async move {
                    match guard.check_and_insert("race", &id, TTL).await {
                        Ok(o) => o,
                        Err(e) => panic!("replay guard conformance: {step}: {e}"),
                    }
                }))
            })
            .collect();
        let mut fresh = 0;
        for h in handles {
            if h.await == ReplayOutcome::Fresh {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1, "{step}: round {round}: {fresh} tasks saw Fresh");
    }
}

/// Runs every step, each on a fresh guard.
pub async fn run_all<F, Fut, G, S>(factory: F, spawn: S)
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = G>,
    G: ReplayGuard + 'static,
    S: Fn(BoxFuture<ReplayOutcome>) -> BoxFuture<ReplayOutcome>,
{
    let clock = ManualClock::new();
    fresh_then_duplicate(&factory(clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    scopes_and_ids_are_independent(&factory(clock).await).await;
    let clock = ManualClock::new();
    entries_expire(&factory(clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    concurrent_inserts_admit_one(Arc::new(factory(clock).await), &spawn).await;
}
