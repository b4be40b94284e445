//! Checks that skip part of a verify, named for what they skip.
//!
//! [`TokenService::verify_access`], [`TokenService::verify_scoped`] and
//! [`TokenService::redeem_ticket`] are the calls a service makes: they consult the
//! revocation, session and ticket stores. What is here checks only the signature and the
//! claims, so a revoked token, a token of a logged-out subject or of an ended session, and
//! a ticket already redeemed all pass. Use it only where no store can exist (an offline
//! inspection tool, a benchmark of the cryptographic path) and never to admit a request.

use serde::de::DeserializeOwned;

use crate::claims::TokenType;
use crate::error::TokenError;
use crate::jwt::{TokenService, Verified};

/// Verifies the signature and the claim policy (type, issuer, audience, times, pinned
/// algorithm) of a token of type `expected`, **without** any revocation, session or
/// single-use check.
///
/// # Errors
///
/// The structural, signature and claim errors of [`TokenService::verify_access`]; never
/// `Revoked`, `TicketAlreadyUsed` or `Backend`.
pub fn verify_signature_and_claims_only<E: DeserializeOwned>(
    service: &TokenService,
    token: &str,
    expected: TokenType,
) -> Result<Verified<E>, TokenError> {
    service.verify_typed(token, expected)
}
