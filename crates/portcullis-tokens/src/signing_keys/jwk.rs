//! Public keys as JWKs (RFC 7517): the members of an asymmetric key, its RFC 7638
//! thumbprint (the `kid` of the keys this crate makes), and the JWKS document served at
//! `/.well-known/jwks.json`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::KeyId;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::jws::Algorithm;
use crate::error::TokenError;

/// One public key of a JWKS document (RFC 7517), as served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// `OKP`, `EC` or `RSA`.
    pub kty: &'static str,
    /// `Ed25519`, `P-256` or `P-384` (OKP and EC keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// The x coordinate (or the Ed25519 public key), base64url (OKP and EC keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y coordinate, base64url (EC keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The modulus, base64url big-endian without leading zeros (RSA keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The public exponent, base64url big-endian without leading zeros (RSA keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The key id.
    pub kid: String,
    /// The algorithm the key is pinned to.
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// A JWKS document: `{"keys":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// The published keys.
    pub keys: Vec<Jwk>,
}

/// The public members of an asymmetric JWK, in the form RFC 7638 hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PublicJwk {
    Okp {
        crv: &'static str,
        x: String,
    },
    Ec {
        crv: &'static str,
        x: String,
        y: String,
    },
    Rsa {
        n: String,
        e: String,
    },
}

impl PublicJwk {
    /// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    fn canonical(&self) -> String {
        // The member values are base64url or fixed curve names, so no JSON escaping applies.
        match self {
            Self::Okp { crv, x } => format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#),
            Self::Ec { crv, x, y } => {
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        }
    }

    /// The RFC 7638 thumbprint (base64url, no padding) as a `kid`. Every thumbprint is a
    /// valid `KeyId`; the error path exists only because `KeyId` is parsed, never assumed.
    pub(super) fn thumbprint(&self) -> Result<KeyId, TokenError> {
        let print = URL_SAFE_NO_PAD.encode(Sha256::digest(self.canonical().as_bytes()));
        KeyId::new(print.as_str()).map_err(|e| TokenError::SigningKeys {
            reason: format!("the RFC 7638 thumbprint is not a key id: {e}"),
        })
    }

    /// The published JWK of this key, named `kid` and pinned to `alg`.
    pub(super) fn to_jwk(&self, kid: &KeyId, alg: Algorithm) -> Jwk {
        let (kty, crv, x, y, n, e) = match self {
            Self::Okp { crv, x } => ("OKP", Some(*crv), Some(x.clone()), None, None, None),
            Self::Ec { crv, x, y } => (
                "EC",
                Some(*crv),
                Some(x.clone()),
                Some(y.clone()),
                None,
                None,
            ),
            Self::Rsa { n, e } => ("RSA", None, None, None, Some(n.clone()), Some(e.clone())),
        };
        Jwk {
            kty,
            crv,
            x,
            y,
            n,
            e,
            kid: kid.to_string(),
            alg: alg.as_str(),
            use_: "sig",
        }
    }
}
