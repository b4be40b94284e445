//! The built-in schemes by name (for configuration files and the CLI), and signing by
//! name.

use crate::error::WebhookError;
use crate::scheme::presets::{GitHub, Shopify, Slack, Zoom};
use crate::scheme::standard::StandardWebhooks;
use crate::scheme::stripe::Stripe;
use crate::scheme::{Delivery, Scheme};

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

/// Signs `body` for the scheme named `scheme` (see [`by_name`]) with `secret`, message
/// `id` (used by schemes that sign one) at `timestamp` (seconds), returning the headers
/// to send as (name, value) pairs.
///
/// ```
/// let headers = portcullis_webhooks::sign("github", "It's a Secret to Everybody", "", 0, b"Hello, World!")?;
/// assert_eq!(headers[0].0, "x-hub-signature-256");
/// assert_eq!(headers[0].1, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
/// # Ok::<(), portcullis_webhooks::WebhookError>(())
/// ```
///
/// # Errors
///
/// [`WebhookError::UnknownScheme`], [`WebhookError::InvalidSecret`],
/// [`WebhookError::InvalidInput`].
pub fn sign(
    scheme: &str,
    secret: &str,
    id: &str,
    timestamp: u64,
    body: &[u8],
) -> Result<Vec<(String, String)>, WebhookError> {
    let scheme = by_name(scheme)?;
    let key = scheme.parse_secret(secret)?;
    scheme.sign(
        &key,
        &Delivery {
            id,
            timestamp,
            body,
        },
    )
}
