//! JWS (RFC 7515) compact serialization: the algorithms this crate accepts, splitting a
//! token into its three parts, reading the header, and checking a signature with a key
//! pinned to one algorithm.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use portcullis_core::KeyId;

use crate::error::TokenError;

/// A JWS algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA256 with a shared secret of at least 32 bytes.
    Hs256,
    /// Ed25519 (RFC 8037 `EdDSA`).
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl Algorithm {
    /// The JOSE name (`HS256`, `EdDSA`, `ES256`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
        }
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three parts of a compact JWS; header and payload non-empty. An empty signature
/// (the `alg: none` shape) gets past this so the header check can name the algorithm.
pub(crate) fn split_compact(token: &str) -> Result<(&str, &str, &str), TokenError> {
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() => Ok((h, p, s)),
        _ => Err(TokenError::Malformed {
            reason: "expected three parts",
        }),
    }
}

/// The members of a JOSE header this crate reads.
#[derive(serde::Deserialize)]
pub(crate) struct RawHeader {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
}

/// Decodes a base64url JOSE header and refuses every algorithm but ours.
pub(crate) fn parse_header(b64: &str) -> Result<RawHeader, TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| TokenError::Malformed {
            reason: "header is not base64url",
        })?;
    let header: RawHeader = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed {
        reason: "header is not a JSON object with `alg`",
    })?;
    if !matches!(header.alg.as_str(), "HS256" | "EdDSA" | "ES256") {
        return Err(TokenError::UnsupportedAlgorithm {
            alg: crate::error::escape_untrusted(&header.alg, 16),
        });
    }
    Ok(header)
}

/// Checks a compact JWS against the key `kid`, pinned to `alg`, at the signature layer
/// only: the header's `alg` must equal `alg` and the signature must verify under
/// `decoding`. Returns the decoded payload.
pub(super) fn verify_compact(
    token: &str,
    kid: &KeyId,
    alg: Algorithm,
    decoding: &DecodingKey,
) -> Result<Vec<u8>, TokenError> {
    let parts = split_compact(token)?;
    let header = parse_header(parts.0)?;
    if header.alg != alg.as_str() {
        return Err(TokenError::AlgorithmMismatch {
            kid: kid.clone(),
            alg: crate::error::escape_untrusted(&header.alg, 16),
            pinned: alg.as_str(),
        });
    }
    let signing_input =
        token
            .get(..parts.0.len() + 1 + parts.1.len())
            .ok_or(TokenError::Malformed {
                reason: "expected three parts",
            })?;
    let ok = jsonwebtoken::crypto::verify(parts.2, signing_input.as_bytes(), decoding, alg.jwt())
        .unwrap_or(false);
    if !ok {
        return Err(TokenError::InvalidSignature);
    }
    URL_SAFE_NO_PAD
        .decode(parts.1)
        .map_err(|_| TokenError::Malformed {
            reason: "payload is not base64url",
        })
}
