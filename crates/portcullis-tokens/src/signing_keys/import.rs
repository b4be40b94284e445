//! Verification keys from JWK (RFC 7517) and JWKS documents, as identity providers publish
//! them: each key pinned to one algorithm (from its `alg`, its curve, or the caller), named
//! by its own `kid` (else its RFC 7638 thumbprint). Keys that cannot be used for
//! verification here are skipped with a reason rather than failing the whole document, so
//! one unusual key in a provider's set does not stop the others.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::KeyId;
use serde_json::{Map, Value};

use super::jws::Algorithm;
use super::material::{KeyMaterial, key_err};
use crate::error::{TokenError, escape_untrusted};

/// The most keys a JWKS document may hold (a larger one is refused whole).
pub const MAX_JWKS_KEYS: usize = 100;

/// A key of a JWKS document that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedJwk {
    /// Its `kid`, if it had a string one (escaped, at most 64 characters).
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: &'static str,
}

/// The verification keys of a JWKS document, and the keys that were skipped.
#[derive(Debug)]
#[non_exhaustive]
pub struct JwksKeys {
    /// The usable keys, in document order, each verify-only.
    pub keys: Vec<KeyMaterial>,
    /// The keys left out, in document order.
    pub skipped: Vec<SkippedJwk>,
}

/// Parses a JWKS document (`{"keys": [...]}`). RSA keys without an `alg` member are pinned
/// to `rsa_default` (RS256 and PS256 keys look alike; `None` skips them). A key is
/// skipped when its `use` is not `sig`, its `key_ops` lack `verify`, it carries private
/// members, it is symmetric, its algorithm or curve is not supported, its members do not
/// form a valid key (RSA: 2048 to 4096 bits), or its `kid` repeats an earlier one.
///
/// # Errors
///
/// [`TokenError::SigningKeys`] if the document is not a JSON object with a `keys` array
/// of at most [`MAX_JWKS_KEYS`] entries.
pub fn parse_jwks(json: &[u8], rsa_default: Option<Algorithm>) -> Result<JwksKeys, TokenError> {
    let doc: Value =
        serde_json::from_slice(json).map_err(|_| key_err("the JWKS document is not JSON"))?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err(key_err("the JWKS document has no `keys` array"));
    };
    if entries.len() > MAX_JWKS_KEYS {
        return Err(TokenError::SigningKeys {
            reason: format!(
                "the JWKS document holds {} keys, at most {MAX_JWKS_KEYS} are accepted",
                entries.len()
            ),
        });
    }
    let mut out = JwksKeys {
        keys: Vec::new(),
        skipped: Vec::new(),
    };
    for entry in entries {
        let kid = entry
            .get("kid")
            .and_then(Value::as_str)
            .map(|k| escape_untrusted(k, 64));
        match from_value(entry, rsa_default) {
            Ok(key) if out.keys.iter().any(|k| k.kid() == key.kid()) => {
                out.skipped.push(SkippedJwk {
                    kid,
                    reason: "its kid repeats an earlier key's",
                });
            }
            Ok(key) => out.keys.push(key),
            Err(reason) => out.skipped.push(SkippedJwk { kid, reason }),
        }
    }
    Ok(out)
}

impl KeyMaterial {
    /// A verify-only key from one JWK (JSON text), by the rules of [`parse_jwks`].
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] naming why the key cannot be used.
    pub fn from_jwk(json: &str, rsa_default: Option<Algorithm>) -> Result<Self, TokenError> {
        let value: Value =
            serde_json::from_str(json).map_err(|_| key_err("the JWK is not JSON"))?;
        from_value(&value, rsa_default).map_err(key_err)
    }
}

fn b64(obj: &Map<String, Value>, member: &str) -> Result<Vec<u8>, &'static str> {
    let text = obj
        .get(member)
        .and_then(Value::as_str)
        .ok_or("a required member is missing or not a string")?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| "a member is not base64url")
}

