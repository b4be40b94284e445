//! Key material: one signing or verifying key, pinned to one [`Algorithm`], built from a
//! secret (HS256), a seed or scalar (Ed25519, P-256), a public key, or drawn fresh.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::pkcs8::EncodePrivateKey as _;
use portcullis_core::{KeyId, SecretArray, SecretBytes, SecureRandom};

use super::jwk::PublicJwk;
use super::jws::{Algorithm, verify_compact};
use crate::error::TokenError;

/// Minimum HS256 secret length in bytes (RFC 7518 section 3.2: at least the hash size).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// The shortest RSA modulus accepted, in bits (RFC 7518 section 3.3: 2048 or larger).
pub const MIN_RSA_BITS: usize = 2048;

/// The longest RSA modulus accepted, in bits (the verifier's own bound).
pub const MAX_RSA_BITS: usize = 4096;

fn strip_zeros(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    v.get(start..).unwrap_or_default()
}

/// Key material before it is added to a ring: a private key (can sign) or a public key
/// (verify only).
pub struct KeyMaterial {
    pub(super) kid: KeyId,
    pub(super) alg: Algorithm,
    pub(super) encoding: Option<EncodingKey>,
    pub(super) decoding: DecodingKey,
    pub(super) public_jwk: Option<PublicJwk>,
    /// ECDSA only: also accept the high-S form of a signature.
    pub(super) accept_high_s: bool,
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
            accept_high_s: false,
        })
    }

    /// A fresh key of `alg` (HS256, EdDSA or ES256) drawn from `rng`. HS256 keys get a
    /// 32-byte secret and `kid` `hs256-<first 16 hex digits of a random id>`; asymmetric
    /// keys get their thumbprint.
    ///
    /// # Errors
    ///
    /// [`TokenError::Random`] if the generator fails; [`TokenError::SigningKeys`] for the
    /// algorithms this crate only verifies.
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
            other => Err(TokenError::SigningKeys {
                reason: format!("this crate does not generate {other} keys (it verifies them)"),
            }),
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
            accept_high_s: false,
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
            accept_high_s: false,
        })
    }

    /// A verify-only P-384 key from its SEC1 encoding (97 bytes uncompressed or 49
    /// compressed), pinned to ES384.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] if the bytes are not a point on P-384.
    pub fn es384_public(sec1: &[u8]) -> Result<Self, TokenError> {
        let public = p384::PublicKey::from_sec1_bytes(sec1)
            .map_err(|_| key_err("invalid p-384 public key"))?;
        let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(key_err("invalid p-384 public key"));
        };
        let jwk = PublicJwk::Ec {
            crv: "P-384",
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
        };
        Ok(Self {
            kid: jwk.thumbprint()?,
            alg: Algorithm::Es384,
            encoding: None,
            decoding: DecodingKey::from_ec_der(point.as_bytes()),
            public_jwk: Some(jwk),
            accept_high_s: false,
        })
    }

    /// A verify-only RSA key from its modulus `n` and public exponent `e` (big-endian
    /// bytes, as in a JWK), pinned to `alg` (one of `RS256` ... `PS512`). The modulus must
    /// be odd and 2048 to 4096 bits long, the exponent odd, at least 3 and below 2^32
    /// (any leading zero bytes are ignored).
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] for another algorithm or a key outside those bounds.
    pub fn rsa_public(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, TokenError> {
        if !alg.is_rsa() {
            return Err(key_err("an RSA key needs an RS* or PS* algorithm"));
        }
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let bits = n.first().map_or(0, |top| {
            (n.len() - 1) * 8 + (8 - usize::try_from(top.leading_zeros()).unwrap_or(8))
        });
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(TokenError::SigningKeys {
                reason: format!(
                    "rsa modulus is {bits} bits, {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"
                ),
            });
        }
        let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
        let e_ok = odd(e) && e.len() <= 4 && !(e.len() == 1 && e.first() == Some(&1));
        if !odd(n) || !e_ok {
            return Err(key_err("invalid rsa public key"));
        }
        let jwk = PublicJwk::Rsa {
            n: URL_SAFE_NO_PAD.encode(n),
            e: URL_SAFE_NO_PAD.encode(e),
        };
        Ok(Self {
            kid: jwk.thumbprint()?,
            alg,
            encoding: None,
            decoding: DecodingKey::from_rsa_raw_components(n, e),
            public_jwk: Some(jwk),
            accept_high_s: false,
        })
    }

    /// A verify-only key from a PEM public key, pinned to `alg`: SubjectPublicKeyInfo
    /// (`-----BEGIN PUBLIC KEY-----`) for every asymmetric algorithm, or PKCS#1
    /// (`-----BEGIN RSA PUBLIC KEY-----`) for the RSA ones. The key type must match `alg`.
    ///
    /// # Errors
    ///
    /// [`TokenError::SigningKeys`] for HS256, a PEM that does not parse, or a key of
    /// another type or outside the bounds of the constructors above.
    pub fn from_public_pem(alg: Algorithm, pem: &str) -> Result<Self, TokenError> {
        use p256::pkcs8::DecodePublicKey as _;
        let bad = || key_err("the PEM is not a public key of the algorithm's type");
        match alg {
            Algorithm::Hs256 => Err(key_err("HS256 has no public key")),
            Algorithm::EdDsa => {
                let key =
                    ed25519_dalek::VerifyingKey::from_public_key_pem(pem).map_err(|_| bad())?;
                Self::ed25519_public(key.as_bytes())
            }
            Algorithm::Es256 => {
                let key = p256::PublicKey::from_public_key_pem(pem).map_err(|_| bad())?;
                Self::es256_public(
                    p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key, false)
                        .as_bytes(),
                )
            }
            Algorithm::Es384 => {
                let key = p384::PublicKey::from_public_key_pem(pem).map_err(|_| bad())?;
                Self::es384_public(
                    p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key, false)
                        .as_bytes(),
                )
            }
            rsa_alg => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                use rsa::traits::PublicKeyParts as _;
                let key = rsa::RsaPublicKey::from_public_key_pem(pem)
                    .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
                    .map_err(|_| bad())?;
                Self::rsa_public(rsa_alg, &key.n().to_bytes_be(), &key.e().to_bytes_be())
            }
        }
    }

    /// Names this key `kid` instead of its RFC 7638 thumbprint: for an issuer's key
    /// published under its own `kid` (an identity provider's JWKS).
    #[must_use]
    pub fn with_key_id(mut self, kid: KeyId) -> Self {
        self.kid = kid;
        self
    }

    /// Also accepts ECDSA signatures in high-S form (s > n/2) under this key. By default
    /// only low-S signatures verify, so a token has exactly one valid signature; many JOSE
    /// signers (OpenSSL, Python `cryptography`, Go, Java) do not normalize s, so about
    /// half of their ES256 tokens carry high-S signatures and are refused unless this is
    /// set. With it, the token string is malleable: anyone can derive a second valid
    /// string for the same claims, so never key a cache, a replay guard or a revocation
    /// on the token string or its hash (the `jti` and the claims are unaffected). No
    /// effect on other algorithms. Tokens this crate issues are always low-S.
    #[must_use]
    pub fn danger_accept_high_s(mut self) -> Self {
        self.accept_high_s = true;
        self
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
    /// this key's algorithm, it may carry no `crit` extension, and the signature must
    /// verify (ECDSA: in low-S form). Returns the decoded payload. No claim is looked at;
    /// use [`TokenService`](crate::TokenService) for tokens.
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`], [`TokenError::UnsupportedAlgorithm`],
    /// [`TokenError::UnsupportedCritical`], [`TokenError::AlgorithmMismatch`],
    /// [`TokenError::InvalidSignature`].
    pub fn verify_jws(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        verify_compact(
            token,
            &self.kid,
            self.alg,
            &self.decoding,
            self.accept_high_s,
        )
    }
}

/// A [`TokenError::SigningKeys`] with a fixed reason.
pub(crate) fn key_err(reason: &str) -> TokenError {
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
