//! JWS (RFC 7515) compact serialization: the algorithms this crate accepts, splitting a
//! token into its three parts, reading the header, and checking a signature with a key
//! pinned to one algorithm.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use portcullis_core::KeyId;

use crate::error::TokenError;

/// A JWS algorithm (RFC 7518, RFC 8037) this crate verifies with. Every key is pinned to
/// exactly one. This crate issues with HS256, EdDSA and ES256; the RSA algorithms and
/// ES384 are for verifying identity providers' tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA256 with a shared secret of at least 32 bytes.
    Hs256,
    /// Ed25519 (RFC 8037 `EdDSA`).
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (keys of 2048 to 4096 bits).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384 and MGF1-SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512 and MGF1-SHA-512.
    Ps512,
}

impl Algorithm {
    /// Every algorithm, in the order of this enum.
    pub const ALL: [Algorithm; 10] = [
        Self::Hs256,
        Self::EdDsa,
        Self::Es256,
        Self::Es384,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
    ];

    /// The JOSE name (`HS256`, `EdDSA`, `ES256`, `ES384`, `RS256`, ..., `PS512`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
        }
    }

    /// The algorithm with JOSE name `name` (exact, case-sensitive), if this crate has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether this is one of the RSA algorithms (`RS*`, `PS*`).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512
        )
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Self::Hs256 => J::HS256,
            Self::EdDsa => J::EdDSA,
            Self::Es256 => J::ES256,
            Self::Es384 => J::ES384,
            Self::Rs256 => J::RS256,
            Self::Rs384 => J::RS384,
            Self::Rs512 => J::RS512,
            Self::Ps256 => J::PS256,
            Self::Ps384 => J::PS384,
            Self::Ps512 => J::PS512,
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
    /// The media type of the token (RFC 7515 section 4.1.9; `at+jwt` per RFC 9068).
    #[serde(default)]
    pub(crate) typ: Option<String>,
    /// RFC 7515 section 4.1.11: extensions the recipient must understand (`Some` even
    /// for `"crit": null`, which is malformed).
    #[serde(default, deserialize_with = "present")]
    crit: Option<serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    <serde_json::Value as serde::Deserialize>::deserialize(d).map(Some)
}

/// Header parameters registered by RFC 7515 and RFC 7516; `crit` may not list them.
const REGISTERED_HEADERS: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip",
];

/// Decodes a base64url JOSE header, refuses every algorithm but ours, and refuses a
/// `crit` header (RFC 7515 section 4.1.11) unless every extension it lists is in
/// `understood` and present in the header. This crate processes no header extension, so
/// its own verifiers pass an empty list: any `crit` is refused.
pub(crate) fn parse_header(b64: &str, understood: &[&str]) -> Result<RawHeader, TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| TokenError::Malformed {
            reason: "header is not base64url",
        })?;
    let header: RawHeader = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed {
        reason: "header is not a JSON object with `alg`",
    })?;
    if Algorithm::from_name(&header.alg).is_none() {
        return Err(TokenError::UnsupportedAlgorithm {
            alg: crate::error::escape_untrusted(&header.alg, 16),
        });
    }
    if let Some(crit) = &header.crit {
        // Rare: only then is the header read again, whole, to see which members it has.
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json)
            .map_err(|_| TokenError::Malformed {
                reason: "header is not a JSON object with `alg`",
            })?;
        check_crit(crit, &object, understood)?;
    }
    Ok(header)
}

fn check_crit(
    crit: &serde_json::Value,
    header: &serde_json::Map<String, serde_json::Value>,
    understood: &[&str],
) -> Result<(), TokenError> {
    let malformed = TokenError::Malformed {
        reason: "`crit` must be a non-empty array of extension names present in the header",
    };
    let names = match crit {
        serde_json::Value::Array(names) if !names.is_empty() => names,
        _ => return Err(malformed),
    };
    for name in names {
        let Some(name) = name.as_str() else {
            return Err(malformed);
        };
        if REGISTERED_HEADERS.contains(&name) || !header.contains_key(name) {
            return Err(malformed);
        }
        if !understood.contains(&name) {
            return Err(TokenError::UnsupportedCritical {
                name: crate::error::escape_untrusted(name, 32),
            });
        }
    }
    Ok(())
}

/// Checks the signature of the compact JWS `header.payload` with `decoding`, whose
/// algorithm is `alg`. ECDSA signatures must be in low-S form (s ≤ n/2), so a token has
/// exactly one valid signature: the other form (s → n − s) of the same signature, which
/// the curve's verification accepts too, is refused, unless `accept_high_s` (see
/// [`KeyMaterial::danger_accept_high_s`](super::KeyMaterial::danger_accept_high_s)).
pub(crate) fn verify_signature(
    signing_input: &str,
    signature: &str,
    alg: Algorithm,
    decoding: &DecodingKey,
    accept_high_s: bool,
) -> Result<(), TokenError> {
    if signature.is_empty() {
        return Err(TokenError::InvalidSignature);
    }
    if matches!(alg, Algorithm::Es256 | Algorithm::Es384) && !accept_high_s {
        let raw = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed {
                reason: "signature is not base64url",
            })?;
        // `normalize_s` is `Some` exactly when s is in the upper half.
        let high = if alg == Algorithm::Es256 {
            p256::ecdsa::Signature::from_slice(&raw)
                .map_err(|_| TokenError::InvalidSignature)?
                .normalize_s()
                .is_some()
        } else {
            p384::ecdsa::Signature::from_slice(&raw)
                .map_err(|_| TokenError::InvalidSignature)?
                .normalize_s()
                .is_some()
        };
        if high {
            return Err(TokenError::InvalidSignature);
        }
    }
    let valid =
        jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), decoding, alg.jwt())
            .map_err(|e| match e.into_kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_) => TokenError::Malformed {
                    reason: "signature is not base64url",
                },
                _ => TokenError::InvalidSignature,
            })?;
    if valid {
        Ok(())
    } else {
        Err(TokenError::InvalidSignature)
    }
}

/// Puts the ECDSA signature of a compact JWS that was just signed with `alg` into low-S
/// form (the signer does not always emit it; [`verify_signature`] accepts only it). Other
/// algorithms are returned as they are.
pub(crate) fn to_low_s(token: String, alg: Algorithm) -> Result<String, TokenError> {
    if alg != Algorithm::Es256 {
        return Ok(token);
    }
    let (input, sig) = token.rsplit_once('.').ok_or(TokenError::Signing)?;
    let raw = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Signing)?;
    let sig = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| TokenError::Signing)?;
    match sig.normalize_s() {
        None => Ok(token),
        Some(low) => Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(low.to_bytes())
        )),
    }
}

/// Checks a compact JWS against the key `kid`, pinned to `alg`, at the signature layer
/// only: the header's `alg` must equal `alg`, no `crit` extension, and the signature must
/// verify under `decoding`. Returns the decoded payload.
pub(super) fn verify_compact(
    token: &str,
    kid: &KeyId,
    alg: Algorithm,
    decoding: &DecodingKey,
    accept_high_s: bool,
) -> Result<Vec<u8>, TokenError> {
    let parts = split_compact(token)?;
    let header = parse_header(parts.0, &[])?;
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
    verify_signature(signing_input, parts.2, alg, decoding, accept_high_s)?;
    URL_SAFE_NO_PAD
        .decode(parts.1)
        .map_err(|_| TokenError::Malformed {
            reason: "payload is not base64url",
        })
}
