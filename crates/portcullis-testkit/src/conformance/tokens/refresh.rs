//! The [`RefreshStore`] through [`RefreshTokens`] (which computes hashes and successors),
//! so the steps exercise the refresh state machine exactly as production does: rotation,
//! grace and reuse detection, forged tokens, concurrent rotation, revocation racing
//! rotation, lifetimes, subject revocation, the per-subject session cap and duplicate
//! family ids.
//!
//! [`RefreshStore`]: portcullis_tokens::RefreshStore

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{BackendErrorKind, SecretArray, TenantId};
use portcullis_tokens::{FamilyStatus, IssuedRefresh, RefreshPolicy, RefreshTokens, TokenError};

use super::fixtures::{BoxFuture, GRACE, StoreSet, actor, refresh_service, tenant};
use crate::ManualClock;

fn token(issued: &IssuedRefresh) -> String {
    issued.token.expose_secret().to_owned()
}

async fn must_rotate(
    svc: &RefreshTokens,
    t: &TenantId,
    presented: &str,
    step: &str,
) -> IssuedRefresh {
    match svc.rotate(t, presented).await {
        Ok(next) => next,
        Err(e) => panic!("tokens conformance: {step}: rotate failed: {e}"),
    }
}

/// Rotation yields consecutive generations of one family, each token usable once.
pub async fn rotation_advances_generations(stores: &StoreSet) {
    let step = "rotation_advances_generations";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 1);
    let t = tenant("acme");
    let t0 = svc.issue(&t, &actor("alice")).await.unwrap();
    assert_eq!(t0.generation, 0, "{step}");
    clock.advance(Duration::from_secs(60));
    let t1 = must_rotate(&svc, &t, &token(&t0), step).await;
    assert_eq!(
        (t1.generation, t1.family, t1.replay),
        (1, t0.family, false),
        "{step}: t1"
    );
    assert_eq!(t1.subject, actor("alice"), "{step}: subject");
    assert_ne!(token(&t1), token(&t0), "{step}: successor differs");
    clock.advance(Duration::from_secs(60));
    let t2 = must_rotate(&svc, &t, &token(&t1), step).await;
    assert_eq!(t2.generation, 2, "{step}: t2");
    assert!(
        matches!(
            svc.status(&t, &t0.family).await.unwrap(),
            FamilyStatus::Active { .. }
        ),
        "{step}: family active"
    );
}

/// A rotated token replayed inside the grace window receives the same successor; outside
/// it, the family is revoked and the caller gets `ReuseDetected` with the family id.
pub async fn grace_then_reuse_revokes_family(stores: &StoreSet) {
    let step = "grace_then_reuse_revokes_family";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 2);
    let t = tenant("acme");
    let t0 = svc.issue(&t, &actor("alice")).await.unwrap();
    let t1 = must_rotate(&svc, &t, &token(&t0), step).await;
    clock.advance(GRACE - Duration::from_millis(1));
    let again = must_rotate(&svc, &t, &token(&t0), step).await;
    assert_eq!(
        token(&again),
        token(&t1),
        "{step}: same successor inside grace"
    );
    assert!(again.replay, "{step}: marked as replay");
    clock.advance(Duration::from_millis(1));
    match svc.rotate(&t, &token(&t0)).await {
        Err(TokenError::ReuseDetected { family, subject }) => {
            assert_eq!(family, t0.family, "{step}: family id reported");
            assert_eq!(subject, actor("alice"), "{step}: subject reported");
        }
        other => panic!("{step}: expected ReuseDetected, got {other:?}"),
    }
    match svc.rotate(&t, &token(&t1)).await {
        Err(TokenError::RefreshRevoked { family }) => assert_eq!(family, t0.family, "{step}"),
        other => panic!("{step}: successor must be dead, got {other:?}"),
    }
    assert_eq!(
        svc.status(&t, &t0.family).await.unwrap(),
        FamilyStatus::Revoked,
        "{step}"
    );
}

