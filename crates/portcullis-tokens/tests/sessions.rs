#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Scoped tokens, tickets, API keys, cookies and fail-closed behaviour on store errors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use portcullis_core::{ActorId, BackendError, SecretArray, TenantId, UnixTime};
use portcullis_testkit::ManualClock;
use portcullis_tokens::api_key_format as api_format;
use portcullis_tokens::{
    Algorithm, ApiKeyRecord, ApiKeyStore, ApiKeys, CookiePolicy, Environment, FamilyId,
    FamilyStatus, MemoryApiKeyStore, MemoryRefreshStore, NewFamily, NoExtra, RefreshPolicy,
    RefreshStore, RefreshTokens, RevocationReason, RevocationStatus, RevocationStore,
    RotateOutcome, RotateRequest, TicketStore, TokenError, TokenStores,
};
use serde::{Deserialize, Serialize};

fn refresh(store: Arc<dyn RefreshStore>, clock: &ManualClock) -> RefreshTokens {
    RefreshTokens::new(
        store,
        SecretArray::new([5u8; 32]),
        RefreshPolicy::default(),
        clock.provider(3),
    )
    .unwrap()
}

#[tokio::test]
async fn scoped_tokens_follow_their_parent_session() {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::EdDsa), &clock);
    let sessions = svc.stores().sessions.clone();
    let rt = refresh(sessions.clone(), &clock);
    let login = rt.issue(&tenant(), &alice()).await.unwrap();
    let access = svc
        .issue_access(&tenant(), &alice(), Some(&login.family), &NoExtra {})
        .unwrap();
    let parent = verify::<NoExtra>(&svc, &access.token).unwrap();
    assert_eq!(parent.claims.sid, Some(login.family));
    let scoped = svc.issue_scoped(&parent, "run:42", "viewer", None).unwrap();
    let v = svc.verify_scoped(&scoped.token, "run:42").await.unwrap();
    assert_eq!(
        (v.claims.res.as_deref(), v.claims.role.as_deref()),
        (Some("run:42"), Some("viewer"))
    );
    assert!(scoped.expires_at <= access.expires_at);
    // Bound to one resource, and not an access token.
    assert!(matches!(
        svc.verify_scoped(&scoped.token, "run:43").await,
        Err(TokenError::WrongScope { .. })
    ));
    assert!(matches!(
        verify::<NoExtra>(&svc, &scoped.token),
        Err(TokenError::WrongType { .. })
    ));
    // A scoped token cannot parent another scoped token, and sessionless access cannot either.
    let as_parent = portcullis_tokens::danger::verify_signature_and_claims_only::<NoExtra>(
        &svc,
        &scoped.token,
        portcullis_tokens::TokenType::Scoped,
    )
    .unwrap();
    assert!(matches!(
        svc.issue_scoped(&as_parent, "run:42", "viewer", None),
        Err(TokenError::WrongType { .. })
    ));
    let bare = verify::<NoExtra>(
        &svc,
        &svc.issue_access(&tenant(), &alice(), None, &NoExtra {})
            .unwrap()
            .token,
    )
    .unwrap();
    assert!(matches!(
        svc.issue_scoped(&bare, "run:42", "viewer", None),
        Err(TokenError::NoParentSession)
    ));
    // Revoking the parent session revokes the scoped token at once.
    rt.revoke_family(&tenant(), &login.family).await.unwrap();
    assert!(matches!(
        svc.verify_scoped(&scoped.token, "run:42").await,
        Err(TokenError::Revoked {
            reason: RevocationReason::SessionEnded
        })
    ));
}

#[tokio::test]
async fn scoped_token_dies_with_reuse_detection() {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::Es256), &clock);
    let sessions = svc.stores().sessions.clone();
    let rt = refresh(sessions.clone(), &clock);
    let login = rt.issue(&tenant(), &alice()).await.unwrap();
    let access = svc
        .issue_access(&tenant(), &alice(), Some(&login.family), &NoExtra {})
        .unwrap();
    let parent = verify::<NoExtra>(&svc, &access.token).unwrap();
    let scoped = svc
        .issue_scoped(&parent, "run:1", "editor", Some(Duration::from_secs(60)))
        .unwrap();
    rt.rotate(&tenant(), login.token.expose_secret())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(11));
    assert!(matches!(
        rt.rotate(&tenant(), login.token.expose_secret()).await,
        Err(TokenError::ReuseDetected { family, .. }) if family == login.family
    ));
    assert!(matches!(
        svc.verify_scoped(&scoped.token, "run:1").await,
        Err(TokenError::Revoked {
            reason: RevocationReason::SessionEnded
        })
    ));
}

