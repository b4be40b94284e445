//! Conformance suite for the `portcullis-tokens` store traits: [`RefreshStore`],
//! [`RevocationStore`], [`TicketStore`] and [`ApiKeyStore`].
//!
//! A backend's integration test calls [`run_all`] with a factory for fresh, empty stores
//! reading time (where a store reads time itself: revocation retention) from the given
//! [`ManualClock`], and a `spawn` function that runs a future on a real task of a
//! multi-threaded runtime (for tokio:
//! `|f| Box::pin(async move { tokio::spawn(f).await.unwrap() })`). Other stores take time
//! as an argument, so the suite drives expiry with the same clock.
//!
//! ```ignore
//! portcullis_testkit::conformance::tokens::run_all(
//!     |clock| async move { StoreSet::memory(&clock.provider(0)) },
//!     |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
//! ).await;
//! ```
//!
//! The refresh steps go through [`RefreshTokens`] (which computes hashes and successors)
//! so they exercise the state machine exactly as production does.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{
    ActorId, BackendErrorKind, Clock, KeyId, Provider, SecretArray, SecretBytes, TenantId, UnixTime,
};
use portcullis_tokens::{
    ApiKeyRecord, ApiKeyStore, FamilyStatus, IssuedRefresh, MAX_API_KEYS_PER_OWNER,
    MemoryApiKeyStore, MemoryRefreshStore, MemoryRevocationStore, MemoryTicketStore, NoExtra,
    RefreshPolicy, RefreshStore, RefreshTokens, RevocationReason, RevocationStatus,
    RevocationStore, SigningKeys, TicketStore, TokenConfig, TokenError, TokenService, TokenStores,
};

use crate::ManualClock;

/// A boxed, sendable future (what `spawn` receives and returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One fresh, empty set of stores from the backend under test.
#[derive(Debug, Clone)]
pub struct StoreSet {
    /// Refresh families.
    pub refresh: Arc<dyn RefreshStore>,
    /// Revocations.
    pub revocation: Arc<dyn RevocationStore>,
    /// Redeemed tickets.
    pub tickets: Arc<dyn TicketStore>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyStore>,
}

impl StoreSet {
    /// The in-memory stores of `portcullis-tokens`, the revocation store reading time
    /// from `provider`.
    pub fn memory(provider: &Provider) -> Self {
        Self {
            refresh: Arc::new(MemoryRefreshStore::new()),
            revocation: Arc::new(MemoryRevocationStore::new(provider.clone())),
            tickets: Arc::new(MemoryTicketStore::new()),
            api_keys: Arc::new(MemoryApiKeyStore::new()),
        }
    }

    /// The stores a [`TokenService`] consults, from this set.
    pub fn token_stores(&self) -> TokenStores {
        TokenStores {
            revocation: self.revocation.clone(),
            sessions: self.refresh.clone(),
            tickets: self.tickets.clone(),
        }
    }
}

fn tenant(s: &str) -> TenantId {
    s.parse().unwrap()
}

fn actor(s: &str) -> ActorId {
    s.parse().unwrap()
}

const GRACE: Duration = Duration::from_secs(10);

fn refresh_service(store: Arc<dyn RefreshStore>, clock: &ManualClock, seed: u64) -> RefreshTokens {
    let policy = RefreshPolicy {
        absolute: Duration::from_secs(2 * 3600),
        idle: Duration::from_secs(3600),
        grace: GRACE,
    };
    RefreshTokens::new(
        store,
        SecretArray::new([7u8; 32]),
        policy,
        clock.provider(seed),
    )
    .unwrap()
}

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

