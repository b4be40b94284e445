//! The crate's one error type.

use portcullis_core::{BackendError, IdError, RandomError};

use crate::KeyVersion;

/// Everything that can go wrong in `portcullis-keys`.
///
/// Structural problems found before any cryptography runs are specific (a truncated blob,
/// an unknown format version, a retired key version). A failed authentication check is
/// deliberately opaque: [`KeysError::Decrypt`] says nothing about which input was wrong
/// (tenant, context, key or ciphertext), so it cannot be used as an oracle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The blob is shorter than the smallest valid blob or a length field overruns it.
    #[error("sealed blob is truncated: {0} bytes")]
    Truncated(usize),
    /// The blob's first byte names a format this version of the crate does not know.
    #[error("unknown sealed blob format version `{0}`")]
    UnknownFormat(u8),
    /// A format 3 blob names a key source (its second byte) this crate does not know.
    #[error("unknown key source `{0}` in a format 3 blob")]
    UnknownKeySource(u8),
    /// The blob's key comes from a source this opener was not given (for example an
    /// envelope blob passed to [`crate::Sealer::open`], or an [`crate::Opener`] without an
    /// envelope): the string says which kind of blob it is.
    #[error("this is {0} blob, and no keys of that kind were configured to open it")]
    OtherKeySource(&'static str),
    /// The blob names a key version that is not in the key ring.
    #[error("unknown key version `{0}`")]
    UnknownKeyVersion(KeyVersion),
    /// The blob names a key version that was retired and may no longer decrypt.
    #[error("key version `{0}` is retired")]
    RetiredKeyVersion(KeyVersion),
    /// The blob names a key version below the ring's minimum decryption version.
    #[error("key version `{version}` is below the minimum decryption version `{minimum}`")]
    BelowMinimumVersion {
        /// The version the blob names.
        version: KeyVersion,
        /// The ring's minimum decryption version.
        minimum: KeyVersion,
    },
    /// Authentication failed: wrong key, tenant, context or a modified ciphertext.
    #[error("decryption failed")]
    Decrypt,
    /// Encryption failed inside the AEAD (only for inputs beyond the AEAD's limits).
    #[error("encryption failed")]
    Encrypt,
    /// The key-ring operation is not allowed (for example retiring the primary version).
    #[error("invalid key ring operation: {0}")]
    MasterKeys(&'static str),
    /// A key version is already present in the ring.
    #[error("key version `{0}` already exists")]
    DuplicateKeyVersion(KeyVersion),
    /// Key material had the wrong length.
    #[error("key material must be {expected} bytes, got {actual}")]
    KeyLength {
        /// Required length in bytes.
        expected: usize,
        /// Length supplied.
        actual: usize,
    },
    /// A purpose label, secret name or salt epoch was malformed.
    #[error("invalid {what}: `{value}`")]
    InvalidInput {
        /// What kind of value was rejected.
        what: &'static str,
        /// The rejected value (never secret).
        value: String,
    },
    /// An identifier failed validation.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The key version has sealed as many messages as its random-nonce budget allows.
    #[error("key version `{0}` reached its seal limit; rotate the master key")]
    SealLimitReached(KeyVersion),
    /// A sealer that seals only against reserved seals
    /// ([`crate::SealerConfig::reserved_seals_only`]) has none left for this version:
    /// reserve more from the shared count ([`crate::SealBudget::top_up`], or seal through
    /// [`crate::SealBudget::seal`], which does it).
    #[error("no reserved seals left for key version `{0}`; reserve more (SealBudget::top_up)")]
    SealsNotReserved(KeyVersion),
    /// The KMS does not know the named key-encryption key (a blob's untrusted name is
    /// shown as [`untrusted_hex`]: a short hex prefix and its length).
    #[error("unknown key-encryption key `{0}`")]
    UnknownKek(String),
    /// A blob source returned a blob whose id is not after the cursor it was given (it
    /// ignores the cursor, or lists out of order): re-encryption stops instead of looping.
    #[error("the blob source did not advance past its cursor")]
    SourceCursorStuck,
    /// The secret is not available from the source or the environment.
    #[error("secret `{0}` not found")]
    SecretNotFound(String),
    /// The random generator failed.
    #[error("random generator failed")]
    Random(#[from] RandomError),
    /// A store, KMS or secret source failed; callers fail closed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Untrusted bytes for an error message: at most the first 8 bytes in hex, then the
/// length (`6576696c0a6b656b… (12 bytes)`), so no control character or long value reaches
/// a log line.
pub(crate) fn untrusted_hex(bytes: &[u8]) -> String {
    let shown = bytes.get(..8).unwrap_or(bytes);
    let more = if bytes.len() > shown.len() { "…" } else { "" };
    format!("{}{more} ({} bytes)", hex::encode(shown), bytes.len())
}
