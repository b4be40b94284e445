//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use portcullis_core::{FixedClock, Provider, UnixTime};
use portcullis_webhooks::{Delivery, Verifier, WebhookError, by_name};

pub(crate) const SCHEMES: [&str; 6] = ["stripe", "standard", "zoom", "github", "shopify", "slack"];

/// A secret each scheme accepts.
pub(crate) fn secret_for(scheme: &str) -> &'static str {
    match scheme {
        "standard" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        _ => "a-provider-secret-0123",
    }
}

pub(crate) fn sign(
    scheme: &str,
    secret: &str,
    id: &str,
    ts: u64,
    body: &[u8],
) -> Vec<(String, String)> {
    let s = by_name(scheme).unwrap();
    let key = s.parse_secret(secret).unwrap();
    s.sign(
        &key,
        &Delivery {
            id,
            timestamp: ts,
            body,
        },
    )
    .unwrap()
}

pub(crate) fn verifier(scheme: &str, secrets: &[&str], now: u64) -> Verifier {
    Verifier::from_dyn(
        by_name(scheme).unwrap().into(),
        secrets,
        Provider::with_clock(Arc::new(FixedClock(UnixTime::from_secs(now)))),
    )
    .unwrap()
}

pub(crate) fn verify(
    scheme: &str,
    secrets: &[&str],
    now: u64,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<portcullis_webhooks::Verified, WebhookError> {
    verifier(scheme, secrets, now).verify(&headers, body)
}
