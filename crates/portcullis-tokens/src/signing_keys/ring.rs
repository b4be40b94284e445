//! The key ring: the set of keys a service signs and verifies with, each in one state of
//! a one-way lifecycle, with rotation that never interrupts verification.

use std::fmt;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{DecodingKey, EncodingKey};
use portcullis_core::{KeyId, SecretBytes};

use super::jwk::{Jwks, PublicJwk};
use super::jws::{Algorithm, verify_signature};
use super::material::{KeyMaterial, key_err};
use crate::error::TokenError;

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

/// A key as held by the ring.
pub(crate) struct RingKey {
    pub(crate) kid: KeyId,
    pub(crate) alg: Algorithm,
    pub(crate) state: KeyState,
    pub(crate) encoding: Option<EncodingKey>,
    pub(crate) decoding: DecodingKey,
    public_jwk: Option<PublicJwk>,
    /// See [`KeyMaterial::danger_accept_high_s`].
    pub(crate) accept_high_s: bool,
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
            accept_high_s: key.accept_high_s,
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
            .filter_map(|k| Some(k.public_jwk.as_ref()?.to_jwk(&k.kid, k.alg)))
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

    /// The HS256 keys that verify, for tokens without `kid`: the active key first, then
    /// the verify-only keys (the most recently added first: the previous secret before
    /// older ones), then standby keys.
    pub(crate) fn hs256_candidates(&self) -> Result<Vec<Arc<RingKey>>, TokenError> {
        let keys = self.keys.read().map_err(|_| poisoned())?;
        let hs = |state: KeyState| {
            keys.iter()
                .rev()
                .filter(move |k| k.alg == Algorithm::Hs256 && k.state == state)
                .cloned()
        };
        Ok(hs(KeyState::Active)
            .chain(hs(KeyState::VerifyOnly))
            .chain(hs(KeyState::Standby))
            .collect())
    }

    /// Checks the signature of `signing_input` (a compact JWS's `header.payload`) whose
    /// header named `kid` and `alg`: the key must exist, not be retired, and be pinned to
    /// `alg`; then its signature check (ECDSA low-S unless the key opted out). With no
    /// `kid`, only an HS256 token with `kidless_hs256` set is checked, against each HS256
    /// key in [`SigningKeys::hs256_candidates`] order. Returns the key that verified.
    pub(crate) fn verify_signature_of(
        &self,
        kid: Option<&str>,
        alg: &str,
        signing_input: &str,
        signature: &str,
        kidless_hs256: bool,
    ) -> Result<Arc<RingKey>, TokenError> {
        match kid {
            Some(kid) => {
                let key = self.lookup(kid)?;
                if alg != key.alg.as_str() {
                    return Err(TokenError::AlgorithmMismatch {
                        kid: key.kid.clone(),
                        alg: crate::error::escape_untrusted(alg, 16),
                        pinned: key.alg.as_str(),
                    });
                }
                verify_signature(
                    signing_input,
                    signature,
                    key.alg,
                    &key.decoding,
                    key.accept_high_s,
                )?;
                Ok(key)
            }
            None if kidless_hs256 && alg == Algorithm::Hs256.as_str() => {
                for key in self.hs256_candidates()? {
                    match verify_signature(signing_input, signature, key.alg, &key.decoding, false)
                    {
                        Ok(()) => return Ok(key),
                        Err(TokenError::InvalidSignature) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(TokenError::InvalidSignature)
            }
            None => Err(TokenError::MissingKeyId),
        }
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

fn poisoned() -> TokenError {
    key_err("key ring lock poisoned")
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
        accept_high_s: key.accept_high_s,
    }
}