/// Presenting an older generation (two rotations back) is reuse even inside the grace
/// window of the latest rotation.
pub async fn older_generation_is_reuse(stores: &StoreSet) {
    let step = "older_generation_is_reuse";
    let clock = ManualClock::new();
    let svc = refresh_service(stores.refresh.clone(), &clock, 3);
    let t = tenant("acme");
    let t0 = svc.issue(&t, &actor("bob")).await.unwrap();
    let t1 = must_rotate(&svc, &t, &token(&t0), step).await;
    let _t2 = must_rotate(&svc, &t, &token(&t1), step).await;
    assert!(
        matches!(
            svc.rotate(&t, &token(&t0)).await,
            Err(TokenError::ReuseDetected { .. })
        ),
        "{step}"
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

fn token_service(clock: &ManualClock, stores: &StoreSet) -> TokenService {
    let secret = SecretBytes::from_slice(&[3u8; 32]);
    let ring = SigningKeys::hs256((KeyId::new("hs-1").unwrap(), &secret), None).unwrap();
    TokenService::new(
        Arc::new(ring),
        TokenConfig::new("https://issuer.test", "api").unwrap(),
        stores.token_stores(),
        clock.provider(11),
    )
}

/// A ticket is redeemed once; a second redemption (sequential or concurrent) fails, and
/// an expired ticket is refused.
pub async fn tickets_are_single_use<S>(stores: &StoreSet, clock: &ManualClock, spawn: &S)
where
    S: Fn(BoxFuture<String>) -> BoxFuture<String>,
{
    let step = "tickets_are_single_use";
    let svc = Arc::new(token_service(clock, stores));
    let t = tenant("acme");
    let judy = actor("judy");
    let ticket = svc.issue_ticket(&t, &judy, "ws-upgrade").unwrap();
    let store = stores.tickets.clone();
    // Another subject, or another purpose, is refused and does not consume the ticket.
    assert!(
        matches!(
            svc.redeem_ticket(&ticket.token, "ws-upgrade", &actor("mallory"))
                .await,
            Err(TokenError::WrongSubject)
        ),
        "{step}: wrong subject"
    );
    assert!(
        matches!(
            svc.redeem_ticket(&ticket.token, "export", &judy).await,
            Err(TokenError::WrongScope { .. })
        ),
        "{step}: wrong purpose"
    );
    svc.redeem_ticket(&ticket.token, "ws-upgrade", &judy)
        .await
        .unwrap();
    assert!(
        matches!(
            svc.redeem_ticket(&ticket.token, "ws-upgrade", &judy).await,
            Err(TokenError::TicketAlreadyUsed)
        ),
        "{step}: second use"
    );
    // Double spend under concurrency.
    let ticket = svc.issue_ticket(&t, &judy, "ws-upgrade").unwrap();
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (svc, tok, judy) = (svc.clone(), ticket.token.clone(), judy.clone());
            spawn(Box::pin(async move {
                match svc.redeem_ticket(&tok, "ws-upgrade", &judy).await {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.to_string(),
                }
            }))
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        if h.await == "ok" {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "{step}: {ok} concurrent redemptions succeeded");
    // Same jti in another tenant is independent at the store level.
    let now = clock.now();
    let until = now.saturating_add(Duration::from_secs(60));
    assert!(
        store
            .consume(&tenant("t1"), "same-jti", until, now)
            .await
            .unwrap(),
        "{step}"
    );
    assert!(
        store
            .consume(&tenant("t2"), "same-jti", until, now)
            .await
            .unwrap(),
        "{step}"
    );
    assert!(
        !store
            .consume(&tenant("t1"), "same-jti", until, now)
            .await
            .unwrap(),
        "{step}"
    );
    // A logout covers tickets issued before it, and the refused ticket stays unused.
    let ticket = svc.issue_ticket(&t, &judy, "ws-upgrade").unwrap();
    svc.revoke_subject(&t, &judy).await.unwrap();
    assert!(
        matches!(
            svc.redeem_ticket(&ticket.token, "ws-upgrade", &judy).await,
            Err(TokenError::Revoked {
                reason: RevocationReason::SubjectEpoch
            })
        ),
        "{step}: ticket issued before a logout"
    );
    let claims_jti = ticket.jti.clone();
    let later = clock.now().saturating_add(Duration::from_secs(60));
    assert!(
        store
            .consume(&t, &claims_jti, later, clock.now())
            .await
            .unwrap(),
        "{step}: a refused ticket must not be consumed"
    );
    // Expiry (a fresh subject, so the logout above does not decide it).
    clock.advance(Duration::from_secs(2));
    let ticket = svc.issue_ticket(&t, &actor("kai"), "ws-upgrade").unwrap();
    clock.advance(Duration::from_secs(30 + 30));
    assert!(
        matches!(
            svc.redeem_ticket(&ticket.token, "ws-upgrade", &actor("kai"))
                .await,
            Err(TokenError::Expired)
        ),
        "{step}: expired ticket"
    );
}

/// Retention of revocations, identical for every backend: a `keep_until` before its
/// epoch is refused with nothing written; an entry lives until `keep_until` measured
/// from the store's clock at write time and at least one second (real time, since Redis
/// expires keys on its own clock), then revokes nothing.
pub async fn revocation_retention(stores: &StoreSet, clock: &ManualClock) {
    let step = "revocation_retention";
    let r = &*stores.revocation;
    let t = tenant("retention");
    let (alice, bob) = (actor("alice"), actor("bob"));
    let now = clock.now();
    let before = UnixTime::from_millis(now.as_millis() - 1);
    let not = RevocationStatus::NotRevoked;
    assert!(
        matches!(
            r.revoke_subject_before(&t, &alice, now, before).await,
            Err(TokenError::RetentionBeforeEpoch)
        ),
        "{step}: subject keep_until < at"
    );
    assert!(
        matches!(
            r.revoke_tenant_before(&t, now, before).await,
            Err(TokenError::RetentionBeforeEpoch)
        ),
        "{step}: tenant keep_until < at"
    );
    assert_eq!(
        r.check(&t, &alice, "j", before).await.unwrap(),
        not,
        "{step}: a refused revocation writes nothing"
    );
    // keep_until == at: the shortest retention, one second.
    r.revoke_subject_before(&t, &alice, now, now).await.unwrap();
    r.revoke_jti(&t, "short", now).await.unwrap();
    // keep_until an hour away.
    let hour = now.saturating_add(Duration::from_secs(3600));
    r.revoke_subject_before(&t, &bob, now, hour).await.unwrap();
    let revoked_sub = RevocationStatus::Revoked(RevocationReason::SubjectEpoch);
    assert_eq!(
        r.check(&t, &alice, "j", now).await.unwrap(),
        revoked_sub,
        "{step}"
    );
    assert_eq!(
        r.check(&t, &bob, "short", hour).await.unwrap(),
        RevocationStatus::Revoked(RevocationReason::TokenRevoked),
        "{step}: jti"
    );
    // 1.3 s later, on the store's clock and in real time, the short entries are gone.
    clock.advance(Duration::from_millis(1300));
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(
        r.check(&t, &alice, "j", now).await.unwrap(),
        not,
        "{step}: one-second retention ended"
    );
    assert_eq!(
        r.check(&t, &actor("carol"), "short", now).await.unwrap(),
        not,
        "{step}: jti retention ended"
    );
    assert_eq!(
        r.check(&t, &bob, "j", now).await.unwrap(),
        revoked_sub,
        "{step}: an hour's retention still holds"
    );
}

/// A logout through [`TokenService::revoke_subject`] outlasts every token issued before
/// it: a token issued just before the logout is refused until it has expired (here, one
/// second before its expiry), whatever the store.
pub async fn logout_outlasts_every_token(stores: &StoreSet, clock: &ManualClock) {
    let step = "logout_outlasts_every_token";
    let svc = token_service(clock, stores);
    let t = tenant("logout");
    let (erin, frank) = (actor("erin"), actor("frank"));
    let token = svc.issue_access(&t, &erin, None, &NoExtra {}).unwrap();
    svc.verify_access::<NoExtra>(&token.token).await.unwrap();
    let at = svc.revoke_subject(&t, &erin).await.unwrap();
    assert_eq!(at, clock.now(), "{step}: epoch is now");
    let other = svc.issue_access(&t, &frank, None, &NoExtra {}).unwrap();
    // Just before the token's own expiry (access lifetime 1 h).
    clock.advance(Duration::from_secs(3599));
    assert!(
        matches!(
            svc.verify_access::<NoExtra>(&token.token).await,
            Err(TokenError::Revoked {
                reason: RevocationReason::SubjectEpoch
            })
        ),
        "{step}: a token from before the logout stays refused"
    );
    svc.verify_access::<NoExtra>(&other.token).await.unwrap();
    // A token issued after the logout (a later second) verifies.
    clock.advance(Duration::from_secs(1));
    let fresh = svc.issue_access(&t, &erin, None, &NoExtra {}).unwrap();
    svc.verify_access::<NoExtra>(&fresh.token).await.unwrap();
    // Tenant-wide logout.
    svc.revoke_tenant(&t).await.unwrap();
    assert!(
        matches!(
            svc.verify_access::<NoExtra>(&fresh.token).await,
            Err(TokenError::Revoked {
                reason: RevocationReason::TenantEpoch
            })
        ),
        "{step}: tenant logout"
    );
}

/// A token naming a session verifies only while the session is live and belongs to its
/// subject; revoking the session (logout of one device) refuses its tokens at once.
pub async fn access_token_follows_its_session(stores: &StoreSet, clock: &ManualClock) {
    let step = "access_token_follows_its_session";
    let svc = token_service(clock, stores);
    let refresh = refresh_service(stores.refresh.clone(), clock, 21);
    let t = tenant("sessions");
    let gus = actor("gus");
    let session = refresh.issue(&t, &gus).await.unwrap();
    let token = svc
        .issue_access(&t, &gus, Some(&session.family), &NoExtra {})
        .unwrap();
    let verified = svc.verify_access::<NoExtra>(&token.token).await.unwrap();
    assert_eq!(
        verified.claims.sid.as_ref(),
        Some(&session.family),
        "{step}"
    );
    // Another subject's token naming this session is refused.
    let forged = svc
        .issue_access(&t, &actor("hal"), Some(&session.family), &NoExtra {})
        .unwrap();
    assert!(
        matches!(
            svc.verify_access::<NoExtra>(&forged.token).await,
            Err(TokenError::Revoked {
                reason: RevocationReason::SessionEnded
            })
        ),
        "{step}: session of another subject"
    );
    refresh.revoke_family(&t, &session.family).await.unwrap();
    assert!(
        matches!(
            svc.verify_access::<NoExtra>(&token.token).await,
            Err(TokenError::Revoked {
                reason: RevocationReason::SessionEnded
            })
        ),
        "{step}: session revoked"
    );
}

/// The deny-list and both epochs, with tenant isolation and monotonic epochs.
pub async fn revocation_rules(stores: &StoreSet) {
    let step = "revocation_rules";
    let r = &*stores.revocation;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let alice = actor("alice");
    let t0 = UnixTime::from_secs(1_700_000_000);
    let later = t0.saturating_add(Duration::from_secs(3600));
    let not = RevocationStatus::NotRevoked;
    assert_eq!(
        r.check(&a, &alice, "j1", t0).await.unwrap(),
        not,
        "{step}: empty"
    );
    r.revoke_jti(&a, "j1", later).await.unwrap();
    assert_eq!(
        r.check(&a, &alice, "j1", t0).await.unwrap(),
        RevocationStatus::Revoked(RevocationReason::TokenRevoked),
        "{step}: jti"
    );
    assert_eq!(
        r.check(&b, &alice, "j1", t0).await.unwrap(),
        not,
        "{step}: jti other tenant"
    );
    let epoch = t0.saturating_add(Duration::from_secs(10));
    r.revoke_subject_before(&a, &alice, epoch, later)
        .await
        .unwrap();
    assert_eq!(
        r.check(&a, &alice, "j2", epoch).await.unwrap(),
        RevocationStatus::Revoked(RevocationReason::SubjectEpoch),
        "{step}: at the epoch is revoked"
    );
    let after = epoch.saturating_add(Duration::from_secs(1));
    assert_eq!(
        r.check(&a, &alice, "j2", after).await.unwrap(),
        not,
        "{step}: after epoch"
    );
    assert_eq!(
        r.check(&a, &actor("bob"), "j2", t0).await.unwrap(),
        not,
        "{step}: other subject"
    );
    // Epochs never move backwards.
    r.revoke_subject_before(&a, &alice, t0, later)
        .await
        .unwrap();
    assert_eq!(
        r.check(&a, &alice, "j3", epoch).await.unwrap(),
        RevocationStatus::Revoked(RevocationReason::SubjectEpoch),
        "{step}: monotonic"
    );
    r.revoke_tenant_before(&b, epoch, later).await.unwrap();
    assert_eq!(
        r.check(&b, &actor("zed"), "j4", t0).await.unwrap(),
        RevocationStatus::Revoked(RevocationReason::TenantEpoch),
        "{step}: tenant epoch"
    );
    assert_eq!(
        r.check(&b, &actor("zed"), "j4", after).await.unwrap(),
        not,
        "{step}"
    );
    assert_eq!(
        r.check(&a, &actor("zed"), "j4", t0).await.unwrap(),
        not,
        "{step}: tenant isolation"
    );
}

fn record(tenant_id: &TenantId, id: &str, owner: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        tenant: tenant_id.clone(),
        id: id.to_owned(),
        owner: actor(owner),
        name: "ci".to_owned(),
        scopes: vec!["runs:read".to_owned()],
        hash: [9u8; 32],
        created_at: UnixTime::from_secs(1_700_000_000),
        expires_at: None,
        revoked_at: None,
    }
}

/// Insert, conflict, get, revoke and list, per tenant.
pub async fn api_key_records(stores: &StoreSet) {
    let step = "api_key_records";
    let s = &*stores.api_keys;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    s.insert(record(&a, "id0000000000000a", "kim"))
        .await
        .unwrap();
    s.insert(record(&b, "id0000000000000a", "kim"))
        .await
        .unwrap();
    match s.insert(record(&a, "id0000000000000a", "lee")).await {
        Err(TokenError::Backend(e)) => assert_eq!(e.kind(), BackendErrorKind::Conflict, "{step}"),
        other => panic!("{step}: expected a conflict, got {other:?}"),
    }
    let got = s.get(&a, "id0000000000000a").await.unwrap().unwrap();
    assert_eq!(
        got,
        record(&a, "id0000000000000a", "kim"),
        "{step}: round trip"
    );
    assert!(s.get(&a, "missing").await.unwrap().is_none(), "{step}");
    let now = UnixTime::from_secs(1_700_000_100);
    assert!(
        s.revoke(&a, "id0000000000000a", now).await.unwrap(),
        "{step}"
    );
    assert!(!s.revoke(&a, "missing", now).await.unwrap(), "{step}");
    let revoked = s.get(&a, "id0000000000000a").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(now), "{step}: revoked_at");
    assert!(
        s.get(&b, "id0000000000000a")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none(),
        "{step}: other tenant"
    );
    s.insert(record(&a, "id0000000000000b", "kim"))
        .await
        .unwrap();
    let listed = s.list(&a, &actor("kim")).await.unwrap();
    assert_eq!(listed.len(), 2, "{step}: list");
}

