//! The providers whose format is a fixed [`Custom`] configuration: [`GitHub`],
//! [`Shopify`], [`Slack`] and [`Zoom`].
//!
//! | provider | header | prefix | encoding | timestamp header | template |
//! |----------|--------|--------|----------|------------------|----------|
//! | GitHub | `x-hub-signature-256` | `sha256=` | hex | none | `{body}` |
//! | Shopify | `x-shopify-hmac-sha256` | none | base64 | none | `{body}` |
//! | Slack | `x-slack-signature` | `v0=` | hex | `x-slack-request-timestamp` | `v0:{timestamp}:{body}` |
//! | Zoom | `x-zm-signature` | `v0=` | hex | `x-zm-request-timestamp` | `v0:{timestamp}:{body}` |
//!

use crate::error::WebhookError;
use crate::headers::HeaderLookup;
use crate::key::Key;
use crate::limits::Limits;
use crate::message::Message;
use crate::scheme::custom::{Custom, CustomBuilder, Encoding};
use crate::scheme::{Delivery, Scheme};

macro_rules! provider {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $build:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty(Custom);

        impl $ty {
            /// The scheme.
            pub fn new() -> Self {
                let builder: CustomBuilder = $build;
                // The fixed configurations below are valid (a unit test builds each one);
                // should one ever fail, the fallback is a scheme nothing verifies against.
                Self(
                    builder
                        .name($name)
                        .build()
                        .unwrap_or_else(|_| Custom::inert($name)),
                )
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Scheme for $ty {
            fn name(&self) -> &str {
                self.0.name()
            }
            fn parse_secret(&self, secret: &str) -> Result<Key, WebhookError> {
                self.0.parse_secret(secret)
            }
            fn extract<'s, 'h: 's>(
                &'s self,
                headers: &dyn HeaderLookup<'h>,
                limits: &Limits,
            ) -> Result<Message<'s>, WebhookError> {
                self.0.extract(headers, limits)
            }
            fn sign(
                &self,
                key: &Key,
                delivery: &Delivery<'_>,
            ) -> Result<Vec<(String, String)>, WebhookError> {
                self.0.sign(key, delivery)
            }
        }
    };
}

provider!(
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`. No timestamp: use a
    /// replay guard.
    GitHub,
    "github",
    Custom::builder("x-hub-signature-256").prefix("sha256=")
);
provider!(
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(body)>`, keyed by the app's
    /// client secret. No timestamp: use a replay guard.
    Shopify,
    "shopify",
    Custom::builder("x-shopify-hmac-sha256").encoding(Encoding::Base64)
);
provider!(
    /// Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256("v0:" ts ":" body)>` with
    /// `X-Slack-Request-Timestamp`, keyed by the signing secret.
    Slack,
    "slack",
    Custom::builder("x-slack-signature")
        .prefix("v0=")
        .timestamp_header("x-slack-request-timestamp")
        .template("v0:{timestamp}:{body}")
);
provider!(
    /// Zoom: `x-zm-signature: v0=<hex HMAC-SHA256("v0:" ts ":" body)>` with
    /// `x-zm-request-timestamp`, keyed by the secret token. See
    /// [`crate::zoom_url_validation`] for the `endpoint.url_validation` challenge.
    Zoom,
    "zoom",
    Custom::builder("x-zm-signature")
        .prefix("v0=")
        .timestamp_header("x-zm-request-timestamp")
        .template("v0:{timestamp}:{body}")
);