/// Two quick rotations (t0 → t1 → t2 inside t0's grace window), then t0 again: the
/// replay receives the current token t2 and the session lives on; once t0's own grace
/// window closed, the same replay is reuse. (Before issue 14 the replay revoked the
/// session.)
pub async fn replay_after_two_rotations_gets_the_current_token(stores: &StoreSet) {
    let step = "replay_after_two_rotations_gets_the_current_token";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 3);
    let t = tenant("acme");
    let t0 = svc.issue(&t, &actor("bob")).await.unwrap();
    let t1 = must_rotate(&svc, &t, &token(&t0), step).await;
    clock.advance(Duration::from_millis(300));
    let t2 = must_rotate(&svc, &t, &token(&t1), step).await;
    clock.advance(GRACE - Duration::from_millis(301));
    let again = must_rotate(&svc, &t, &token(&t0), step).await;
    assert!(again.replay, "{step}: a replay");
    assert_eq!(
        token(&again),
        token(&t2),
        "{step}: the current token, two generations on"
    );
    assert_eq!(again.generation, 2, "{step}");
    // t1 (rotated 300 ms after t0) is still inside its own window: also the current token.
    clock.advance(Duration::from_millis(1));
    let from_t1 = must_rotate(&svc, &t, &token(&t1), step).await;
    assert_eq!(token(&from_t1), token(&t2), "{step}: t1 inside its window");
    // t0's window has closed now: reuse, and the session ends.
    assert!(
        matches!(
            svc.rotate(&t, &token(&t0)).await,
            Err(TokenError::ReuseDetected { .. })
        ),
        "{step}: t0 after its own grace window"
    );
    assert!(
        matches!(
            svc.rotate(&t, &token(&t2)).await,
            Err(TokenError::RefreshRevoked { .. })
        ),
        "{step}: the session is revoked"
    );
}

/// More rotations inside one grace window than [`GRACE_CHAIN`] push the oldest token out:
/// its replay is reuse, while the newest ones still replay to the current token.
///
/// [`GRACE_CHAIN`]: portcullis_tokens::GRACE_CHAIN
pub async fn grace_chain_is_bounded(stores: &StoreSet) {
    let step = "grace_chain_is_bounded";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 5);
    let t = tenant("acme");
    let mut chain = vec![svc.issue(&t, &actor("bob")).await.unwrap()];
    for _ in 0..=portcullis_tokens::GRACE_CHAIN {
        let next = must_rotate(&svc, &t, &token(chain.last().unwrap()), step).await;
        chain.push(next);
    }
    let current = token(chain.last().unwrap());
    // chain[1] is the oldest token still remembered; chain[0] fell out.
    for old in &chain[1..chain.len() - 1] {
        let again = must_rotate(&svc, &t, &token(old), step).await;
        assert!(again.replay, "{step}");
        assert_eq!(
            token(&again),
            current,
            "{step}: generation {}",
            old.generation
        );
    }
    assert!(
        matches!(
            svc.rotate(&t, &token(&chain[0])).await,
            Err(TokenError::ReuseDetected { .. })
        ),
        "{step}: the token pushed out of the chain"
    );
}

/// Forged, tampered and cross-tenant tokens are invalid and revoke nothing.
pub async fn forged_and_foreign_tokens_change_nothing(stores: &StoreSet) {
    let step = "forged_and_foreign_tokens_change_nothing";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 4);
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let t0 = svc.issue(&a, &actor("carol")).await.unwrap();
    let text = token(&t0);
    assert!(
        matches!(svc.rotate(&b, &text).await, Err(TokenError::RefreshInvalid)),
        "{step}: foreign"
    );
    let mut tampered = text.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(
        matches!(
            svc.rotate(&a, &tampered).await,
            Err(TokenError::RefreshInvalid)
        ),
        "{step}: tag"
    );
    assert!(
        matches!(
            svc.rotate(&a, "prt_short").await,
            Err(TokenError::RefreshInvalid)
        ),
        "{step}"
    );
    let t1 = must_rotate(&svc, &a, &text, step).await;
    assert_eq!(t1.generation, 1, "{step}: family untouched");
}

