//! Tokens for a multi-tenant service: access JWTs signed by a rotating key ring, opaque
//! refresh tokens rotated on every use with reuse detection, revocation, scoped tokens,
//! one-time tickets and API keys.
//!
//! | concern | entry point | store trait | in-memory store |
//! |---------|-------------|-------------|-----------------|
//! | access, scoped tokens, tickets (JWT) | [`TokenService`] over [`TokenStores`] | [`RevocationStore`], [`RefreshStore`], [`TicketStore`] | [`MemoryRevocationStore`], [`MemoryRefreshStore`], [`MemoryTicketStore`] |
//! | signing keys, JWKS | [`SigningKeys`] | none | none |
//! | refresh tokens | [`RefreshTokens`] | [`RefreshStore`] | [`MemoryRefreshStore`] |
//! | API keys | [`ApiKeys`] | [`ApiKeyStore`] | [`MemoryApiKeyStore`] |
//! | cookies | [`CookiePolicy`] | none | none |
//! | identity providers' access tokens | [`IdpVerifier`] over [`IssuerProfile`]s | none | none |
//! | remote JWKS, OpenID discovery | [`RemoteJwks`] | [`HttpClient`] | [`ReqwestHttpClient`] (feature `http-client`) |
//! | DPoP proofs (RFC 9449) | [`DpopVerifier`] | [`DpopReplayStore`] | [`MemoryDpopReplayStore`] |
//!
//! Signing and verifying are synchronous and pure; only the stores are async
//! (dyn-compatible traits, no runtime dependency). Time and randomness come from one
//! injected [`Provider`](portcullis_core::Provider).
//!
//! # When not to use it
//!
//! - As an OAuth 2.0 / OpenID Connect provider: there are no authorization codes, PKCE,
//!   consent or discovery documents served here, only the token mechanics such a server
//!   needs (and, as a relying party, discovery of other providers' keys).
//! - To decrypt JWE, or to verify JWTs with algorithms beyond HS256, EdDSA, ES256, ES384,
//!   RS256/384/512 and PS256/384/512.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_core::{ActorId, Provider, SecretArray, TenantId};
//! use portcullis_tokens::{
//!     Algorithm, KeyMaterial, SigningKeys, KeyState, NoExtra, RefreshPolicy, RefreshTokens,
//!     TokenConfig, TokenError, TokenService, TokenStores,
//! };
//!
//! # futures::executor::block_on(async {
//! let provider = Provider::system(); // the one source of time and randomness
//! let ring = Arc::new(SigningKeys::new());
//! ring.insert(KeyMaterial::generate(Algorithm::EdDsa, &provider)?, KeyState::Active)?;
//! let stores = TokenStores::in_memory(&provider); // or the portcullis-redis stores
//! let jwt = TokenService::new(
//!     ring.clone(),
//!     TokenConfig::new("https://auth.example.com", "api")?,
//!     stores.clone(),
//!     provider.clone(),
//! );
//! let refresh = RefreshTokens::new(
//!     stores.sessions.clone(), // sessions are refresh families
//!     SecretArray::random(&provider)?,
//!     RefreshPolicy::default(),
//!     provider,
//! )?;
//!
//! // Login: a session (refresh family) and an access token bound to it.
//! let (tenant, alice): (TenantId, ActorId) = ("acme".parse()?, "alice".parse()?);
//! let session = refresh.issue(&tenant, &alice).await?;
//! let access = jwt.issue_access(&tenant, &alice, Some(&session.family), &NoExtra {})?;
//!
//! // Each request: verify the access token (signature, claims, revocation, live session).
//! let verified = jwt.verify_access::<NoExtra>(&access.token).await?;
//! assert_eq!(verified.claims.sub, alice);
//!
//! // Refresh: the old token is exchanged for its successor ...
//! let next = refresh.rotate(&tenant, session.token.expose_secret()).await?;
//! // ... and presenting the old one again (after the grace window) revokes the session.
//! assert_eq!(next.generation, 1);
//! # let _ = TokenError::Expired;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Identity providers' tokens
//!
//! An access token from Auth0, Okta, Keycloak, Cognito, Entra ID, Supabase or Ory is
//! verified under that issuer's own profile: its keys (from OpenID discovery and its
//! JWKS, fetched and cached, each key named by the provider's `kid` and pinned to one
//! algorithm), its audiences, `sub` any string, and the claims it really carries.
//!
//! ```no_run
//! # #[cfg(feature = "http-client")]
//! # async fn run(bearer_token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use portcullis_core::Provider;
//! use portcullis_tokens::*;
//! let issuer = "https://tenant.eu.auth0.com/";
//! let jwks = RemoteJwks::discover(issuer, Arc::new(ReqwestHttpClient::new()?),
//!     Provider::system(), RemoteJwksConfig::default())?; // fetched on first use, cached
//! let auth0 = IssuerProfile::remote(issuer, &["https://api.example.com"],
//!     &[Algorithm::Rs256], jwks)?.tenant_claim("org_id");
//! let verifier = IdpVerifier::new(vec![auth0], Provider::system())?;
//! let token = verifier.verify_async(bearer_token).await?; // signature, exp, aud, typ, tenant
//! println!("{} in {:?} may {:?}", token.subject, token.tenant, token.scopes());
//! # Ok(()) }
//! ```
//!
//! Keys may also be fixed: [`parse_jwks`] a JWKS document into a [`SigningKeys`] and use
//! [`IssuerProfile::new`] (then the synchronous [`IdpVerifier::verify`] suffices).
//!
//! # Sender-constrained tokens (DPoP)
//!
//! [`DpopVerifier`] checks RFC 9449 proofs (each accepted once, through a
//! [`DpopReplayStore`]; `portcullis-redis` has one shared by every replica);
//! [`TokenService::issue_access_dpop`] binds an access token to the proof key (`cnf.jkt`),
//! and [`TokenService::verify_access_dpop`] verifies token and proof together, while
//! [`TokenService::verify_access`] refuses a bound token presented as `Bearer`.
//!
//! # Token formats
//!
//! - Access, scoped and ticket tokens are compact JWS (RFC 7515) with header
//!   `{"typ":"JWT","alg":...,"kid":...}` and the claims of [`Claims`]: `iss`, `aud`,
//!   `sub`, `tid` (tenant), `iat`, `nbf`, `exp` (integer seconds), `jti`, `typ`
//!   (`access` | `scoped` | `ticket`), optional `sid` (session), `res` and `role` (scoped),
//!   `pur` (ticket), plus caller claims. Standard libraries (PyJWT, jose) verify them.
//! - Refresh tokens: `prt_` + base64url of 69 bytes, specified in [`refresh_format`].
//! - API keys: `<prefix>_<id><secret><checksum>`, specified in [`api_key_format`].
//!
//! The refresh state machine is specified as a table in the `refresh` module docs (see [`RefreshTokens`]).
//!
//! # Features
//!
//! - `http-client`: [`ReqwestHttpClient`], the default [`HttpClient`] of [`RemoteJwks`]
//!   (reqwest on rustls with the ring provider; platform roots or the caller's). Without
//!   it, implement [`HttpClient`] on the client the service already has.
//!
//! `jsonwebtoken` is used with its pure-Rust `rust_crypto` backend (version 11.1 or later,
//! which includes the 10.3.0 fix for `exp`/`nbf` type confusion).
//!
//! # Security considerations
//!
//! - The header's `alg` never chooses the verification algorithm: each key is pinned to
//!   one algorithm and a mismatch is [`TokenError::AlgorithmMismatch`]; `none` and every
//!   other algorithm is [`TokenError::UnsupportedAlgorithm`]. HS256 keys are never
//!   published in the JWKS, and an asymmetric key cannot be used as an HMAC secret.
//! - Claims are checked by this crate against the injected clock with a bounded leeway
//!   (default 30 s, at most 5 min). `exp`, `nbf`, `iat`, `iss`, `aud`, `typ`, `sub`, `tid`
//!   and `jti` are required and strictly typed: a string `exp` is a
//!   [`TokenError::MalformedClaims`], never "no expiry".
//! - Tokens longer than the configured bound (8 KiB) are rejected before parsing.
//! - Refresh tokens carry an HMAC tag bound to the tenant, so forged and cross-tenant
//!   tokens are rejected before the store, and a stale token that authenticates is proof
//!   of reuse: the family is revoked ([`TokenError::ReuseDetected`]). The store keeps
//!   SHA-256 hashes only; the refresh key must stay secret (whoever holds it and a stolen
//!   token can compute successors).
//! - API keys are compared by SHA-256 hash in constant time; the checksum rejects typos
//!   before any store access; status (revoked, expired) is revealed only to holders of
//!   the secret. Each owner may hold at most [`MAX_API_KEYS_PER_OWNER`] (1000) live keys
//!   per tenant ([`TokenError::TooManyApiKeys`] beyond it; revoking or expiring a key
//!   frees its slot) and [`MAX_API_KEY_RECORDS_PER_OWNER`] (2000) records with the
//!   revoked and expired ones ([`TokenError::TooManyApiKeyRecords`]; [`ApiKeys::purge`]
//!   deletes those), so `list` and backend work per owner stay bounded.
//! - Every store error is [`TokenError::Backend`] and is never turned into success.
//! - Remote JWKS are fetched over HTTPS only (plain HTTP to loopback only when
//!   [`RemoteJwksConfig::danger_allow_http_loopback`] says so), without redirects, bodies
//!   bounded to [`MAX_DOCUMENT_BYTES`]; a discovery document must name the configured
//!   issuer; an unknown `kid` fetches at most once per cooldown; an outage serves the
//!   last good keys for a bounded time, then verification fails closed
//!   ([`TokenError::JwksUnavailable`]).
//! - ECDSA token signatures must be low-S (one valid string per token); DPoP proofs accept
//!   either form, since their replay key is the key thumbprint and `jti`, not the string.
//! - The shortest verify is the complete one: [`TokenService::verify_access`],
//!   [`TokenService::verify_scoped`] and [`TokenService::redeem_ticket`] consult the
//!   revocation list, the logout epochs and (for a token naming a session) the session.
//!   The signature-and-claims-only check is [`danger::verify_signature_and_claims_only`],
//!   named for what it skips.
//! - Logout epochs ([`TokenService::revoke_subject`], [`TokenService::revoke_tenant`]) are
//!   kept until every token issued before them has expired
//!   ([`TokenConfig::epoch_retention`]); stores refuse a retention ending before its
//!   epoch.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod apikey;
mod claims;
mod cookie;
pub mod danger;
mod dpop;
mod error;
mod idp;
mod jwt;
mod memory_lock;
mod refresh;
mod remote;
mod revocation;
mod signing_keys;
mod tickets;