fn from_value(value: &Value, rsa_default: Option<Algorithm>) -> Result<KeyMaterial, &'static str> {
    let obj = value.as_object().ok_or("the key is not a JSON object")?;
    let text = |m: &str| obj.get(m).and_then(Value::as_str);
    if obj.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return Err("its `use` is not `sig`");
    }
    if let Some(ops) = obj.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some("verify")));
        if !verify {
            return Err("its `key_ops` do not include `verify`");
        }
    }
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| obj.contains_key(*m))
    {
        return Err("it carries private or symmetric key members");
    }
    let alg = match obj.get("alg") {
        None => None,
        Some(a) => Some(
            a.as_str()
                .and_then(Algorithm::from_name)
                .ok_or("its `alg` is not supported")?,
        ),
    };
    let key = match (text("kty"), text("crv")) {
        (Some("OKP"), Some("Ed25519")) => {
            pinned(alg, Algorithm::EdDsa)?;
            let x: [u8; 32] = b64(obj, "x")?
                .try_into()
                .map_err(|_| "an Ed25519 `x` is not 32 bytes")?;
            KeyMaterial::ed25519_public(&x).map_err(|_| "not a valid Ed25519 key")?
        }
        (Some("EC"), Some(crv @ ("P-256" | "P-384"))) => {
            let (curve_alg, len) = if crv == "P-256" {
                (Algorithm::Es256, 32)
            } else {
                (Algorithm::Es384, 48)
            };
            pinned(alg, curve_alg)?;
            let (x, y) = (b64(obj, "x")?, b64(obj, "y")?);
            if x.len() != len || y.len() != len {
                return Err("an EC coordinate has the wrong length for its curve");
            }
            let sec1 = [&[4u8][..], &x, &y].concat();
            if curve_alg == Algorithm::Es256 {
                KeyMaterial::es256_public(&sec1)
            } else {
                KeyMaterial::es384_public(&sec1)
            }
            .map_err(|_| "not a point on its curve")?
        }
        (Some("EC"), _) | (Some("OKP"), _) => return Err("its curve is not supported"),
        (Some("RSA"), _) => {
            let alg = alg
                .or(rsa_default)
                .ok_or("an RSA key without `alg` and no default RSA algorithm")?;
            if !alg.is_rsa() {
                return Err("an RSA key whose `alg` is not RS* or PS*");
            }
            KeyMaterial::rsa_public(alg, &b64(obj, "n")?, &b64(obj, "e")?)
                .map_err(|_| "not an RSA key of 2048 to 4096 bits")?
        }
        (Some("oct"), _) => return Err("symmetric keys are not taken from a JWKS"),
        _ => return Err("its `kty` is not supported"),
    };
    match obj.get("kid") {
        None => Ok(key),
        Some(kid) => {
            let kid = kid
                .as_str()
                .and_then(|k| KeyId::new(k).ok())
                .ok_or("its `kid` is not a valid key id")?;
            Ok(key.with_key_id(kid))
        }
    }
}

/// The key type decides the algorithm; a JWK `alg` must agree with it.
fn pinned(alg: Option<Algorithm>, by_type: Algorithm) -> Result<(), &'static str> {
    match alg {
        Some(a) if a != by_type => Err("its `alg` does not match its key type"),
        _ => Ok(()),
    }
}

/// DPoP (RFC 9449 §4.3, checks 5 to 7): the proof header's public `jwk` as a key pinned to
/// the header's `alg` (asymmetric only, no private members), then the proof's signature
/// with it. Returns the key's RFC 7638 thumbprint (any `kid` member is ignored: the
/// thumbprint names the key). The error says which check failed, never a member's value.
///
/// ECDSA signatures are accepted in either S form: unlike a token, a proof's string is not
/// its identity (its replay key is its key's thumbprint and its `jti`, so the other form
/// of a seen proof is a replay), and clients that do not normalise S (WebCrypto in
/// browsers, OpenSSL; RFC 9449's own examples are high-S) would fail half their proofs.
pub(crate) fn verify_with_embedded_jwk(
    jwk: &Value,
    alg: Algorithm,
    signing_input: &str,
    signature: &str,
) -> Result<KeyId, &'static str> {
    let mut obj = jwk
        .as_object()
        .cloned()
        .ok_or("the header's `jwk` is not a JSON object")?;
    obj.remove("kid");
    let key = from_value(&Value::Object(obj), alg.is_rsa().then_some(alg))?;
    if key.alg != alg {
        return Err("the header's `alg` does not match its `jwk`");
    }
    super::jws::verify_signature(signing_input, signature, key.alg, &key.decoding, true)
        .map_err(|_| "the proof's signature does not verify")?;
    Ok(key.kid)
}
