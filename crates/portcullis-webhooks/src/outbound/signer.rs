//! Signing outgoing deliveries with Standard Webhooks headers.

use base64::Engine as _;
use portcullis_core::{SecureRandom, UnixTime};

use crate::error::{SecretProblem, WebhookError};
use crate::key::{Key, KeyInner};
use crate::scheme::standard::StandardWebhooks;
use crate::scheme::{Delivery, Scheme};

/// Signs outgoing webhooks with one or more Standard Webhooks keys (`whsec_` HMAC and/or
/// `whsk_` Ed25519). With several keys (during a rotation) the `webhook-signature` header
/// lists one signature per key, space-separated, so receivers holding either secret
/// accept.
#[derive(Debug, Clone)]
pub struct Signer {
    keys: Vec<Key>,
}

impl Signer {
    /// A signer from secret texts.
    ///
    /// # Errors
    ///
    /// [`WebhookError::NoSecrets`], [`WebhookError::InvalidSecret`] (including a `whpk_`
    /// public key, which cannot sign).
    pub fn new<I, S>(secrets: I) -> Result<Self, WebhookError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys = secrets
            .into_iter()
            .map(|s| Key::standard(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(WebhookError::NoSecrets);
        }
        if keys
            .iter()
            .any(|k| matches!(k.0, KeyInner::Ed25519Verifying(_)))
        {
            return Err(WebhookError::InvalidSecret(
                SecretProblem::PublicKeyCannotSign,
            ));
        }
        Ok(Self { keys })
    }

    /// The three headers `webhook-id`, `webhook-timestamp`, `webhook-signature` for
    /// `body`, sent at `at` (whole seconds are signed).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidInput`] if `id` is empty or contains a space or control
    /// character (it must travel in a header and in the signed content unchanged).
    pub fn sign(
        &self,
        id: &str,
        at: UnixTime,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, WebhookError> {
        if id.is_empty() || id.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(WebhookError::InvalidInput {
                field: "id",
                reason: "message id must be non-empty, without spaces or control characters",
            });
        }
        let delivery = Delivery {
            id,
            timestamp: at.as_secs(),
            body,
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut signatures: Vec<String> = Vec::new();
        for key in &self.keys {
            let mut signed = StandardWebhooks.sign(key, &delivery)?;
            if let Some((_, sig)) = signed.pop() {
                signatures.push(sig);
            }
            if headers.is_empty() {
                headers = signed;
            }
        }
        headers.push(("webhook-signature".to_owned(), signatures.join(" ")));
        Ok(headers)
    }
}

/// A fresh message id: `msg_` followed by 22 URL-safe base64 characters (16 random bytes).
///
/// # Errors
///
/// [`WebhookError::Random`] if the generator fails.
pub fn new_message_id(rng: &dyn SecureRandom) -> Result<String, WebhookError> {
    let bytes = portcullis_core::random_array::<16>(rng)?;
    Ok(format!(
        "msg_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}
