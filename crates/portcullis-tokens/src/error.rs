//! The one error type of this crate.

use portcullis_core::{ActorId, BackendError, KeyId, RandomError};

use crate::refresh::FamilyId;

/// Why a token could not be issued, verified, rotated or redeemed.
///
/// Structural problems found before any cryptography are specific (so a client developer
/// can fix their request); signature and secret mismatches are opaque on purpose. Every
/// store failure is [`TokenError::Backend`], and no operation ever treats it as success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the configured bound; it was not parsed.
    #[error("token is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// The length presented.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The token is not a well-formed compact JWT (or opaque token) of the expected shape.
    #[error("malformed token: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The header names an algorithm this crate never accepts (for example `none`).
    #[error("unsupported algorithm `{alg}`")]
    UnsupportedAlgorithm {
        /// The algorithm named by the header (escaped, at most 16 characters).
        alg: String,
    },
    /// The header's `crit` lists an extension this verifier does not process (RFC 7515
    /// section 4.1.11: the token must be refused).
    #[error("unsupported critical header extension `{name}`")]
    UnsupportedCritical {
        /// The first such extension name (escaped, at most 32 characters).
        name: String,
    },
    /// The header carries no `kid`.
    #[error("token header has no `kid`")]
    MissingKeyId,
    /// No key in the ring has the token's `kid`.
    #[error("unknown key id `{kid}`")]
    UnknownKey {
        /// The `kid` from the header (escaped, at most 128 characters).
        kid: String,
    },
    /// The key that signed the token has been retired.
    #[error("key `{kid}` is retired")]
    KeyRetired {
        /// The retired key.
        kid: KeyId,
    },
    /// The header's `alg` differs from the algorithm pinned to the key (key confusion).
    #[error("algorithm `{alg}` does not match key `{kid}`, which is pinned to {pinned}")]
    AlgorithmMismatch {
        /// The key named by the token.
        kid: KeyId,
        /// The algorithm the header claimed.
        alg: String,
        /// The algorithm the key is pinned to.
        pinned: &'static str,
    },
    /// The signature does not verify (deliberately uninformative).
    #[error("invalid signature")]
    InvalidSignature,
    /// The claims are not valid JSON of the required shape (missing claim, wrong type).
    #[error("malformed claims: {reason}")]
    MalformedClaims {
        /// The decoder's description (no claim values).
        reason: String,
    },
    /// `exp` (plus leeway) is in the past.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` (minus leeway) is in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("wrong audience")]
    WrongAudience,
    /// `typ` is not the type this verifier accepts (an access token used as a ticket, ...).
    #[error("wrong token type: expected `{expected}`")]
    WrongType {
        /// The type that was required.
        expected: &'static str,
    },
    /// A scoped token was presented for another resource, or a ticket for another purpose.
    #[error("token is not valid for `{requested}`")]
    WrongScope {
        /// The resource or purpose the caller asked about.
        requested: String,
    },
    /// The token was revoked.
    #[error("token revoked ({reason})")]
    Revoked {
        /// Which rule revoked it.
        reason: crate::revocation::RevocationReason,
    },
    /// A one-time ticket was already redeemed.
    #[error("ticket already used")]
    TicketAlreadyUsed,
    /// A scoped token was requested from a token that is not bound to a session.
    #[error("parent token carries no session (`sid`)")]
    NoParentSession,
    /// The refresh token is malformed, forged, unknown or not current (opaque on purpose).
    #[error("invalid refresh token")]
    RefreshInvalid,
    /// The refresh token's family was revoked earlier (logout, reuse, administrator).
    #[error("refresh token family `{family}` is revoked")]
    RefreshRevoked {
        /// The family.
        family: FamilyId,
    },
    /// The refresh token's family passed its absolute or idle lifetime.
    #[error("refresh token expired")]
    RefreshExpired,
    /// A refresh token that had already been rotated was presented outside the grace
    /// window: the whole family has been revoked. Log it; it usually means theft.
    #[error("refresh token reuse detected; family `{family}` of `{subject}` revoked")]
    ReuseDetected {
        /// The revoked family.
        family: FamilyId,
        /// Its subject.
        subject: ActorId,
    },
    /// The API key does not have the documented layout (wrong prefix, length, alphabet).
    #[error("malformed api key: {reason}")]
    ApiKeyMalformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The API key's checksum does not match: a typo, rejected before any store lookup.
    #[error("api key checksum mismatch (typo?)")]
    ApiKeyChecksum,
    /// The API key is unknown or its secret does not match (opaque on purpose).
    #[error("invalid api key")]
    ApiKeyInvalid,
    /// The API key passed its expiry.
    #[error("api key expired")]
    ApiKeyExpired,
    /// The API key was revoked.
    #[error("api key revoked")]
    ApiKeyRevoked,
    /// The owner already has [`MAX_API_KEYS_PER_OWNER`](crate::MAX_API_KEYS_PER_OWNER)
    /// live API keys in the tenant (revoked and expired ones do not count); nothing was
    /// stored.
    #[error("owner `{owner}` already has {max} live api keys, the maximum")]
    TooManyApiKeys {
        /// The owner.
        owner: ActorId,
        /// The cap.
        max: usize,
    },
    /// The owner already has
    /// [`MAX_API_KEY_RECORDS_PER_OWNER`](crate::MAX_API_KEY_RECORDS_PER_OWNER) API-key
    /// records in the tenant, live, revoked and expired together; nothing was stored.
    /// Purge the revoked and expired ones ([`ApiKeys::purge`](crate::ApiKeys::purge)).
    #[error("owner `{owner}` already has {max} api key records; purge revoked and expired keys")]
    TooManyApiKeyRecords {
        /// The owner.
        owner: ActorId,
        /// The cap.
        max: usize,
    },
    /// A ticket was presented by another subject than the one it was issued to.
    #[error("ticket was issued to another subject")]
    WrongSubject,
    /// A revocation would be forgotten before its own epoch (`keep_until` < `at`).
    #[error("revocation retention ends before its epoch")]
    RetentionBeforeEpoch,
    /// A key or key-ring operation was refused.
    #[error("key ring: {reason}")]
    SigningKeys {
        /// What was refused.
        reason: String,
    },
    /// A configuration value or argument is out of range.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What was wrong.
        reason: String,
    },
    /// An identity provider's remote key set could not be fetched and no copy may be served
    /// (never fetched, or stale past the configured bound): verification fails closed.
    #[error("the issuer's JWKS is unavailable: {reason}")]
    JwksUnavailable {
        /// What failed (never a document's contents).
        reason: String,
    },
    /// A DPoP proof (RFC 9449) failed a check; the reason names the check, never a value.
    #[error("invalid DPoP proof: {reason}")]
    DpopProofInvalid {
        /// Which check failed.
        reason: &'static str,
    },
    /// A DPoP proof was presented a second time (its `jti` for its key was seen).
    #[error("DPoP proof replayed")]
    DpopProofReplayed,
    /// The DPoP proof lacks the server's current nonce (or has another): answer
    /// `use_dpop_nonce` with a fresh `DPoP-Nonce` (RFC 9449 §8).
    #[error("DPoP proof without the server's nonce")]
    DpopNonceRequired,
    /// The DPoP proof is signed by another key than the one the access token is bound to.
    #[error("DPoP proof key does not match the token's binding")]
    DpopKeyMismatch,
    /// A DPoP-bound access token was presented without a proof (as a `Bearer` token).
    #[error("DPoP-bound token presented without a proof")]
    DpopBoundTokenAsBearer,
    /// Signing failed inside the crypto backend.
    #[error("signing failed")]
    Signing,
    /// The random generator failed; nothing was issued.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A store could not answer. Callers must treat this as a denial.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Escapes untrusted text for an error message and bounds its length.
pub(crate) fn escape_untrusted(s: &str, max_chars: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max_chars)
        .flat_map(char::escape_default)
        .collect();
    if s.chars().count() > max_chars {
        out.push_str("...");
    }
    out
}
