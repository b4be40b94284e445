//! Signing keys, their lifecycle, and the JWKS export.

use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::pkcs8::EncodePrivateKey as _;
use portcullis_core::{KeyId, SecretArray, SecretBytes, SecureRandom};
use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// Where a key is in its lifecycle (see [`SigningKeys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyState {
    /// Published, not yet signing.
    Standby,
    /// The one key that signs.
    Active,
    /// No longer signs; still verifies.
    VerifyOnly,
    /// Neither signs nor verifies.
    Retired,
}

/// Minimum HS256 secret length in bytes (RFC 7518 section 3.2: at least the hash size).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// Key material before it is added to a ring: a private key (can sign) or a public key
/// (verify only).
pub struct KeyMaterial {
    kid: KeyId,
    alg: Algorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    public_jwk: Option<PublicJwk>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &self.encoding.is_some())
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    /// An HS256 key with an operator-chosen `kid`.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the secret is shorter than [`MIN_HMAC_SECRET_LEN`].
    pub fn hs256(kid: KeyId, secret: &SecretBytes) -> Result<Self, TokenError> {
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(TokenError::SigningKeys {
                reason: format!(
                    "hs256 secret is {} bytes, at least {MIN_HMAC_SECRET_LEN} are required",
                    secret.len()
                ),
            });
        }
        Ok(Self {
            kid,
            alg: Algorithm::Hs256,
            encoding: Some(EncodingKey::from_secret(secret.expose_secret())),
            decoding: DecodingKey::from_secret(secret.expose_secret()),
            public_jwk: None,
        })
    }

    /// A fresh key of `alg` drawn from `rng`. HS256 keys get a 32-byte secret and `kid`
    /// `hs256-<first 16 hex digits of a random id>`; asymmetric keys get their thumbprint.
    ///
    /// # Errors
    ///
    /// [`TokenError::Random`] if the generator fails.
    pub fn generate(alg: Algorithm, rng: &dyn SecureRandom) -> Result<Self, TokenError> {
        match alg {
            Algorithm::Hs256 => {
                let secret = SecretBytes::random(rng, 32)?;
                let label: [u8; 8] = portcullis_core::random_array(rng)?;
                let kid = key_id(&format!("hs256-{}", hex_lower(&label)))?;
                Self::hs256(kid, &secret)
            }
            // For P-256, draw again when the scalar is out of range (about 2^-32). Bounded
            // so a broken generator cannot loop forever.
            Algorithm::EdDsa => {
                for _ in 0..64 {
                    if let Ok(key) = Self::ed25519_from_seed(&SecretArray::random(rng)?) {
                        return Ok(key);
                    }
                }
                Err(key_err("could not generate an ed25519 key"))
            }
            Algorithm::Es256 => {
                for _ in 0..64 {
                    if let Ok(key) = Self::es256_from_scalar(&SecretArray::random(rng)?) {
                        return Ok(key);
                    }
                }
                Err(key_err("could not generate a p-256 key"))
            }
        }
    }

    /// An Ed25519 signing key from its 32-byte seed (the JWK `d`).
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the key cannot be encoded.
    pub fn ed25519_from_seed(seed: &SecretArray<32>) -> Result<Self, TokenError> {
        let signing = ed25519_dalek::SigningKey::from_bytes(seed.expose_secret());
        let der = signing
            .to_pkcs8_der()
            .map_err(|_| key_err("cannot encode ed25519 key"))?;
        let public = signing.verifying_key().to_bytes();
        let mut key = Self::ed25519_public(&public)?;
        key.encoding = Some(EncodingKey::from_ed_der(der.as_bytes()));
        Ok(key)
    }

    /// A verify-only Ed25519 key from its 32-byte public key (the JWK `x`).
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the bytes are not a valid Ed25519 point.
    pub fn ed25519_public(public: &[u8; 32]) -> Result<Self, TokenError> {
        ed25519_dalek::VerifyingKey::from_bytes(public)
            .map_err(|_| key_err("invalid ed25519 public key"))?;
        let jwk = PublicJwk::Okp {
            crv: "Ed25519",
            x: URL_SAFE_NO_PAD.encode(public),
        };
        Ok(Self {
            kid: jwk.thumbprint()?,
            alg: Algorithm::EdDsa,
            encoding: None,
            decoding: DecodingKey::from_ed_der(public),
            public_jwk: Some(jwk),
        })
    }

    /// A P-256 signing key from its 32-byte secret scalar (the JWK `d`).
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the scalar is zero or not below the group order.
    pub fn es256_from_scalar(scalar: &SecretArray<32>) -> Result<Self, TokenError> {
        let secret = p256::SecretKey::from_slice(scalar.expose_secret())
            .map_err(|_| key_err("invalid p-256 scalar"))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|_| key_err("cannot encode p-256 key"))?;
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let mut key = Self::es256_public(point.as_bytes())?;
        key.encoding = Some(EncodingKey::from_ec_der(der.as_bytes()));
        Ok(key)
    }

    /// A verify-only P-256 key from its SEC1 encoding (65 bytes uncompressed or 33 compressed).
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the bytes are not a point on P-256.
    pub fn es256_public(sec1: &[u8]) -> Result<Self, TokenError> {
        let public = p256::PublicKey::from_sec1_bytes(sec1)
            .map_err(|_| key_err("invalid p-256 public key"))?;
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(key_err("invalid p-256 public key"));
        };
        let jwk = PublicJwk::Ec {
            crv: "P-256",
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
        };
        Ok(Self {
            kid: jwk.thumbprint()?,
            alg: Algorithm::Es256,
            encoding: None,
            decoding: DecodingKey::from_ec_der(point.as_bytes()),
            public_jwk: Some(jwk),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The algorithm this key is pinned to.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether this material can sign.
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    /// Verifies a compact JWS at the signature layer only: the header's `alg` must equal
    /// this key's algorithm and the signature must verify. Returns the decoded payload.
    /// No claim is looked at; use [`TokenService`](crate::TokenService) for tokens.
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`], [`TokenError::UnsupportedAlgorithm`],
    /// [`TokenError::AlgorithmMismatch`], [`TokenError::InvalidSignature`].
    pub fn verify_jws(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        let parts = split_compact(token)?;
        let header = parse_header(parts.0)?;
        if header.alg != self.alg.as_str() {
            return Err(TokenError::AlgorithmMismatch {
                kid: self.kid.clone(),
                alg: crate::error::escape_untrusted(&header.alg, 16),
                pinned: self.alg.as_str(),
            });
        }
        let signing_input =
            token
                .get(..parts.0.len() + 1 + parts.1.len())
                .ok_or(TokenError::Malformed {
                    reason: "expected three parts",
                })?;
        let ok = jsonwebtoken::crypto::verify(
            parts.2,
            signing_input.as_bytes(),
            &self.decoding,
            self.alg.jwt(),
        )
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

fn key_err(reason: &str) -> TokenError {
    TokenError::SigningKeys {
        reason: reason.to_owned(),
    }
}

fn key_id(s: &str) -> Result<KeyId, TokenError> {
    KeyId::new(s).map_err(|e| TokenError::SigningKeys {
        reason: e.to_string(),
    })
}

fn hex_lower(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The public members of an asymmetric JWK, in the form RFC 7638 hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicJwk {
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
    fn thumbprint(&self) -> Result<KeyId, TokenError> {
        let print = URL_SAFE_NO_PAD.encode(Sha256::digest(self.canonical().as_bytes()));
        KeyId::new(print.as_str()).map_err(|e| TokenError::SigningKeys {
            reason: format!("the RFC 7638 thumbprint is not a key id: {e}"),
        })
    }
}

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

/// A key as held by the ring.
pub(crate) struct RingKey {
    pub(crate) kid: KeyId,
    pub(crate) alg: Algorithm,
    pub(crate) state: KeyState,
    pub(crate) encoding: Option<EncodingKey>,
    pub(crate) decoding: DecodingKey,
    public_jwk: Option<PublicJwk>,
}

/// The set of keys a service signs and verifies with. Cheap to share (`Arc<SigningKeys>`);
/// lifecycle changes take `&self` and are atomic with respect to signing and verifying.
///
/// Every key is pinned to exactly one [`Algorithm`] when it is created; verification uses
/// the key's algorithm and refuses a token whose header names another, so the header's
/// `alg` is never trusted to choose how to verify.
///
/// Lifecycle (one direction only):
///
/// | state | signs new tokens | verifies | in JWKS |
/// |-------|------------------|----------|---------|
/// | [`KeyState::Standby`] | no | yes | yes (published ahead of use) |
/// | [`KeyState::Active`] (exactly one) | yes | yes | yes |
/// | [`KeyState::VerifyOnly`] | no | yes | yes |
/// | [`KeyState::Retired`] | no | no: [`TokenError::KeyRetired`] | no |
///
/// Zero-downtime rotation: add the next key as standby (verifiers fetch the JWKS), then
/// [`SigningKeys::activate`] it (the previous active key becomes verify-only, so tokens it
/// signed keep verifying), and once the longest token lifetime has passed,
/// [`SigningKeys::retire`] the old key.
///
/// `kid` is the RFC 7638 JWK thumbprint (SHA-256, base64url) for Ed25519 and P-256 keys;
/// HS256 keys carry a `kid` chosen by the operator (a thumbprint of a shared secret would
/// be a hash of the secret).
#[derive(Default)]
pub struct SigningKeys {
    keys: RwLock<Vec<Arc<RingKey>>>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let states = self.states().unwrap_or_default();
        f.debug_struct("SigningKeys")
            .field("keys", &states)
            .finish()
    }
}

fn poisoned() -> TokenError {
    key_err("key ring lock poisoned")
}

impl SigningKeys {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ring for services that share HS256 secrets: `current` signs, `previous` (if any)
    /// still verifies.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] for short secrets or equal key ids.
    pub fn hs256(
        current: (KeyId, &SecretBytes),
        previous: Option<(KeyId, &SecretBytes)>,
    ) -> Result<Self, TokenError> {
        let ring = Self::new();
        if let Some((kid, secret)) = previous {
            ring.insert(KeyMaterial::hs256(kid, secret)?, KeyState::VerifyOnly)?;
        }
        ring.insert(KeyMaterial::hs256(current.0, current.1)?, KeyState::Active)?;
        Ok(ring)
    }

    /// Adds `key` in `state`. Adding an [`KeyState::Active`] key demotes the current active
    /// key to verify-only.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the `kid` is already present, or if a verify-only key
    /// (no private part) is added as active.
    pub fn insert(&self, key: KeyMaterial, state: KeyState) -> Result<(), TokenError> {
        if state == KeyState::Active && key.encoding.is_none() {
            return Err(key_err("a public key cannot be active"));
        }
        let mut keys = self.keys.write().map_err(|_| poisoned())?;
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(TokenError::SigningKeys {
                reason: format!("key `{}` is already in the ring", key.kid),
            });
        }
        if state == KeyState::Active {
            demote_active(&mut keys);
        }
        keys.push(Arc::new(RingKey {
            kid: key.kid,
            alg: key.alg,
            state,
            encoding: key.encoding,
            decoding: key.decoding,
            public_jwk: key.public_jwk,
        }));
        Ok(())
    }

    /// Makes the standby key `kid` the signing key; the previous active key becomes
    /// verify-only.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if `kid` is unknown, not in standby, or has no private key.
    pub fn activate(&self, kid: &KeyId) -> Result<(), TokenError> {
        let mut keys = self.keys.write().map_err(|_| poisoned())?;
        let idx = find(&keys, kid)?;
        let key = keys.get(idx).ok_or_else(poisoned)?;
        if key.state != KeyState::Standby || key.encoding.is_none() {
            return Err(transition_err(kid, key.state, KeyState::Active));
        }
        demote_active(&mut keys);
        set_state(&mut keys, idx, KeyState::Active)
    }

    /// Retires the verify-only key `kid`: tokens it signed stop verifying.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if `kid` is unknown or not verify-only (an active key must
    /// be replaced first; a standby key can simply be removed).
    pub fn retire(&self, kid: &KeyId) -> Result<(), TokenError> {
        let mut keys = self.keys.write().map_err(|_| poisoned())?;
        let idx = find(&keys, kid)?;
        let state = keys.get(idx).map(|k| k.state).ok_or_else(poisoned)?;
        if state != KeyState::VerifyOnly {
            return Err(transition_err(kid, state, KeyState::Retired));
        }
        set_state(&mut keys, idx, KeyState::Retired)
    }

    /// Removes a retired or standby key entirely (its tokens then fail with
    /// [`TokenError::UnknownKey`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if `kid` is unknown, active or verify-only.
    pub fn remove(&self, kid: &KeyId) -> Result<(), TokenError> {
        let mut keys = self.keys.write().map_err(|_| poisoned())?;
        let idx = find(&keys, kid)?;
        let state = keys.get(idx).map(|k| k.state).ok_or_else(poisoned)?;
        if !matches!(state, KeyState::Retired | KeyState::Standby) {
            return Err(key_err("only retired or standby keys can be removed"));
        }
        keys.remove(idx);
        Ok(())
    }

    /// The state of every key, in insertion order.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the ring's lock was poisoned.
    pub fn states(&self) -> Result<Vec<(KeyId, Algorithm, KeyState)>, TokenError> {
        let keys = self.keys.read().map_err(|_| poisoned())?;
        Ok(keys
            .iter()
            .map(|k| (k.kid.clone(), k.alg, k.state))
            .collect())
    }

    /// The public keys of every standby, active and verify-only asymmetric key. HS256
    /// secrets are never exported.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the ring's lock was poisoned.
    pub fn jwks(&self) -> Result<Jwks, TokenError> {
        let keys = self.keys.read().map_err(|_| poisoned())?;
        let keys = keys
            .iter()
            .filter(|k| k.state != KeyState::Retired)
            .filter_map(|k| {
                let (kty, crv, x, y) = match k.public_jwk.as_ref()? {
                    PublicJwk::Okp { crv, x } => ("OKP", *crv, x.clone(), None),
                    PublicJwk::Ec { crv, x, y } => ("EC", *crv, x.clone(), Some(y.clone())),
                };
                Some(Jwk {
                    kty,
                    crv,
                    x,
                    y,
                    kid: k.kid.to_string(),
                    alg: k.alg.as_str(),
                    use_: "sig",
                })
            })
            .collect();
        Ok(Jwks { keys })
    }

    pub(crate) fn active(&self) -> Result<Arc<RingKey>, TokenError> {
        let keys = self.keys.read().map_err(|_| poisoned())?;
        keys.iter()
            .find(|k| k.state == KeyState::Active)
            .cloned()
            .ok_or_else(|| key_err("no active signing key"))
    }

    /// Finds the key named by an untrusted `kid`, without allocating on the hot path.
    pub(crate) fn lookup(&self, kid: &str) -> Result<Arc<RingKey>, TokenError> {
        let keys = self.keys.read().map_err(|_| poisoned())?;
        let key = keys.iter().find(|k| k.kid.as_str() == kid).cloned();
        drop(keys);
        match key {
            None => Err(TokenError::UnknownKey {
                kid: crate::error::escape_untrusted(kid, 128),
            }),
            Some(k) if k.state == KeyState::Retired => {
                Err(TokenError::KeyRetired { kid: k.kid.clone() })
            }
            Some(k) => Ok(k),
        }
    }
}

fn find(keys: &[Arc<RingKey>], kid: &KeyId) -> Result<usize, TokenError> {
    keys.iter()
        .position(|k| &k.kid == kid)
        .ok_or_else(|| TokenError::SigningKeys {
            reason: format!("no key `{kid}` in the ring"),
        })
}

fn transition_err(kid: &KeyId, from: KeyState, to: KeyState) -> TokenError {
    TokenError::SigningKeys {
        reason: format!("key `{kid}` cannot go from {from:?} to {to:?}"),
    }
}

fn demote_active(keys: &mut [Arc<RingKey>]) {
    for key in keys.iter_mut() {
        if key.state == KeyState::Active {
            *key = Arc::new(with_state(key, KeyState::VerifyOnly));
        }
    }
}

fn set_state(keys: &mut [Arc<RingKey>], idx: usize, state: KeyState) -> Result<(), TokenError> {
    let slot = keys.get_mut(idx).ok_or_else(poisoned)?;
    *slot = Arc::new(with_state(slot, state));
    Ok(())
}

fn with_state(key: &RingKey, state: KeyState) -> RingKey {
    RingKey {
        kid: key.kid.clone(),
        alg: key.alg,
        state,
        encoding: key.encoding.clone(),
        decoding: key.decoding.clone(),
        public_jwk: key.public_jwk.clone(),
    }
}
