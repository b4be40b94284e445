//! The refresh store as the session store of [`TokenService`]
//! ([`TokenStores::sessions`]): an access token naming a session lives and dies with it.
//!
//! [`TokenService`]: portcullis_tokens::TokenService
//! [`TokenStores::sessions`]: portcullis_tokens::TokenStores::sessions

use portcullis_tokens::{NoExtra, RevocationReason, TokenError};

use super::fixtures::{StoreSet, actor, refresh_service, tenant, token_service};
use crate::ManualClock;

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