#[tokio::test]
async fn tickets_are_bound_to_purpose() {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::Hs256), &clock);
    let t = svc.issue_ticket(&tenant(), &alice(), "ws-upgrade").unwrap();
    assert_eq!(t.expires_at, clock.now_secs_plus(30));
    assert!(matches!(
        svc.redeem_ticket(&t.token, "download", &alice()).await,
        Err(TokenError::WrongScope { .. })
    ));
    let v = svc
        .redeem_ticket(&t.token, "ws-upgrade", &alice())
        .await
        .unwrap();
    assert_eq!(v.claims.sub, alice());
    // An access token is not a ticket.
    let a = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    assert!(matches!(
        svc.redeem_ticket(&a.token, "ws-upgrade", &alice()).await,
        Err(TokenError::WrongType { .. })
    ));
}

trait NowPlus {
    fn now_secs_plus(&self, secs: u64) -> UnixTime;
}

impl NowPlus for ManualClock {
    fn now_secs_plus(&self, secs: u64) -> UnixTime {
        UnixTime::from_secs(portcullis_core::Clock::now(self).as_secs() + secs)
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Extra {
    plan: String,
    seats: u32,
}

#[test]
fn extra_claims_round_trip_and_cannot_shadow_registered_ones() {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::Hs256), &clock);
    let extra = Extra {
        plan: "pro".into(),
        seats: 5,
    };
    let t = svc.issue_access(&tenant(), &alice(), None, &extra).unwrap();
    assert_eq!(verify::<Extra>(&svc, &t.token).unwrap().claims.extra, extra);
    #[derive(Serialize)]
    struct Evil {
        sub: String,
    }
    assert!(matches!(
        svc.issue_access(&tenant(), &alice(), None, &Evil { sub: "root".into() }),
        Err(TokenError::InvalidConfig { .. })
    ));
    assert!(matches!(
        svc.issue_access(&tenant(), &alice(), None, &5u32),
        Err(TokenError::InvalidConfig { .. })
    ));
}

/// Counts lookups so the test can prove a typo never reaches the store.
#[derive(Debug, Default)]
struct CountingKeys {
    inner: MemoryApiKeyStore,
    gets: AtomicUsize,
}

#[async_trait::async_trait]
impl ApiKeyStore for CountingKeys {
    async fn insert(&self, record: ApiKeyRecord) -> Result<(), TokenError> {
        self.inner.insert(record).await
    }
    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<ApiKeyRecord>, TokenError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(tenant, id).await
    }
    async fn revoke(&self, tenant: &TenantId, id: &str, now: UnixTime) -> Result<bool, TokenError> {
        self.inner.revoke(tenant, id, now).await
    }
    async fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, TokenError> {
        self.inner.delete(tenant, id).await
    }
    async fn purge(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
        now: UnixTime,
    ) -> Result<u64, TokenError> {
        self.inner.purge(tenant, owner, now).await
    }
    async fn list(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
    ) -> Result<Vec<ApiKeyRecord>, TokenError> {
        self.inner.list(tenant, owner).await
    }
}

