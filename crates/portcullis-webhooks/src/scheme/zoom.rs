//! Zoom's `endpoint.url_validation` challenge.
//!
//! When an endpoint is registered (and every 72 hours), Zoom POSTs
//! `{"event":"endpoint.url_validation","payload":{"plainToken":"<t>"},...}` (signed like
//! every event: verify it first) and expects, within 3 seconds, the JSON response
//! `{"plainToken":"<t>","encryptedToken":"<hex HMAC-SHA256(secret token, t)>"}`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::WebhookError;
use crate::key::Key;
use crate::mac::hmac_key;

/// The `encryptedToken` for `plain_token`: lowercase hex HMAC-SHA256 keyed by the secret
/// token's bytes.
///
/// # Errors
///
/// [`WebhookError::InvalidSecret`] if the secret is empty or has surrounding whitespace.
pub fn zoom_encrypted_token(secret: &str, plain_token: &str) -> Result<String, WebhookError> {
    let key = Key::hmac_text(secret)?;
    let bytes = hmac_key(&key)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(bytes)
        .map_err(|_| WebhookError::WrongKeyKind("HMAC key rejected"))?;
    mac.update(plain_token.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// If `body` is an `endpoint.url_validation` event, the JSON response body to send back;
/// `None` for any other event.
///
/// # Errors
///
/// [`WebhookError::InvalidInput`] if the body is not a JSON object, or is a validation
/// event without a string `payload.plainToken`; secret errors as
/// [`zoom_encrypted_token`].
pub fn zoom_url_validation(secret: &str, body: &[u8]) -> Result<Option<String>, WebhookError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| WebhookError::InvalidInput {
            field: "body",
            reason: "not JSON",
        })?;
    if value.get("event").and_then(|e| e.as_str()) != Some("endpoint.url_validation") {
        return Ok(None);
    }
    let plain = value
        .get("payload")
        .and_then(|p| p.get("plainToken"))
        .and_then(|t| t.as_str())
        .ok_or(WebhookError::InvalidInput {
            field: "body",
            reason: "url validation event without `payload.plainToken`",
        })?;
    let encrypted = zoom_encrypted_token(secret, plain)?;
    let response = serde_json::json!({ "plainToken": plain, "encryptedToken": encrypted });
    Ok(Some(response.to_string()))
}
