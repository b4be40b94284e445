//! The [`TicketStore`] through [`TokenService`]'s tickets: single use (also under
//! concurrency), subject and purpose checks, logout and expiry.
//!
//! [`TicketStore`]: portcullis_tokens::TicketStore
//! [`TokenService`]: portcullis_tokens::TokenService

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::Clock;
use portcullis_tokens::{RevocationReason, TokenError};

use super::fixtures::{BoxFuture, StoreSet, actor, tenant, token_service};
use crate::ManualClock;

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
