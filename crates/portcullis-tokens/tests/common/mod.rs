//! Shared fixtures for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use portcullis_core::{ActorId, KeyId, SecretBytes, TenantId};
use portcullis_testkit::{ManualClock, SeededRandom};
use portcullis_tokens::{
    Algorithm, KeyMaterial, KeyState, SigningKeys, TokenConfig, TokenError, TokenService,
    TokenStores, Verified,
};
use serde::de::DeserializeOwned;

pub(crate) const ISSUER: &str = "https://auth.example.test";
pub(crate) const AUDIENCE: &str = "api";
pub(crate) const HS_SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

pub(crate) fn tenant() -> TenantId {
    "acme".parse().unwrap()
}

pub(crate) fn alice() -> ActorId {
    "alice".parse().unwrap()
}

pub(crate) fn hs_kid() -> KeyId {
    KeyId::new("hs-1").unwrap()
}

/// A ring whose active key has `alg` (HS256 uses [`HS_SECRET`] with kid `hs-1`).
pub(crate) fn ring(alg: Algorithm) -> Arc<SigningKeys> {
    let ring = SigningKeys::new();
    let key = match alg {
        Algorithm::Hs256 => {
            KeyMaterial::hs256(hs_kid(), &SecretBytes::from_slice(HS_SECRET)).unwrap()
        }
        other => KeyMaterial::generate(other, &SeededRandom::new(42)).unwrap(),
    };
    ring.insert(key, KeyState::Active).unwrap();
    Arc::new(ring)
}

/// A service over fresh in-memory stores.
pub(crate) fn service(ring: Arc<SigningKeys>, clock: &ManualClock) -> TokenService {
    let provider = clock.provider(7);
    service_with(ring, clock, TokenStores::in_memory(&provider))
}

/// A service over `stores`.
pub(crate) fn service_with(
    ring: Arc<SigningKeys>,
    clock: &ManualClock,
    stores: TokenStores,
) -> TokenService {
    TokenService::new(
        ring,
        TokenConfig::new(ISSUER, AUDIENCE).unwrap(),
        stores,
        clock.provider(7),
    )
}

/// [`TokenService::verify_access`] (the complete check) from synchronous test code; the
/// in-memory stores never suspend.
pub(crate) fn verify<E: DeserializeOwned>(
    svc: &TokenService,
    token: &str,
) -> Result<Verified<E>, TokenError> {
    futures::executor::block_on(svc.verify_access::<E>(token))
}

/// base64url without padding.
pub(crate) fn b64(v: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

/// Claims our policy accepts at `now`.
pub(crate) fn good_claims(now: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "tid": "acme",
        "iat": now, "nbf": now, "exp": now + 600, "jti": "j-1", "typ": "access"
    })
}

/// An HS256 compact JWS over arbitrary header and claims, signed with `secret`.
pub(crate) fn hs256(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    secret: &[u8],
) -> String {
    use hmac::Mac as _;
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}