/// 64 concurrent rotations of one token all receive the one successor; the family does
/// not fork and the successor rotates normally afterwards.
pub async fn concurrent_rotations_converge<S>(stores: &StoreSet, spawn: &S)
where
    S: Fn(BoxFuture<String>) -> BoxFuture<String>,
{
    let step = "concurrent_rotations_converge";
    let clock = ManualClock::new();
    let svc = Arc::new(refresh_service(stores.refresh.clone(), &clock, 5));
    let t = tenant("acme");
    for round in 0..4 {
        let t0 = svc.issue(&t, &actor("dave")).await.unwrap();
        let presented = token(&t0);
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let (svc, t, presented) = (svc.clone(), t.clone(), presented.clone());
                spawn(Box::pin(async move {
                    match svc.rotate(&t, &presented).await {
                        Ok(next) => token(&next),
                        Err(e) => format!("error: {e}"),
                    }
                }))
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await);
        }
        let first = results[0].clone();
        assert!(first.starts_with("prt_"), "{step}: round {round}: {first}");
        assert!(
            results.iter().all(|r| *r == first),
            "{step}: round {round}: forked: {results:?}"
        );
        let t2 = must_rotate(&svc, &t, &first, step).await;
        assert_eq!(t2.generation, 2, "{step}: round {round}");
    }
}

/// A rotation racing a revocation: afterwards the family is revoked and any successor
/// that was handed out is refused.
pub async fn rotate_racing_revoke_revoke_wins<S>(stores: &StoreSet, spawn: &S)
where
    S: Fn(BoxFuture<String>) -> BoxFuture<String>,
{
    let step = "rotate_racing_revoke_revoke_wins";
    let clock = ManualClock::new();
    let svc = Arc::new(refresh_service(stores.refresh.clone(), &clock, 6));
    let t = tenant("acme");
    for round in 0..16 {
        let t0 = svc.issue(&t, &actor("erin")).await.unwrap();
        let (s1, t1, p) = (svc.clone(), t.clone(), token(&t0));
        let rotate = spawn(Box::pin(async move {
            match s1.rotate(&t1, &p).await {
                Ok(next) => token(&next),
                Err(e) => format!("error: {e}"),
            }
        }));
        let (s2, t2, fam) = (svc.clone(), t.clone(), t0.family);
        let revoke = spawn(Box::pin(async move {
            s2.revoke_family(&t2, &fam).await.unwrap().to_string()
        }));
        let (rotated, _) = (rotate.await, revoke.await);
        assert_eq!(
            svc.status(&t, &t0.family).await.unwrap(),
            FamilyStatus::Revoked,
            "{step}: round {round}"
        );
        if rotated.starts_with("prt_") {
            assert!(
                matches!(
                    svc.rotate(&t, &rotated).await,
                    Err(TokenError::RefreshRevoked { .. })
                ),
                "{step}: round {round}: successor survived revocation"
            );
        } else {
            assert!(
                rotated.contains("revoked"),
                "{step}: round {round}: {rotated}"
            );
        }
    }
}

/// Idle and absolute lifetimes, driven by the manual clock.
pub async fn refresh_lifetimes_expire(stores: &StoreSet) {
    let step = "refresh_lifetimes_expire";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 7);
    let t = tenant("acme");
    // Idle: one hour without rotation.
    let idle = svc.issue(&t, &actor("frank")).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    assert!(
        matches!(
            svc.rotate(&t, &token(&idle)).await,
            Err(TokenError::RefreshExpired)
        ),
        "{step}: idle"
    );
    assert_eq!(
        svc.status(&t, &idle.family).await.unwrap(),
        FamilyStatus::Expired,
        "{step}"
    );
    // Absolute: rotating every 50 minutes still ends two hours after login.
    let mut cur = svc.issue(&t, &actor("frank")).await.unwrap();
    for _ in 0..2 {
        clock.advance(Duration::from_secs(50 * 60));
        cur = must_rotate(&svc, &t, &token(&cur), step).await;
    }
    clock.advance(Duration::from_secs(20 * 60));
    assert!(
        matches!(
            svc.rotate(&t, &token(&cur)).await,
            Err(TokenError::RefreshExpired)
        ),
        "{step}: absolute"
    );
}

