//! Secrets and keys as the schemes use them (the table is on [`Key`]).

use std::fmt;

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{SigningKey, VerifyingKey};
use portcullis_core::SecretBytes;
use zeroize::Zeroizing;

use crate::error::{SecretProblem, WebhookError};

/// Standard base64 that accepts input with or without padding.
pub(crate) const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard padded base64, as the providers emit it.
pub(crate) const B64: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A loaded secret or key, ready for one scheme family. Zeroized on drop; `Debug` shows
/// only its kind.
///
/// | scheme | secret as configured | key material |
/// |--------|----------------------|--------------|
/// | Stripe, GitHub, Shopify, Slack, Zoom, custom | the secret string exactly as shown by the provider (Stripe's includes `whsec_`) | its UTF-8 bytes |
/// | Standard Webhooks `v1` | `whsec_<base64>` (the prefix is optional, as in the official libraries) | the base64-decoded bytes |
/// | Standard Webhooks `v1a` | `whsk_<base64 of seed ‖ public key>` (signing) or `whpk_<base64 of public key>` (verifying) | Ed25519 keys |
///
/// Base64 here is the standard alphabet (RFC 4648 §4); padding is optional (the Python
/// `standardwebhooks` package accepts unpadded secrets, the Rust one does not: we accept
/// both so either peer's secrets load), non-canonical trailing bits are rejected.
#[derive(Clone)]
pub struct Key(pub(crate) KeyInner);

#[derive(Clone)]
pub(crate) enum KeyInner {
    /// An HMAC-SHA256 key.
    Hmac(SecretBytes),
    /// An Ed25519 signing key (also verifies).
    Ed25519Signing(Box<SigningKey>),
    /// An Ed25519 public key (verifies only).
    Ed25519Verifying(VerifyingKey),
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            KeyInner::Hmac(_) => "Key(hmac-sha256, [redacted])",
            KeyInner::Ed25519Signing(_) => "Key(ed25519 signing, [redacted])",
            KeyInner::Ed25519Verifying(_) => "Key(ed25519 public)",
        })
    }
}

fn looks_like_signature(s: &str) -> bool {
    ["v1,", "v1a,", "v0=", "v1=", "t=", "sha256=", "sha1="]
        .iter()
        .any(|p| s.starts_with(p))
}

fn common_checks(secret: &str) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::InvalidSecret(SecretProblem::Empty));
    }
    if secret.trim() != secret {
        return Err(WebhookError::InvalidSecret(
            SecretProblem::SurroundingWhitespace,
        ));
    }
    if looks_like_signature(secret) {
        return Err(WebhookError::InvalidSecret(
            SecretProblem::LooksLikeSignature,
        ));
    }
    Ok(())
}

fn decode_b64(s: &str) -> Result<Zeroizing<Vec<u8>>, WebhookError> {
    if s.is_empty() {
        return Err(WebhookError::InvalidSecret(SecretProblem::Empty));
    }
    B64_LENIENT
        .decode(s)
        .map(Zeroizing::new)
        .map_err(|_| WebhookError::InvalidSecret(SecretProblem::NotBase64))
}

impl Key {
    /// An HMAC key made of the secret string's UTF-8 bytes, exactly as Stripe, GitHub,
    /// Shopify, Slack and Zoom use it (Stripe's `whsec_...` is *not* decoded).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] if the secret is empty, has surrounding whitespace
    /// or looks like a signature rather than a secret.
    pub fn hmac_text(secret: &str) -> Result<Self, WebhookError> {
        common_checks(secret)?;
        Ok(Self(KeyInner::Hmac(SecretBytes::from_slice(
            secret.as_bytes(),
        ))))
    }

    /// An HMAC key from raw bytes (no checks beyond non-emptiness).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] if `bytes` is empty.
    pub fn hmac_bytes(bytes: SecretBytes) -> Result<Self, WebhookError> {
        if bytes.is_empty() {
            return Err(WebhookError::InvalidSecret(SecretProblem::Empty));
        }
        Ok(Self(KeyInner::Hmac(bytes)))
    }

    /// A Standard Webhooks secret: `whsec_<base64>` (HMAC, prefix optional),
    /// `whsk_<base64 seed‖public>` (Ed25519 signing) or `whpk_<base64 public>` (Ed25519
    /// verifying).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] if the secret is empty (`""`, `"whsec_"`), has
    /// surrounding whitespace, looks like a signature, is not base64, or is a malformed
    /// Ed25519 key.
    pub fn standard(secret: &str) -> Result<Self, WebhookError> {
        common_checks(secret)?;
        if let Some(rest) = secret.strip_prefix("whsk_") {
            let bytes = decode_b64(rest)?;
            let pair: &[u8; 64] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| WebhookError::InvalidSecret(SecretProblem::BadEd25519Key))?;
            let signing = SigningKey::from_keypair_bytes(pair)
                .map_err(|_| WebhookError::InvalidSecret(SecretProblem::BadEd25519Key))?;
            return Ok(Self(KeyInner::Ed25519Signing(Box::new(signing))));
        }
        if let Some(rest) = secret.strip_prefix("whpk_") {
            let bytes = decode_b64(rest)?;
            let public: &[u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| WebhookError::InvalidSecret(SecretProblem::BadEd25519Key))?;
            let verifying = VerifyingKey::from_bytes(public)
                .map_err(|_| WebhookError::InvalidSecret(SecretProblem::BadEd25519Key))?;
            return Ok(Self(KeyInner::Ed25519Verifying(verifying)));
        }
        let rest = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = decode_b64(rest)?;
        Ok(Self(KeyInner::Hmac(SecretBytes::from_slice(&bytes))))
    }

    /// A new random Standard Webhooks HMAC secret (24 bytes, like Svix's), returned with
    /// its `whsec_` text form for the operator to hand to the receiver.
    ///
    /// # Errors
    ///
    /// [`WebhookError::Random`] if the generator fails.
    pub fn generate_standard(
        rng: &dyn portcullis_core::SecureRandom,
    ) -> Result<(Self, portcullis_core::SecretString), WebhookError> {
        let bytes = SecretBytes::random(rng, 24)?;
        let text = portcullis_core::SecretString::new(format!(
            "whsec_{}",
            B64.encode(bytes.expose_secret())
        ));
        Ok((Self(KeyInner::Hmac(bytes)), text))
    }

    /// Whether this key computes HMAC-SHA256 (as opposed to Ed25519).
    pub fn is_hmac(&self) -> bool {
        matches!(self.0, KeyInner::Hmac(_))
    }

    /// The `whpk_` text of an Ed25519 key's public half, if this is an Ed25519 key.
    pub fn ed25519_public_text(&self) -> Option<String> {
        let public = match &self.0 {
            KeyInner::Hmac(_) => return None,
            KeyInner::Ed25519Signing(s) => s.verifying_key(),
            KeyInner::Ed25519Verifying(v) => *v,
        };
        Some(format!("whpk_{}", B64.encode(public.as_bytes())))
    }
}
