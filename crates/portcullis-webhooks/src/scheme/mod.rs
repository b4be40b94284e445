//! The [`Scheme`] trait and the provider schemes.
//!
//! | scheme | headers | signed content | signature encoding |
//! |--------|---------|----------------|--------------------|
//! | [`Stripe`] | `Stripe-Signature: t=<ts>,v1=<sig>[,v1=<sig>…]` (other schemes such as `v0` ignored) | `<ts>.<body>` | lowercase hex HMAC-SHA256, key = secret string bytes |
//! | [`StandardWebhooks`] (Svix, Resend, Clerk) | `webhook-id`, `webhook-timestamp`, `webhook-signature` (or `svix-*`) | `<id>.<ts>.<body>` | space-separated `v1,<base64 HMAC-SHA256>` (key = base64 after `whsec_`) and `v1a,<base64 Ed25519>` |
//! | [`Zoom`] | `x-zm-signature: v0=<sig>`, `x-zm-request-timestamp` | `v0:<ts>:<body>` | lowercase hex HMAC-SHA256, key = secret token bytes |
//! | [`GitHub`] | `X-Hub-Signature-256: sha256=<sig>` | `<body>` | lowercase hex HMAC-SHA256 |
//! | [`Shopify`] | `X-Shopify-Hmac-Sha256: <sig>` | `<body>` | base64 HMAC-SHA256 |
//! | [`Slack`] | `X-Slack-Signature: v0=<sig>`, `X-Slack-Request-Timestamp` | `v0:<ts>:<body>` | lowercase hex HMAC-SHA256 |
//! | [`Custom`] | configurable | configurable template of literals, `{id}`, `{timestamp}`, `{body}` | hex or base64 HMAC-SHA256, optional prefix |

mod custom;
mod standard;
mod stripe;

pub use custom::{Custom, CustomBuilder, Encoding, GitHub, Shopify, Slack, Zoom};
pub use standard::StandardWebhooks;
pub(crate) use standard::candidate as standard_candidate;
pub use stripe::Stripe;

use std::fmt::Debug;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::WebhookError;
use crate::headers::HeaderLookup;
use crate::key::{Key, KeyInner};
use crate::message::{Content, Message};
use crate::verify::Limits;

/// The inputs of one outbound signature.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The message id (used by schemes that sign one: Standard Webhooks, custom `{id}`).
    pub id: &'a str,
    /// Seconds since the epoch (used by schemes that sign a timestamp).
    pub timestamp: u64,
    /// The exact body bytes that will be sent.
    pub body: &'a [u8],
}

/// A webhook signature scheme: how to read secrets, how to read the signature headers of a
/// request, and how to sign an outgoing one.
///
/// The verification engine ([`crate::Verifier`]) does the cryptography and the time
/// checks; a scheme only describes the format. Implementations must not allocate per
/// header byte beyond the caps in [`Limits`], and must fail with a specific
/// [`WebhookError`] (missing, duplicate, malformed header) before any cryptography.
pub trait Scheme: Send + Sync + Debug {
    /// The scheme's short name (`stripe`, `standard`, `zoom`, `github`, `shopify`, `slack`,
    /// or a custom scheme's own).
    fn name(&self) -> &str;

    /// Loads a secret as this scheme expects it (see [`crate::key`]).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] with a hint.
    fn parse_secret(&self, secret: &str) -> Result<Key, WebhookError>;

    /// Reads the timestamp, id, signed-content layout and candidate signatures from the
    /// headers.
    ///
    /// # Errors
    ///
    /// Missing, duplicate, oversized or malformed headers, too many signatures.
    fn extract<'s, 'h: 's>(
        &'s self,
        headers: &dyn HeaderLookup<'h>,
        limits: &Limits,
    ) -> Result<Message<'s>, WebhookError>;

    /// The headers (name, value) that sign `delivery` with `key`.
    ///
    /// # Errors
    ///
    /// [`WebhookError::WrongKeyKind`] if the key cannot sign for this scheme,
    /// [`WebhookError::InvalidInput`] if the id or timestamp cannot be represented.
    fn sign(
        &self,
        key: &Key,
        delivery: &Delivery<'_>,
    ) -> Result<Vec<(String, String)>, WebhookError>;
}

/// The scheme with this name: `stripe`, `standard` (also `svix`, `standard-webhooks`),
/// `zoom`, `github`, `shopify`, `slack`. Case-insensitive.
///
/// # Errors
///
/// [`WebhookError::UnknownScheme`].
pub fn by_name(name: &str) -> Result<Box<dyn Scheme>, WebhookError> {
    let scheme: Box<dyn Scheme> = match name.to_ascii_lowercase().as_str() {
        "stripe" => Box::new(Stripe::new()),
        "standard" | "standard-webhooks" | "standardwebhooks" | "svix" => {
            Box::new(StandardWebhooks::new())
        }
        "zoom" => Box::new(Zoom::new()),
        "github" => Box::new(GitHub::new()),
        "shopify" => Box::new(Shopify::new()),
        "slack" => Box::new(Slack::new()),
        _ => return Err(WebhookError::UnknownScheme(name.to_owned())),
    };
    Ok(scheme)
}

/// HMAC-SHA256 of `content` (with `body`) under an HMAC key.
pub(crate) fn hmac_sha256(
    key: &[u8],
    content: &Content<'_>,
    body: &[u8],
) -> Result<[u8; 32], WebhookError> {
    // HMAC accepts keys of any length, so this error cannot happen; it is still handled.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| WebhookError::WrongKeyKind("HMAC key rejected"))?;
    content.feed(body, |b| mac.update(b));
    Ok(mac.finalize().into_bytes().into())
}

/// The HMAC key bytes of `key`, or the error for schemes that only take HMAC keys.
pub(crate) fn hmac_key(key: &Key) -> Result<&[u8], WebhookError> {
    match &key.0 {
        KeyInner::Hmac(k) => Ok(k.expose_secret()),
        _ => Err(WebhookError::WrongKeyKind(
            "this scheme signs with HMAC-SHA256 secrets only",
        )),
    }
}

/// Decodes exactly 64 lowercase hex digits (the providers emit lowercase and compare
/// strings, so an uppercase digit is a different signature).
pub(crate) fn decode_lower_hex(text: &str) -> Option<[u8; 32]> {
    // `base16ct::lower` accepts only `0-9a-f` (in constant time); the length check makes
    // it exactly 64 digits.
    if text.len() != 64 {
        return None;
    }
    let mut tag = [0u8; 32];
    base16ct::lower::decode(text, &mut tag).ok()?;
    Some(tag)
}