/// Revoking a subject revokes all its families in that tenant only.
pub async fn revoke_subject_is_scoped(stores: &StoreSet) {
    let step = "revoke_subject_is_scoped";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 8);
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let g1 = svc.issue(&a, &actor("grace")).await.unwrap();
    let g2 = svc.issue(&a, &actor("grace")).await.unwrap();
    let other = svc.issue(&a, &actor("heidi")).await.unwrap();
    let elsewhere = svc.issue(&b, &actor("grace")).await.unwrap();
    assert_eq!(
        svc.revoke_subject(&a, &actor("grace")).await.unwrap(),
        2,
        "{step}"
    );
    assert_eq!(
        svc.revoke_subject(&a, &actor("grace")).await.unwrap(),
        0,
        "{step}: idempotent"
    );
    for g in [&g1, &g2] {
        assert!(
            matches!(
                svc.rotate(&a, &token(g)).await,
                Err(TokenError::RefreshRevoked { .. })
            ),
            "{step}"
        );
    }
    must_rotate(&svc, &a, &token(&other), step).await;
    must_rotate(&svc, &b, &token(&elsewhere), step).await;
    assert!(
        svc.revoke_family(&a, &other.family).await.unwrap(),
        "{step}: revoke family"
    );
    assert!(
        !svc.revoke_family(&a, &other.family).await.unwrap(),
        "{step}: already revoked"
    );
    assert!(
        !svc.revoke_family(&b, &other.family).await.unwrap(),
        "{step}: other tenant"
    );
}

/// A duplicate family id is a `Conflict` backend error.
pub async fn duplicate_family_conflicts(stores: &StoreSet) {
    let step = "duplicate_family_conflicts";
    let clock = ManualClock::new();
    // Two services with the same seed draw the same family id.
    let s1 = refresh_service(stores.refresh.clone(), &clock, 99);
    let s2 = refresh_service(stores.refresh.clone(), &clock, 99);
    let t = tenant("acme");
    s1.issue(&t, &actor("ivan")).await.unwrap();
    match s2.issue(&t, &actor("ivan")).await {
        Err(TokenError::Backend(e)) => assert_eq!(e.kind(), BackendErrorKind::Conflict, "{step}"),
        other => panic!("{step}: expected a conflict, got {other:?}"),
    }
}

/// The per-subject session cap: at the cap, a login revokes the subject's sessions that
/// end first (the oldest logins), never another subject's or another tenant's; after
/// the subject's logout, the cap is free again; a concurrent burst of logins never leaves
/// more live sessions than the cap.
pub async fn session_cap_evicts_the_oldest(stores: &StoreSet) {
    let step = "session_cap_evicts_the_oldest";
    let clock = ManualClock::new();
    let policy = RefreshPolicy {
        absolute: Duration::from_secs(2 * 3600),
        idle: Duration::from_secs(3600),
        grace: GRACE,
        max_sessions_per_subject: 3,
    };
    let svc = RefreshTokens::new(
        stores.refresh.clone(),
        SecretArray::new([7u8; 32]),
        policy,
        clock.provider(21),
    )
    .unwrap();
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let other = svc.issue(&a, &actor("heidi")).await.unwrap();
    let elsewhere = svc.issue(&b, &actor("ivan")).await.unwrap();
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(svc.issue(&a, &actor("ivan")).await.unwrap());
        clock.advance(Duration::from_secs(1));
    }
    let live: Vec<bool> = {
        let mut v = Vec::new();
        for s in &sessions {
            v.push(matches!(
                svc.status(&a, &s.family).await.unwrap(),
                FamilyStatus::Active { .. }
            ));
        }
        v
    };
    assert_eq!(
        live,
        [false, false, true, true, true],
        "{step}: oldest two evicted"
    );
    for (t, s) in [(&a, &other), (&b, &elsewhere)] {
        assert!(
            matches!(
                svc.status(t, &s.family).await.unwrap(),
                FamilyStatus::Active { .. }
            ),
            "{step}: other subjects and tenants untouched"
        );
    }
    // An evicted session's token is refused as revoked.
    assert!(
        matches!(
            svc.rotate(&a, &token(&sessions[0])).await,
            Err(TokenError::RefreshRevoked { .. })
        ),
        "{step}: evicted token refused"
    );
    // A rotated session keeps its place (eviction orders by absolute end).
    let rotated = must_rotate(&svc, &a, &token(&sessions[2]), step).await;
    assert_eq!(rotated.family, sessions[2].family);
    assert_eq!(
        svc.revoke_subject(&a, &actor("ivan")).await.unwrap(),
        3,
        "{step}"
    );
    let fresh = svc.issue(&a, &actor("ivan")).await.unwrap();
    assert!(
        matches!(
            svc.status(&a, &fresh.family).await.unwrap(),
            FamilyStatus::Active { .. }
        ),
        "{step}: cap free after logout"
    );
    // A burst of concurrent logins: never more than the cap live afterwards.
    let judy = actor("judy");
    let burst: Vec<_> = (0..12).map(|_| svc.issue(&a, &judy)).collect();
    let issued = futures::future::join_all(burst).await;
    let mut active = 0;
    for r in issued {
        let s = r.unwrap();
        if matches!(
            svc.status(&a, &s.family).await.unwrap(),
            FamilyStatus::Active { .. }
        ) {
            active += 1;
        }
    }
    assert_eq!(active, 3, "{step}: exactly the cap survives a burst");
    // Sessions that end exactly at the new login's time no longer count: nothing is
    // evicted (they read as expired, not revoked).
    let mia = actor("mia");
    let mut ending = Vec::new();
    for _ in 0..3 {
        ending.push(svc.issue(&a, &mia).await.unwrap());
    }
    clock.advance(Duration::from_secs(2 * 3600));
    svc.issue(&a, &mia).await.unwrap();
    for s in &ending {
        assert!(
            matches!(
                svc.status(&a, &s.family).await.unwrap(),
                FamilyStatus::Expired
            ),
            "{step}: an ended session is not evicted"
        );
    }
}