/// Each owner may hold at most [`MAX_API_KEYS_PER_OWNER`] records per tenant, revoked ones
/// included: the next insert is refused with [`TokenError::TooManyApiKeys`] and writes
/// nothing, while other owners and the same owner in another tenant are unaffected.
pub async fn api_key_owner_cap(stores: &StoreSet) {
    let step = "api_key_owner_cap";
    let s = &*stores.api_keys;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let now = UnixTime::from_secs(1_700_000_100);
    for i in 0..MAX_API_KEYS_PER_OWNER {
        s.insert(record(&a, &format!("cap{i:013}"), "kim"))
            .await
            .unwrap();
    }
    // Revoking does not free a slot: revoked keys stay listed.
    assert!(
        s.revoke(&a, "cap0000000000000", now).await.unwrap(),
        "{step}"
    );
    match s.insert(record(&a, "capover000000000", "kim")).await {
        Err(TokenError::TooManyApiKeys { owner, max }) => {
            assert_eq!(owner, actor("kim"), "{step}");
            assert_eq!(max, MAX_API_KEYS_PER_OWNER, "{step}");
        }
        other => panic!("{step}: expected TooManyApiKeys, got {other:?}"),
    }
    assert!(
        s.get(&a, "capover000000000").await.unwrap().is_none(),
        "{step}: nothing written"
    );
    assert_eq!(
        s.list(&a, &actor("kim")).await.unwrap().len(),
        MAX_API_KEYS_PER_OWNER,
        "{step}: list bounded"
    );
    s.insert(record(&a, "capother00000000", "lee"))
        .await
        .unwrap();
    s.insert(record(&b, "capover000000000", "kim"))
        .await
        .unwrap();
}

