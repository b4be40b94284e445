//! Public keys as JWKs (RFC 7517): the members of an asymmetric key, its RFC 7638
//! thumbprint (the `kid` of Ed25519 and P-256 keys), and the JWKS document served at
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
    /// `OKP` or `EC`.
    pub kty: &'static str,
    /// `Ed25519` or `P-256`.
    pub crv: &'static str,
    /// The x coordinate (or the Ed25519 public key), base64url.
    pub x: String,
    /// The y coordinate for EC keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The key id (RFC 7638 thumbprint).
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
        let (kty, crv, x, y) = match self {
            Self::Okp { crv, x } => ("OKP", *crv, x.clone(), None),
            Self::Ec { crv, x, y } => ("EC", *crv, x.clone(), Some(y.clone())),
        };
        Jwk {
            kty,
            crv,
            x,
            y,
            kid: kid.to_string(),
            alg: alg.as_str(),
            use_: "sig",
        }
    }
}
