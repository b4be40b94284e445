//! Token key files: PKCS#8 PEM for EdDSA and ES256, a JSON Web Key (`kty` `oct`) for HS256.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use portcullis_core::{KeyId, SecretArray, SecretBytes, SecureRandom};
use portcullis_tokens::{Algorithm, KeyMaterial};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::input;

/// An HS256 key file: `{"kty":"oct","alg":"HS256","kid":"…","k":"<base64url secret>"}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OctJwk {
    kty: String,
    alg: String,
    kid: String,
    k: String,
}

impl Drop for OctJwk {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.k);
    }
}

/// A new private key of `alg`, as file contents (secret).
pub(crate) fn generate(alg: Algorithm, rng: &dyn SecureRandom) -> CliResult<Zeroizing<String>> {
    match alg {
        Algorithm::EdDsa => {
            let seed: SecretArray<32> = SecretArray::random(rng).map_err(CliError::failed)?;
            // PKCS#8 v1 without the optional public key, as `openssl genpkey` writes it:
            // OpenSSL-based loaders (Python `cryptography`) refuse the v2 form.
            let key = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: *seed.expose_secret(),
                public_key: None,
            };
            let pem = key
                .to_pkcs8_pem(Default::default())
                .map_err(|_| CliError::Failed("cannot encode the key".to_owned()))?;
            Ok(Zeroizing::new(pem.as_str().to_owned()))
        }
        Algorithm::Es256 => {
            for _ in 0..64 {
                let scalar: SecretArray<32> = SecretArray::random(rng).map_err(CliError::failed)?;
                if let Ok(key) = p256::SecretKey::from_slice(scalar.expose_secret()) {
                    let pem = p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, Default::default())
                        .map_err(|_| CliError::Failed("cannot encode the key".to_owned()))?;
                    return Ok(Zeroizing::new(pem.as_str().to_owned()));
                }
            }
            Err(CliError::Failed(
                "could not generate a P-256 key".to_owned(),
            ))
        }
        _ => {
            let secret = SecretBytes::random(rng, 32).map_err(CliError::failed)?;
            let label: [u8; 8] = portcullis_core::random_array(rng).map_err(CliError::failed)?;
            let jwk = OctJwk {
                kty: "oct".to_owned(),
                alg: "HS256".to_owned(),
                kid: format!("hs256-{}", hex::encode(label)),
                k: URL_SAFE_NO_PAD.encode(secret.expose_secret()),
            };
            let text = serde_json::to_string(&jwk).map_err(CliError::failed)?;
            Ok(Zeroizing::new(format!("{text}\n")))
        }
    }
}

/// Loads a private key file (PEM or HS256 JWK), detecting its algorithm.
pub(crate) fn load(path: &Path) -> CliResult<KeyMaterial> {
    let text = Zeroizing::new(input::read_text(path)?);
    let bad = |what: &str| CliError::Usage(format!("key file `{}`: {what}", path.display()));
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let jwk: OctJwk =
            serde_json::from_str(trimmed).map_err(|_| bad("not an HS256 JSON Web Key"))?;
        if jwk.kty != "oct" || jwk.alg != "HS256" {
            return Err(bad("expected `kty` `oct` and `alg` `HS256`"));
        }
        let secret = SecretBytes::new(
            URL_SAFE_NO_PAD
                .decode(jwk.k.as_bytes())
                .map_err(|_| bad("`k` is not base64url"))?,
        );
        let kid = KeyId::new(jwk.kid.as_str()).map_err(|e| bad(&e.to_string()))?;
        return KeyMaterial::hs256(kid, &secret).map_err(|e| bad(&e.to_string()));
    }
    if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(trimmed) {
        let seed = SecretArray::new(key.to_bytes());
        return KeyMaterial::ed25519_from_seed(&seed).map_err(|e| bad(&e.to_string()));
    }
    if let Ok(key) = <p256::SecretKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_pem(trimmed) {
        let scalar = SecretArray::new(key.to_bytes().into());
        return KeyMaterial::es256_from_scalar(&scalar).map_err(|e| bad(&e.to_string()));
    }
    Err(bad(
        "not a PKCS#8 PEM Ed25519 or P-256 private key, nor an HS256 JSON Web Key",
    ))
}

/// One key of a JWKS document, as read.
#[derive(Deserialize)]
struct JwkIn {
    kty: String,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct JwksIn {
    keys: Vec<JwkIn>,
}

fn b64(field: &str, v: Option<&String>) -> CliResult<Vec<u8>> {
    let v = v.ok_or_else(|| CliError::Usage(format!("jwks key lacks `{field}`")))?;
    URL_SAFE_NO_PAD
        .decode(v.as_bytes())
        .map_err(|_| CliError::Usage(format!("jwks key `{field}` is not base64url")))
}

/// The verify-only keys of a JWKS document. A key whose `kid` is not its RFC 7638
/// thumbprint is refused (tokens name keys by thumbprint).
pub(crate) fn load_jwks(path: &Path) -> CliResult<Vec<KeyMaterial>> {
    let text = input::read_text(path)?;
    let doc: JwksIn = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!("`{}` is not a JWKS document: {e}", path.display()))
    })?;
    let mut out = Vec::new();
    for k in doc.keys {
        let key = match (k.kty.as_str(), k.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                let x: [u8; 32] = b64("x", k.x.as_ref())?
                    .try_into()
                    .map_err(|_| CliError::Usage("jwks Ed25519 `x` is not 32 bytes".to_owned()))?;
                KeyMaterial::ed25519_public(&x).map_err(CliError::usage)?
            }
            ("EC", Some("P-256")) => {
                let mut sec1 = vec![0x04];
                sec1.extend(b64("x", k.x.as_ref())?);
                sec1.extend(b64("y", k.y.as_ref())?);
                KeyMaterial::es256_public(&sec1).map_err(CliError::usage)?
            }
            // Other keys (RSA, symmetric) are skipped: this tool never verifies with them.
            _ => continue,
        };
        if let Some(kid) = &k.kid
            && kid != key.kid().as_str()
        {
            return Err(CliError::Usage(format!(
                "jwks key `{kid}`: its kid is not its RFC 7638 thumbprint `{}`",
                key.kid()
            )));
        }
        out.push(key);
    }
    if out.is_empty() {
        return Err(CliError::Usage(format!(
            "`{}` holds no Ed25519 or P-256 key",
            path.display()
        )));
    }
    Ok(out)
}

/// The algorithm named on the command line.
pub(crate) fn same_alg(expected: Algorithm, key: &KeyMaterial) -> CliResult {
    if key.algorithm() == expected {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "`--alg {expected}` does not match the key file, which holds an {} key",
            key.algorithm()
        )))
    }
}