/// Runs every step, each on fresh stores.
pub async fn run_all<F, Fut, S>(factory: F, spawn: S)
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = StoreSet>,
    S: Fn(BoxFuture<String>) -> BoxFuture<String>,
{
    rotation_advances_generations(&factory(ManualClock::new()).await).await;
    grace_then_reuse_revokes_family(&factory(ManualClock::new()).await).await;
    older_generation_is_reuse(&factory(ManualClock::new()).await).await;
    forged_and_foreign_tokens_change_nothing(&factory(ManualClock::new()).await).await;
    concurrent_rotations_converge(&factory(ManualClock::new()).await, &spawn).await;
    rotate_racing_revoke_revoke_wins(&factory(ManualClock::new()).await, &spawn).await;
    refresh_lifetimes_expire(&factory(ManualClock::new()).await).await;
    revoke_subject_is_scoped(&factory(ManualClock::new()).await).await;
    duplicate_family_conflicts(&factory(ManualClock::new()).await).await;
    let clock = ManualClock::new();
    tickets_are_single_use(&factory(clock.clone()).await, &clock, &spawn).await;
    revocation_rules(&factory(ManualClock::new()).await).await;
    let clock = ManualClock::new();
    revocation_retention(&factory(clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    logout_outlasts_every_token(&factory(clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    access_token_follows_its_session(&factory(clock.clone()).await, &clock).await;
    api_key_records(&factory(ManualClock::new()).await).await;
    api_key_owner_cap(&factory(ManualClock::new()).await).await;
}