/// Tenant-wide logout: every session of the tenant created at or before the epoch is
/// revoked (rotation refused, status revoked) in one store operation; other tenants are
/// untouched; logins after the epoch work; a lower epoch never undoes a higher one; a
/// retention before the epoch is refused.
pub async fn revoke_tenant_ends_every_session(stores: &StoreSet) {
    let step = "revoke_tenant_ends_every_session";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 31);
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let before: Vec<IssuedRefresh> = vec![
        svc.issue(&a, &actor("kim")).await.unwrap(),
        svc.issue(&a, &actor("lee")).await.unwrap(),
    ];
    let rotated = must_rotate(&svc, &a, &token(&before[1]), step).await;
    let elsewhere = svc.issue(&b, &actor("kim")).await.unwrap();
    clock.advance(Duration::from_millis(5));
    let epoch = svc.revoke_tenant(&a).await.unwrap();
    for s in before.iter().chain([&rotated]) {
        assert!(
            matches!(
                svc.status(&a, &s.family).await.unwrap(),
                FamilyStatus::Revoked
            ),
            "{step}: status"
        );
    }
    for presented in [token(&before[0]), token(&rotated)] {
        assert!(
            matches!(
                svc.rotate(&a, &presented).await,
                Err(TokenError::RefreshRevoked { .. })
            ),
            "{step}: rotation refused"
        );
    }
    assert!(
        matches!(
            svc.status(&b, &elsewhere.family).await.unwrap(),
            FamilyStatus::Active { .. }
        ),
        "{step}: other tenant untouched"
    );
    must_rotate(&svc, &b, &token(&elsewhere), step).await;
    clock.advance(Duration::from_millis(5));
    let after = svc.issue(&a, &actor("kim")).await.unwrap();
    must_rotate(&svc, &a, &token(&after), step).await;
    // Monotonic: an older epoch does not lower it; a retention before it is refused.
    let store = stores.refresh.clone();
    let older = portcullis_core::UnixTime::from_millis(epoch.as_millis().saturating_sub(1000));
    store
        .revoke_tenant_before(&a, older, older.saturating_add(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(
        matches!(
            svc.status(&a, &before[0].family).await.unwrap(),
            FamilyStatus::Revoked
        ),
        "{step}: monotonic"
    );
    // A retention equal to the epoch is accepted.
    store.revoke_tenant_before(&b, older, older).await.unwrap();
    assert!(
        matches!(
            store.revoke_tenant_before(&a, epoch, older).await,
            Err(TokenError::RetentionBeforeEpoch)
        ),
        "{step}: retention before epoch"
    );
    assert!(
        matches!(
            svc.status(&a, &after.family).await.unwrap(),
            FamilyStatus::Active { .. }
        ),
        "{step}: refused call stored nothing"
    );
}

/// A subject's session list: live sessions only, oldest login first, with login time, last
/// rotation, end and label; revoking one of them (only the subject's own), and all but the
/// current one. (Issue 14: sessions.)
pub async fn sessions_are_listed_and_revoked_by_their_subject(stores: &StoreSet) {
    let step = "sessions_are_listed_and_revoked_by_their_subject";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 7);
    let t = tenant("acme");
    let (ann, bob) = (actor("ann"), actor("bob"));
    let start = portcullis_core::Clock::now(&clock);
    let laptop = svc
        .issue_labeled(&t, &ann, Some("Firefox on Linux"))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(10));
    let phone = svc.issue(&t, &ann).await.unwrap();
    clock.advance(Duration::from_secs(10));
    let tablet = svc.issue_labeled(&t, &ann, Some("Safari")).await.unwrap();
    let bobs = svc.issue(&t, &bob).await.unwrap();
    clock.advance(Duration::from_secs(5));
    let phone1 = must_rotate(&svc, &t, &token(&phone), step).await;
    let list = svc.sessions(&t, &ann).await.unwrap();
    let fams: Vec<_> = list.iter().map(|s| s.family).collect();
    assert_eq!(
        fams,
        [laptop.family, phone.family, tablet.family],
        "{step}: oldest first"
    );
    assert_eq!(list[0].label.as_deref(), Some("Firefox on Linux"), "{step}");
    assert_eq!(list[1].label, None, "{step}");
    assert_eq!(list[0].created_at, start, "{step}");
    assert_eq!(list[0].last_used, start, "{step}: never rotated");
    assert_eq!(
        list[1].last_used,
        start.saturating_add(Duration::from_secs(25)),
        "{step}: last rotation"
    );
    assert!(list[0].expires_at > list[0].created_at, "{step}");
    // Labels are bounded and printable.
    assert!(
        matches!(
            svc.issue_labeled(&t, &ann, Some("evil\r\nlabel")).await,
            Err(TokenError::InvalidConfig { .. })
        ),
        "{step}"
    );
    assert!(
        svc.issue_labeled(&t, &ann, Some(&"x".repeat(257)))
            .await
            .is_err(),
        "{step}"
    );
    // Bob cannot end Ann's session; Ann can.
    assert!(
        !svc.revoke_session(&t, &bob, &laptop.family).await.unwrap(),
        "{step}"
    );
    assert!(
        svc.revoke_session(&t, &ann, &laptop.family).await.unwrap(),
        "{step}"
    );
    assert!(
        !svc.revoke_session(&t, &ann, &laptop.family).await.unwrap(),
        "{step}: once"
    );
    assert_eq!(svc.sessions(&t, &ann).await.unwrap().len(), 2, "{step}");
    // "Log out my other devices" from the phone: the tablet ends, the phone lives on.
    assert_eq!(
        svc.revoke_other_sessions(&t, &token(&phone1))
            .await
            .unwrap(),
        1,
        "{step}"
    );
    let left = svc.sessions(&t, &ann).await.unwrap();
    assert_eq!(left.len(), 1, "{step}");
    assert_eq!(left[0].family, phone.family, "{step}");
    must_rotate(&svc, &t, &token(&phone1), step).await;
    assert!(
        matches!(
            svc.rotate(&t, &token(&tablet)).await,
            Err(TokenError::RefreshRevoked { .. })
        ),
        "{step}: the tablet's session ended"
    );
    assert_eq!(
        svc.sessions(&t, &bob).await.unwrap().len(),
        1,
        "{step}: Bob untouched"
    );
    let _ = bobs;
    // A revoked session's token cannot log the others out.
    assert!(
        matches!(
            svc.revoke_other_sessions(&t, &token(&laptop)).await,
            Err(TokenError::RefreshInvalid)
        ),
        "{step}"
    );
}
