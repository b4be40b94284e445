//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…][,v0=…]`.
//!
//! Signed content is `<t>.<body>` (the timestamp exactly as it appears in the header),
//! MAC is HMAC-SHA256 keyed by the endpoint secret's UTF-8 bytes (`whsec_...` as shown in
//! the dashboard, not decoded), hex-encoded. Any matching `v1` passes; other schemes
//! (`v0`, future ones) are ignored. The header is a comma-separated list of `key=value`
//! items; an item without `=`, an empty item, a missing or repeated `t`, or a header
//! without any `v1` is rejected.

use crate::error::WebhookError;
use crate::headers::{HeaderLookup, required};
use crate::key::Key;
use crate::limits::Limits;
use crate::mac::{hmac_key, hmac_sha256};
use crate::message::{
    CandidateKind, Content, EntryForm, Message, Part, Signatures, TagEncoding, parse_timestamp,
};
use crate::scheme::{Delivery, Scheme};

const HEADER: &str = "stripe-signature";

/// A signature item: `v1=` and 64 lowercase hex digits (any other `v1` never matches).
const FORMS: &[EntryForm] = &[EntryForm {
    prefix: "v1=",
    encoding: TagEncoding::LowerHex,
    kind: CandidateKind::HmacSha256,
}];

/// The Stripe scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stripe;

impl Stripe {
    /// The Stripe scheme.
    pub fn new() -> Self {
        Self
    }
}

impl Scheme for Stripe {
    fn name(&self) -> &str {
        "stripe"
    }

    fn parse_secret(&self, secret: &str) -> Result<Key, WebhookError> {
        Key::hmac_text(secret)
    }

    fn extract<'s, 'h: 's>(
        &'s self,
        headers: &dyn HeaderLookup<'h>,
        limits: &Limits,
    ) -> Result<Message<'s>, WebhookError> {
        let value = required(headers, HEADER, limits.max_header_bytes)?;
        let mut timestamp: Option<&'h str> = None;
        let mut v1_seen = 0usize;
        for item in value.split(',') {
            // The key is the text before the item's first `=`: `t` and `v1` are recognised
            // by their prefix, everything else is split to check its shape.
            if let Some(v) = item.strip_prefix("t=") {
                if timestamp.replace(v).is_some() {
                    return Err(WebhookError::malformed(HEADER, "timestamp `t` repeated"));
                }
            } else if item.starts_with("v1=") {
                v1_seen += 1;
                if v1_seen > limits.max_signatures {
                    return Err(WebhookError::TooManySignatures {
                        name: HEADER.to_owned(),
                        limit: limits.max_signatures,
                    });
                }
                // Decoded lazily; a `v1` that is not 64 lowercase hex digits never matches.
            } else {
                match item.split_once('=') {
                    None => return Err(WebhookError::malformed(HEADER, "item without `=`")),
                    Some(("", _)) => return Err(WebhookError::malformed(HEADER, "empty item")),
                    Some(_) => {}
                }
            }
        }
        let ts_text =
            timestamp.ok_or_else(|| WebhookError::malformed(HEADER, "no timestamp `t`"))?;
        let ts = parse_timestamp(HEADER, ts_text)?;
        if v1_seen == 0 {
            return Err(WebhookError::NoSignatures(HEADER.to_owned()));
        }
        Ok(Message {
            timestamp: Some(ts),
            id: None,
            content: Content::new(&[Part::Text(ts_text), Part::Text("."), Part::Body])?,
            candidates: Signatures::Separated {
                value,
                separator: ',',
                forms: FORMS,
            },
        })
    }

    fn sign(
        &self,
        key: &Key,
        delivery: &Delivery<'_>,
    ) -> Result<Vec<(String, String)>, WebhookError> {
        let ts = delivery.timestamp.to_string();
        let content = Content::new(&[Part::Text(&ts), Part::Text("."), Part::Body])?;
        let tag = hmac_sha256(hmac_key(key)?, &content, delivery.body)?;
        Ok(vec![(
            "Stripe-Signature".to_owned(),
            format!("t={ts},v1={}", hex::encode(tag)),
        )])
    }
}
