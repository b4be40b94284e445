//! The [`RevocationStore`]: the deny-list and the subject and tenant epochs, their
//! retention, and a logout through [`TokenService`] outlasting every token issued before
//! it.
//!
//! [`RevocationStore`]: portcullis_tokens::RevocationStore
//! [`TokenService`]: portcullis_tokens::TokenService

use std::time::Duration;

use portcullis_core::{Clock, UnixTime};
use portcullis_tokens::{NoExtra, RevocationReason, RevocationStatus, TokenError};

use super::fixtures::{StoreSet, actor, tenant, token_service};
use crate::ManualClock;

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
///
/// [`TokenService::revoke_subject`]: portcullis_tokens::TokenService::revoke_subject
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