pub use apikey::format as api_key_format;
pub use apikey::{
    ApiKeyRecord, ApiKeyStore, ApiKeys, MAX_API_KEY_RECORDS_PER_OWNER, MAX_API_KEYS_PER_OWNER,
    MemoryApiKeyStore, NewApiKey,
};
pub use claims::{Audience, Claims, Confirmation, NoExtra, TokenType};
pub use cookie::{CookiePolicy, Environment, SameSite};
pub use dpop::{
    DpopConfig, DpopNonces, DpopProof, DpopReplayStore, DpopRequest, DpopVerifier, MAX_PROOF_LEN,
    MemoryDpopReplayStore,
};
pub use error::TokenError;
pub use idp::{IdpToken, IdpVerifier, IssuerProfile, TypHeader};
pub use jwt::{IssuedToken, MAX_LEEWAY, TokenConfig, TokenService, TokenStores, Verified};
pub use refresh::format as refresh_format;
pub use refresh::{
    FamilyId, FamilyStatus, GRACE_CHAIN, IssuedRefresh, MAX_SESSION_LABEL_LEN,
    MAX_SESSIONS_PER_SUBJECT, MemoryRefreshStore, NewFamily, RefreshPolicy, RefreshStore,
    RefreshTokens, RotateOutcome, RotateRequest, SessionInfo, TokenHash, TokenRef,
};
#[cfg(feature = "http-client")]
pub use remote::ReqwestHttpClient;
pub use remote::{
    HttpClient, HttpError, HttpRequest, HttpResponse, MAX_DOCUMENT_BYTES, RemoteJwks,
    RemoteJwksConfig, RemoteJwksStats,
};
pub use revocation::{MemoryRevocationStore, RevocationReason, RevocationStatus, RevocationStore};
pub use signing_keys::{
    Algorithm, Jwk, Jwks, JwksKeys, KeyMaterial, KeyState, MAX_JWKS_KEYS, MAX_RSA_BITS,
    MIN_HMAC_SECRET_LEN, MIN_RSA_BITS, SigningKeys, SkippedJwk, parse_jwks,
};
pub use tickets::{MemoryTicketStore, TicketStore};
