//! The replay guard: the shared conformance suite on the in-memory guard, and
//! `Verifier::verify_once` producing a distinct `Duplicate`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{BackendError, Provider, UnixTime};
use portcullis_testkit::ManualClock;
use portcullis_webhooks::{
    GitHub, MemoryReplayGuard, ReplayGuard, ReplayOutcome, StandardWebhooks, Tolerance, Verifier,
    WebhookError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_guard_passes_the_conformance_suite() {
    portcullis_testkit::conformance::webhooks::run_all(
        |clock| async move { MemoryReplayGuard::new(Provider::with_clock(std::sync::Arc::new(clock))) },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_once_reports_duplicates_distinctly() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let guard = Arc::new(MemoryReplayGuard::new(Provider::with_clock(
        std::sync::Arc::new(clock.clone()),
    )));
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let v = Verifier::new(
        StandardWebhooks::new(),
        [secret],
        Provider::with_clock(std::sync::Arc::new(clock.clone())),
    )
    .unwrap();
    let ttl = Tolerance::default().replay_ttl();
    let h = common::sign("standard", secret, "msg_once", 1_700_000_000, b"{}");
    let ok = v
        .verify_once(&*guard, "endpoint-1", ttl, &&h, b"{}")
        .await
        .unwrap();
    assert_eq!(ok.replay_id(), "id:msg_once");
    let err = v
        .verify_once(&*guard, "endpoint-1", ttl, &&h, b"{}")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WebhookError::Duplicate(id, scope) if id == "id:msg_once" && scope == "endpoint-1"),
        "{err}"
    );
    // Another scope is independent.
    assert!(
        v.verify_once(&*guard, "endpoint-2", ttl, &&h, b"{}")
            .await
            .is_ok()
    );
    // A forged request is "no match", and is not recorded.
    let forged = common::sign(
        "standard",
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_forged",
        1_700_000_000,
        b"{}",
    );
    assert!(matches!(
        v.verify_once(&*guard, "endpoint-1", ttl, &&forged, b"{}")
            .await,
        Err(WebhookError::NoMatch { .. })
    ));
    assert_eq!(
        guard
            .check_and_insert("endpoint-1", "id:msg_forged", ttl)
            .await
            .unwrap(),
        ReplayOutcome::Fresh
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn github_redelivery_is_a_duplicate_and_concurrent_copies_admit_one() {
    let clock = ManualClock::new();
    let guard: Arc<dyn ReplayGuard> = Arc::new(MemoryReplayGuard::new(Provider::with_clock(
        std::sync::Arc::new(clock.clone()),
    )));
    let v = Arc::new(
        Verifier::new(
            GitHub::new(),
            ["It's a Secret to Everybody"],
            Provider::with_clock(std::sync::Arc::new(clock.clone())),
        )
        .unwrap(),
    );
    let h = Arc::new(common::sign(
        "github",
        "It's a Secret to Everybody",
        "",
        0,
        b"Hello, World!",
    ));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (v, guard, h) = (Arc::clone(&v), Arc::clone(&guard), Arc::clone(&h));
            tokio::spawn(async move {
                v.verify_once(
                    &*guard,
                    "gh",
                    Duration::from_secs(3600),
                    &&*h,
                    b"Hello, World!",
                )
                .await
            })
        })
        .collect();
    let mut fresh = 0;
    let mut dup = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => fresh += 1,
            Err(WebhookError::Duplicate(..)) => dup += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((fresh, dup), (1, 15));
    clock.advance(Duration::from_secs(3600));
    assert!(
        v.verify_once(
            &*guard,
            "gh",
            Duration::from_secs(3600),
            &&*h,
            b"Hello, World!"
        )
        .await
        .is_ok()
    );
}

#[derive(Debug)]
struct DownGuard;

#[async_trait::async_trait]
impl ReplayGuard for DownGuard {
    async fn check_and_insert(
        &self,
        _: &str,
        _: &str,
        _: Duration,
    ) -> Result<ReplayOutcome, WebhookError> {
        Err(BackendError::timeout("replay.check_and_insert").into())
    }
}

#[tokio::test]
async fn a_guard_that_cannot_answer_rejects() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let v = Verifier::new(
        StandardWebhooks::new(),
        [secret],
        Provider::with_clock(std::sync::Arc::new(clock)),
    )
    .unwrap();
    let h = common::sign("standard", secret, "msg_x", 1_700_000_000, b"{}");
    let err = v
        .verify_once(&DownGuard, "s", Duration::from_secs(600), &&h, b"{}")
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Backend(_)), "{err}");
}

#[tokio::test]
async fn memory_guard_capacity_fails_closed_and_sweeps() {
    let clock = ManualClock::new();
    let guard = MemoryReplayGuard::with_capacity(
        Provider::with_clock(std::sync::Arc::new(clock.clone())),
        3,
    );
    for id in ["a", "b", "c"] {
        assert_eq!(
            guard
                .check_and_insert("s", id, Duration::from_secs(10))
                .await
                .unwrap(),
            ReplayOutcome::Fresh
        );
    }
    assert!(matches!(
        guard
            .check_and_insert("s", "d", Duration::from_secs(10))
            .await,
        Err(WebhookError::Backend(_))
    ));
    assert_eq!(
        guard
            .check_and_insert("s", "a", Duration::from_secs(10))
            .await
            .unwrap(),
        ReplayOutcome::Duplicate
    );
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        guard
            .check_and_insert("s", "d", Duration::from_secs(10))
            .await
            .unwrap(),
        ReplayOutcome::Fresh
    );
    assert_eq!(guard.len(), 1);
}
