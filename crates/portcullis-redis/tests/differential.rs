#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Differential tests: random operation sequences (seeded, so failures reproduce) give the
//! same answers from the Redis stores as from the in-memory reference implementations.

mod common;

use std::time::Duration;

use portcullis_core::{ActorId, SecureRandom, TenantId, UnixTime};
use portcullis_ratelimit::{MemoryRateLimiter, Quota, RateLimiter};
use portcullis_redis::{RedisRateLimiter, RedisRefreshStore, TimeSource};
use portcullis_testkit::{ManualClock, SeededRandom};
use portcullis_tokens::{
    FamilyId, MemoryRefreshStore, NewFamily, RefreshStore, RotateOutcome, RotateRequest, TokenHash,
    TokenRef,
};

fn next(rng: &SeededRandom, bound: u64) -> u64 {
    let mut b = [0u8; 8];
    rng.fill(&mut b).unwrap();
    u64::from_le_bytes(b) % bound
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcra_matches_governor() {
    let Some(url) = common::redis_url("gcra_matches_governor") else {
        return;
    };
    // 5 per 10 s: one cell every 2 s, burst 5.
    let quota = Quota::new(5, Duration::from_secs(10)).unwrap();
    for seed in 1..=4u64 {
        let clock = ManualClock::new();
        let memory = MemoryRateLimiter::with_capacity(quota, clock.provider(0), 1000);
        let b = common::backend(&url, "gcra-diff", clock.clone()).await;
        let redis = RedisRateLimiter::new(b, "diff", quota, TimeSource::Backend).unwrap();
        let rng = SeededRandom::new(seed);
        for step in 0..300 {
            match next(&rng, 4) {
                0 => clock.advance(Duration::from_millis(next(&rng, 12_000))),
                1 => clock.advance(Duration::from_millis(next(&rng, 3) * 1000)),
                _ => {}
            }
            let key = format!("k{}", next(&rng, 3));
            let cost = 1 + u32::try_from(next(&rng, 5)).unwrap();
            let m = memory.check(&key, cost).await.unwrap();
            let r = redis.check(&key, cost).await.unwrap();
            assert_eq!(r, m, "seed {seed} step {step}: key {key} cost {cost}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_state_machine_matches_memory() {
    let Some(url) = common::redis_url("refresh_state_machine_matches_memory") else {
        return;
    };
    let t: TenantId = "acme".parse().unwrap();
    let subject: ActorId = "zoe".parse().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=4u64 {
        let b = common::backend(&url, "rf-diff", ManualClock::new()).await;
        let redis = RedisRefreshStore::new(b);
        let memory = MemoryRefreshStore::new();
        let rng = SeededRandom::new(seed);
        let mut now = UnixTime::from_secs(1_700_000_000);
        let mut fam_no = 0u8;
        let mut family = FamilyId::from_bytes([0; 16]);
        // The reference model's current and previous tokens, so most requests present
        // something the store knows.
        let mut current = TokenRef {
            generation: 0,
            hash: TokenHash([0; 32]),
        };
        let mut previous: Option<(TokenRef, TokenHash)> = None;
        let mut fresh = true;
        for step in 0..400 {
            if fresh {
                fam_no = fam_no.wrapping_add(1);
                family = FamilyId::from_bytes([fam_no; 16]);
                current = TokenRef {
                    generation: 0,
                    hash: TokenHash([fam_no; 32]),
                };
                previous = None;
                let new = NewFamily {
                    family,
                    subject: subject.clone(),
                    created_at: now,
                    expires_at: now.saturating_add(Duration::from_secs(300)),
                    current,
                    idle_until: now.saturating_add(Duration::from_secs(60)),
                    max_sessions: 100,
                    label: None,
                };
                memory.create(&t, new.clone()).await.unwrap();
                redis.create(&t, new).await.unwrap();
                fresh = false;
            }
            let jump = if next(&rng, 12) == 0 { 70_000 } else { 7_000 };
            now = now.saturating_add(Duration::from_millis(next(&rng, jump)));
            let op = next(&rng, 30);
            if op == 0 {
                let m = memory.revoke_family(&t, &family, now).await.unwrap();
                let r = redis.revoke_family(&t, &family, now).await.unwrap();
                assert_eq!(r, m, "seed {seed} step {step}: revoke");
                continue;
            }
            if op <= 2 {
                let m = memory.family_status(&t, &family, now).await.unwrap();
                let r = redis.family_status(&t, &family, now).await.unwrap();
                assert_eq!(r, m, "seed {seed} step {step}: status");
                continue;
            }
            let pick = next(&rng, 10);
            let random_token = TokenRef {
                generation: u32::try_from(next(&rng, 3)).unwrap(),
                hash: TokenHash([u8::try_from(next(&rng, 3)).unwrap(); 32]),
            };
            let random_succ = TokenHash([50 + u8::try_from(next(&rng, 200)).unwrap(); 32]);
            let (presented, successor) = match (pick, previous) {
                (0..=5, _) => (current, random_succ),
                (6..=7, Some((p, s))) => (p, s),
                (8, Some((p, _))) => (p, random_succ),
                _ => (random_token, random_succ),
            };
            let req = RotateRequest {
                family,
                presented,
                successor,
                now,
                grace_until: now.saturating_add(Duration::from_secs(10)),
                idle_until: now.saturating_add(Duration::from_secs(60)),
            };
            let m = memory.rotate(&t, req).await.unwrap();
            let r = redis.rotate(&t, req).await.unwrap();
            assert_eq!(r, m, "seed {seed} step {step}: rotate {req:?}");
            seen.insert(
                format!("{m:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap()
                    .to_owned()
                    + if matches!(m, RotateOutcome::Rotated { replay: true, .. }) {
                        "+replay"
                    } else {
                        ""
                    },
            );
            match m {
                RotateOutcome::Rotated { replay: false, .. } => {
                    previous = Some((current, successor));
                    current = TokenRef {
                        generation: current.generation + 1,
                        hash: successor,
                    };
                }
                RotateOutcome::Rotated { replay: true, .. } => {}
                _ => fresh = true,
            }
        }
    }
    for kind in [
        "Rotated",
        "Rotated+replay",
        "ReuseDetected",
        "Expired",
        "Revoked",
    ] {
        assert!(
            seen.contains(kind),
            "outcome {kind} never exercised: {seen:?}"
        );
    }
}