#[tokio::test]
async fn api_keys_lifecycle() {
    let clock = ManualClock::new();
    let store = Arc::new(CountingKeys::default());
    let keys = ApiKeys::new(store.clone(), "pc", clock.provider(9)).unwrap();
    let created = keys
        .create(
            &tenant(),
            &alice(),
            "ci",
            &["runs:read", "runs:write"],
            Some(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let text = created.key.expose_secret().to_owned();
    assert!(text.starts_with("pc_") && text.len() == 3 + 54, "{text}");
    assert!(
        !format!("{created:?}").contains(&text[3..]),
        "the key never prints"
    );
    let stored = store
        .inner
        .get(&tenant(), &created.record.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.hash, [0u8; 32]);
    assert!(!format!("{stored:?}").contains(&text[3..]));
    let record = keys.verify(&tenant(), &text).await.unwrap();
    assert_eq!(
        record.scopes,
        vec!["runs:read".to_owned(), "runs:write".to_owned()]
    );
    assert_eq!(record.owner, alice());
    // A typo is caught by the checksum before any lookup.
    let before = store.gets.load(Ordering::SeqCst);
    let mut typo = text.clone().into_bytes();
    typo[10] = if typo[10] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    assert!(matches!(
        keys.verify(&tenant(), &typo).await,
        Err(TokenError::ApiKeyChecksum)
    ));
    assert!(matches!(
        keys.verify(&tenant(), "pc_short").await,
        Err(TokenError::ApiKeyMalformed { .. })
    ));
    assert!(matches!(
        keys.verify(&tenant(), &text.replacen("pc_", "zz_", 1))
            .await,
        Err(TokenError::ApiKeyMalformed { .. })
    ));
    assert_eq!(
        store.gets.load(Ordering::SeqCst),
        before,
        "no store lookup for bad keys"
    );
    // A forged secret with a recomputed checksum reaches the store and fails opaquely.
    let head = format!("{}{}", &text[..3 + 16], "A".repeat(32));
    let forged = format!(
        "{head}{}",
        std::str::from_utf8(&api_format::checksum(&head)).unwrap()
    );
    assert!(matches!(
        keys.verify(&tenant(), &forged).await,
        Err(TokenError::ApiKeyInvalid)
    ));
    // Another tenant does not know the key.
    let other: TenantId = "other".parse().unwrap();
    assert!(matches!(
        keys.verify(&other, &text).await,
        Err(TokenError::ApiKeyInvalid)
    ));
    // Expiry, then revocation.
    clock.advance(Duration::from_secs(3600));
    assert!(matches!(
        keys.verify(&tenant(), &text).await,
        Err(TokenError::ApiKeyExpired)
    ));
    assert!(keys.revoke(&tenant(), &created.record.id).await.unwrap());
    assert!(matches!(
        keys.verify(&tenant(), &text).await,
        Err(TokenError::ApiKeyRevoked)
    ));
    assert_eq!(keys.list(&tenant(), &alice()).await.unwrap().len(), 1);
    assert!(ApiKeys::new(store, "Bad_", clock.provider(1)).is_err());
}

#[test]
fn cookies_follow_the_environment() {
    let prod = CookiePolicy::new(Environment::Production);
    assert_eq!(
        prod.access_cookie("at", "a.b.c", Duration::from_secs(3600))
            .unwrap(),
        "__Host-at=a.b.c; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"
    );
    assert_eq!(
        prod.refresh_cookie("rt", "prt_x", Duration::from_secs(60))
            .unwrap(),
        "__Secure-rt=prt_x; Path=/auth/refresh; Max-Age=60; Secure; HttpOnly; SameSite=Strict"
    );
    let scoped = CookiePolicy::new(Environment::Production)
        .with_domain("example.com")
        .unwrap()
        .with_paths("/app", "/app/refresh")
        .unwrap();
    assert_eq!(
        scoped
            .access_cookie("at", "v", Duration::from_secs(1))
            .unwrap(),
        "__Secure-at=v; Path=/app; Max-Age=1; Domain=example.com; Secure; HttpOnly; SameSite=Lax"
    );
    let dev = CookiePolicy::new(Environment::Development);
    assert_eq!(
        dev.refresh_cookie("rt", "v", Duration::from_secs(5))
            .unwrap(),
        "rt=v; Path=/auth/refresh; Max-Age=5; HttpOnly; SameSite=Lax"
    );
    assert_eq!(
        dev.clear_cookie("rt", "/auth/refresh").unwrap(),
        "rt=; Path=/auth/refresh; Max-Age=0; HttpOnly; SameSite=Lax"
    );
    // Header injection is refused.
    assert!(
        prod.access_cookie("at", "v; Domain=evil.com", Duration::ZERO)
            .is_err()
    );
    assert!(prod.access_cookie("a t", "v", Duration::ZERO).is_err());
    assert!(
        CookiePolicy::new(Environment::Production)
            .with_domain("a.com; x")
            .is_err()
    );
    assert!(
        CookiePolicy::new(Environment::Production)
            .with_paths("nope", "/r")
            .is_err()
    );
}

/// A store that is down.
#[derive(Debug)]
struct Down;

fn down(op: &'static str) -> TokenError {
    TokenError::Backend(BackendError::unavailable(op, "connection refused"))
}

#[async_trait::async_trait]
impl RefreshStore for Down {
    async fn create(&self, _: &TenantId, _: NewFamily) -> Result<(), TokenError> {
        Err(down("refresh.create"))
    }
    async fn rotate(&self, _: &TenantId, _: RotateRequest) -> Result<RotateOutcome, TokenError> {
        Err(down("refresh.rotate"))
    }
    async fn revoke_family(
        &self,
        _: &TenantId,
        _: &FamilyId,
        _: UnixTime,
    ) -> Result<bool, TokenError> {
        Err(down("refresh.revoke_family"))
    }
    async fn revoke_subject(
        &self,
        _: &TenantId,
        _: &ActorId,
        _: UnixTime,
    ) -> Result<u64, TokenError> {
        Err(down("refresh.revoke_subject"))
    }
    async fn revoke_tenant_before(
        &self,
        _: &TenantId,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<(), TokenError> {
        Err(down("refresh.revoke_tenant"))
    }
    async fn list_sessions(
        &self,
        _: &TenantId,
        _: &ActorId,
        _: UnixTime,
    ) -> Result<Vec<portcullis_tokens::SessionInfo>, TokenError> {
        Err(down("refresh.list_sessions"))
    }
    async fn revoke_subject_except(
        &self,
        _: &TenantId,
        _: &ActorId,
        _: &FamilyId,
        _: UnixTime,
    ) -> Result<u64, TokenError> {
        Err(down("refresh.revoke_subject_except"))
    }
    async fn family_status(
        &self,
        _: &TenantId,
        _: &FamilyId,
        _: UnixTime,
    ) -> Result<FamilyStatus, TokenError> {
        Err(down("refresh.family_status"))
    }
}

#[async_trait::async_trait]
impl RevocationStore for Down {
    async fn revoke_jti(&self, _: &TenantId, _: &str, _: UnixTime) -> Result<(), TokenError> {
        Err(down("revocation.revoke_jti"))
    }
    async fn revoke_subject_before(
        &self,
        _: &TenantId,
        _: &ActorId,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<(), TokenError> {
        Err(down("revocation.subject"))
    }
    async fn revoke_tenant_before(
        &self,
        _: &TenantId,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<(), TokenError> {
        Err(down("revocation.tenant"))
    }
    async fn check(
        &self,
        _: &TenantId,
        _: &ActorId,
        _: &str,
        _: UnixTime,
    ) -> Result<RevocationStatus, TokenError> {
        Err(down("revocation.check"))
    }
}

#[async_trait::async_trait]
impl TicketStore for Down {
    async fn consume(
        &self,
        _: &TenantId,
        _: &str,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<bool, TokenError> {
        Err(down("tickets.consume"))
    }
}

#[tokio::test]
async fn store_outages_fail_closed() {
    let clock = ManualClock::new();
    let down = TokenStores {
        revocation: Arc::new(Down),
        sessions: Arc::new(Down),
        tickets: Arc::new(Down),
    };
    let svc = service_with(ring(Algorithm::Hs256), &clock, down);
    let a = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    assert!(matches!(
        svc.verify_access::<NoExtra>(&a.token).await,
        Err(TokenError::Backend(_))
    ));
    let t = svc.issue_ticket(&tenant(), &alice(), "ws").unwrap();
    assert!(matches!(
        svc.redeem_ticket(&t.token, "ws", &alice()).await,
        Err(TokenError::Backend(_))
    ));
    assert!(matches!(
        svc.revoke_subject(&tenant(), &alice()).await,
        Err(TokenError::Backend(_))
    ));
    // Refresh: a good token against a store that went down.
    let up = Arc::new(MemoryRefreshStore::new());
    let login = refresh(up, &clock)
        .issue(&tenant(), &alice())
        .await
        .unwrap();
    let rt_down = refresh(Arc::new(Down), &clock);
    assert!(matches!(
        rt_down.rotate(&tenant(), login.token.expose_secret()).await,
        Err(TokenError::Backend(_))
    ));
    assert!(matches!(
        rt_down.issue(&tenant(), &alice()).await,
        Err(TokenError::Backend(_))
    ));
    // Sessions down, revocations up: an access token naming a session, and a scoped
    // token, are denied.
    let provider = clock.provider(8);
    let half = TokenStores {
        sessions: Arc::new(Down),
        ..TokenStores::in_memory(&provider)
    };
    let svc = service_with(ring(Algorithm::Hs256), &clock, half);
    let access = svc
        .issue_access(&tenant(), &alice(), Some(&login.family), &NoExtra {})
        .unwrap();
    assert!(matches!(
        svc.verify_access::<NoExtra>(&access.token).await,
        Err(TokenError::Backend(_))
    ));
    let parent = portcullis_tokens::danger::verify_signature_and_claims_only::<NoExtra>(
        &svc,
        &access.token,
        portcullis_tokens::TokenType::Access,
    )
    .unwrap();
    let scoped = svc.issue_scoped(&parent, "r", "viewer", None).unwrap();
    assert!(matches!(
        svc.verify_scoped(&scoped.token, "r").await,
        Err(TokenError::Backend(_))
    ));
}
