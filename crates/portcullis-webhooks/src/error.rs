//! The one error type of this crate.

use portcullis_core::{BackendError, RandomError};

/// Why a secret was refused when it was loaded. Each variant is a hint for the operator;
/// none of them repeats the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretProblem {
    /// The secret (after any scheme prefix) is empty.
    Empty,
    /// The secret starts or ends with whitespace, usually a copy-and-paste accident.
    SurroundingWhitespace,
    /// The value looks like a signature (`v1,...`, `t=...`, `sha256=...`), not a secret.
    LooksLikeSignature,
    /// A `whsec_`/`whsk_`/`whpk_` secret whose remainder is not valid standard base64.
    NotBase64,
    /// A Standard Webhooks secret without one of the prefixes `whsec_`, `whsk_`, `whpk_`.
    MissingPrefix,
    /// An Ed25519 key of the wrong length or whose public half does not match.
    BadEd25519Key,
    /// A public key (`whpk_`) was given where a signing key is needed.
    PublicKeyCannotSign,
}

impl std::fmt::Display for SecretProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "secret is empty",
            Self::SurroundingWhitespace => "secret has surrounding whitespace",
            Self::LooksLikeSignature => "secret looks like a signature, not a signing secret",
            Self::NotBase64 => "secret is not valid base64 after its prefix",
            Self::MissingPrefix => "secret lacks the `whsec_`, `whsk_` or `whpk_` prefix",
            Self::BadEd25519Key => {
                "Ed25519 key has the wrong length or an inconsistent public half"
            }
            Self::PublicKeyCannotSign => "a public key (`whpk_`) cannot sign",
        })
    }
}

/// Everything that can go wrong verifying, signing or delivering a webhook.
///
/// Structural problems found before any cryptography are specific (which header, what is
/// wrong with it). A failed signature check is deliberately opaque: [`WebhookError::NoMatch`]
/// never says which byte or which secret was close. No message contains a MAC, a
/// signature or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent.
    #[error("missing header `{0}`")]
    MissingHeader(String),
    /// A header that must appear once appears several times.
    #[error("header `{0}` appears more than once")]
    DuplicateHeader(String),
    /// A header's value is not in the scheme's format.
    #[error("malformed header `{name}`: {reason}")]
    MalformedHeader {
        /// The header name.
        name: String,
        /// What is wrong with it (never the value itself).
        reason: &'static str,
    },
    /// A header's value is longer than the configured cap.
    #[error("header `{name}` is longer than {limit} bytes")]
    HeaderTooLarge {
        /// The header name.
        name: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// A header lists more candidate signatures than the configured cap.
    #[error("header `{name}` lists more than {limit} signatures")]
    TooManySignatures {
        /// The header name.
        name: String,
        /// The cap.
        limit: usize,
    },
    /// The body is larger than the configured cap.
    #[error("body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The signed timestamp is older than the past tolerance.
    #[error("timestamp is too old: {age_secs} s in the past, tolerance {tolerance_secs} s")]
    TimestampTooOld {
        /// How far in the past, in seconds.
        age_secs: u64,
        /// The configured past tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the future tolerance.
    #[error("timestamp is in the future: {ahead_secs} s ahead, tolerance {tolerance_secs} s")]
    TimestampInFuture {
        /// How far in the future, in seconds.
        ahead_secs: u64,
        /// The configured future tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The header carries no signature of a version this scheme and these secrets check.
    #[error("header `{0}` carries no signature of a supported version")]
    NoSignatures(String),
    /// No candidate signature matched any configured secret (opaque on purpose).
    #[error("no signature matched (checked {candidates} signatures against {secrets} secrets)")]
    NoMatch {
        /// How many candidate signatures were checked.
        candidates: usize,
        /// How many secrets were tried.
        secrets: usize,
    },
    /// The delivery was already accepted once within the replay window.
    #[error("duplicate delivery: `{0}` was already seen in scope `{1}`")]
    Duplicate(String, String),
    /// A secret could not be loaded; the problem says why.
    #[error("invalid secret: {0}")]
    InvalidSecret(SecretProblem),
    /// A verifier was built without any secret.
    #[error("no secrets configured")]
    NoSecrets,
    /// A secret of the wrong kind for this operation (for example an Ed25519 key given to
    /// an HMAC-only scheme, or a public key asked to sign).
    #[error("secret kind does not fit: {0}")]
    WrongKeyKind(&'static str),
    /// No scheme has this name.
    #[error("unknown scheme `{0}`; expected one of stripe, standard, zoom, github, shopify, slack")]
    UnknownScheme(String),
    /// A custom scheme's configuration is invalid.
    #[error("invalid scheme configuration: {0}")]
    InvalidConfig(&'static str),
    /// A value passed to the signer is unusable (for example an empty message id).
    #[error("invalid input `{field}`: {reason}")]
    InvalidInput {
        /// Which argument.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A message id contains the character that delimits it in the signed content (`.`
    /// for Standard Webhooks; for a [`Custom`](crate::Custom) scheme, the character of the
    /// template's literal text that touches `{id}`). Such content could be split into a
    /// different id, timestamp and body under the same MAC, so the id is refused before any
    /// MAC is computed or checked, both when verifying and when signing.
    #[error(
        "message id in `{name}` contains `{}`, which delimits it in the signed content",
        .delimiter.escape_default()
    )]
    IdContainsDelimiter {
        /// The id header when verifying, `id` when signing.
        name: String,
        /// The refused character.
        delimiter: char,
    },
    /// The replay guard's backend could not answer; the caller must reject the delivery.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl WebhookError {
    pub(crate) fn malformed(name: &str, reason: &'static str) -> Self {
        Self::MalformedHeader {
            name: name.to_owned(),
            reason,
        }
    }
}
