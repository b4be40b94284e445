//! The 32-byte SHA-256 value used for entry hashes, Merkle nodes and roots.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::AuditError;

/// A SHA-256 output. Serialized as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash: the previous hash of every tenant's first entry.
    pub const ZERO: Self = Self([0u8; 32]);

    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// The hash in `bytes`, which must be exactly 32 bytes long.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] if `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AuditError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            AuditError::MalformedProof(format!("hash is {} bytes, expected 32", bytes.len()))
        })
    }

    /// Parses 64 lowercase hex digits.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidField`] if `s` is not 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, AuditError> {
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(AuditError::field(
                "hash",
                "expected 64 lowercase hex digits",
            ));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| AuditError::field("hash", "expected 64 lowercase hex digits"))?;
        Ok(Self(out))
    }

    /// Parses standard padded base64 of exactly 32 bytes (the form used in checkpoints).
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] if `s` is not base64 of 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, AuditError> {
        let bytes = STANDARD
            .decode(s)
            .map_err(|_| AuditError::MalformedProof("hash is not valid base64".into()))?;
        Self::from_slice(&bytes)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard padded base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Constant-time equality: the verifiers compare roots and entry hashes with this, never
/// with `==` (which may stop at the first differing byte).
impl ConstantTimeEq for Hash {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
