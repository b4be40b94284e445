//! Standard Webhooks (the open specification Svix, Resend and Clerk follow).
//!
//! Headers: `webhook-id`, `webhook-timestamp`, `webhook-signature`, or the `svix-id`,
//! `svix-timestamp`, `svix-signature` aliases. The `webhook-*` family is used if any of
//! its three headers is present, else the `svix-*` family; the three values always come
//! from one family.
//!
//! Signed content: `<id>.<timestamp>.<body>` (id and timestamp exactly as in the headers).
//! An id containing `.` is refused with [`WebhookError::IdContainsDelimiter`] before any
//! MAC, when verifying and when signing: `a.b` + `.<ts>.` + body could be re-split as id
//! `a`, and a captured delivery re-framed under another replay id. The specification says
//! ids must not contain `.`, and the official libraries and Svix produce `msg_` followed
//! by base62 characters (ours: `msg_` + URL-safe base64), so no interoperable id is lost.
//! The signature header is a space-separated list of
//! `<version>,<base64>` entries:
//! - `v1`: base64 (standard, padded) of HMAC-SHA256 keyed by the base64-decoded `whsec_`
//!   secret;
//! - `v1a`: base64 of the Ed25519 signature of the same content (`whsk_`/`whpk_` keys).
//!
//! Entries of other versions or without a comma are ignored; an entry whose base64 does not
//! decode to the right length can never match. Outbound signatures are `v1,` (HMAC keys)
//! or `v1a,` (Ed25519 signing keys).

use base64::Engine as _;
use ed25519_dalek::Signer as _;

use crate::error::SecretProblem;
use crate::error::WebhookError;
use crate::headers::{Header, HeaderLookup, answer, required};
use crate::key::{B64, Key, KeyInner};
use crate::limits::Limits;
use crate::mac::hmac_sha256;
use crate::message::{
    CandidateKind, Content, EntryForm, Message, Part, Signatures, TagEncoding, parse_timestamp,
};
use crate::scheme::{Delivery, Scheme};

const WEBHOOK: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];
const SVIX: [&str; 3] = ["svix-id", "svix-timestamp", "svix-signature"];

/// The Standard Webhooks scheme (v1 HMAC and v1a Ed25519), our own outbound scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardWebhooks;

impl StandardWebhooks {
    /// The Standard Webhooks scheme.
    pub fn new() -> Self {
        Self
    }
}

/// The signature entries: `v1,<base64 HMAC-SHA256>` and `v1a,<base64 Ed25519>`; other
/// versions, and tags of the wrong length, never match.
const FORMS: &[EntryForm] = &[
    EntryForm {
        prefix: "v1,",
        encoding: TagEncoding::Base64,
        kind: CandidateKind::HmacSha256,
    },
    EntryForm {
        prefix: "v1a,",
        encoding: TagEncoding::Base64,
        kind: CandidateKind::Ed25519,
    },
];

/// Refuses an id containing `.`, the delimiter of the signed content.
fn check_id(name: &str, id: &str) -> Result<(), WebhookError> {
    if id.contains('.') {
        return Err(WebhookError::IdContainsDelimiter {
            name: name.to_owned(),
            delimiter: '.',
        });
    }
    Ok(())
}

impl Scheme for StandardWebhooks {
    fn name(&self) -> &str {
        "standard"
    }

    fn parse_secret(&self, secret: &str) -> Result<Key, WebhookError> {
        Key::standard(secret)
    }

    fn extract<'s, 'h: 's>(
        &'s self,
        headers: &dyn HeaderLookup<'h>,
        limits: &Limits,
    ) -> Result<Message<'s>, WebhookError> {
        // The `webhook-*` family if any of its headers is present, else `svix-*`. The
        // family's id header is looked up once and its answer reused for the id.
        let webhook_id = headers.lookup(WEBHOOK[0]);
        let (family, id_found) = if webhook_id != Header::Missing
            || WEBHOOK
                .iter()
                .skip(1)
                .any(|n| headers.lookup(n) != Header::Missing)
        {
            (WEBHOOK, webhook_id)
        } else {
            (SVIX, headers.lookup(SVIX[0]))
        };
        let [id_name, ts_name, sig_name] = family;
        let id = answer(id_found, id_name, limits.max_header_bytes)?
            .ok_or_else(|| WebhookError::MissingHeader(id_name.to_owned()))?;
        if id.is_empty() {
            return Err(WebhookError::malformed(id_name, "message id is empty"));
        }
        check_id(id_name, id)?;
        let ts_text = required(headers, ts_name, limits.max_header_bytes)?;
        let ts = parse_timestamp(ts_name, ts_text)?;
        let sigs = required(headers, sig_name, limits.max_header_bytes)?;

        // Count entries before any decoding or cryptography.
        let seen = sigs.split(' ').filter(|e| !e.is_empty()).count();
        if seen > limits.max_signatures {
            return Err(WebhookError::TooManySignatures {
                name: sig_name.to_owned(),
                limit: limits.max_signatures,
            });
        }
        if seen == 0 {
            return Err(WebhookError::NoSignatures(sig_name.to_owned()));
        }
        Ok(Message {
            timestamp: Some(ts),
            id: Some(id),
            content: Content::new(&[
                Part::Text(id),
                Part::Text("."),
                Part::Text(ts_text),
                Part::Text("."),
                Part::Body,
            ])?,
            candidates: Signatures::Separated {
                value: sigs,
                separator: ' ',
                forms: FORMS,
            },
        })
    }

    fn sign(
        &self,
        key: &Key,
        delivery: &Delivery<'_>,
    ) -> Result<Vec<(String, String)>, WebhookError> {
        if delivery.id.is_empty() {
            return Err(WebhookError::InvalidInput {
                field: "id",
                reason: "message id is empty",
            });
        }
        check_id("id", delivery.id)?;
        let ts = delivery.timestamp.to_string();
        let content = Content::new(&[
            Part::Text(delivery.id),
            Part::Text("."),
            Part::Text(&ts),
            Part::Text("."),
            Part::Body,
        ])?;
        let signature = match &key.0 {
            KeyInner::Hmac(k) => {
                format!(
                    "v1,{}",
                    B64.encode(hmac_sha256(k.expose_secret(), &content, delivery.body)?)
                )
            }
            KeyInner::Ed25519Signing(sk) => {
                let sig = sk.sign(&content.concat(delivery.body));
                format!("v1a,{}", B64.encode(sig.to_bytes()))
            }
            KeyInner::Ed25519Verifying(_) => {
                return Err(WebhookError::InvalidSecret(
                    SecretProblem::PublicKeyCannotSign,
                ));
            }
        };
        Ok(vec![
            ("webhook-id".to_owned(), delivery.id.to_owned()),
            ("webhook-timestamp".to_owned(), ts),
            ("webhook-signature".to_owned(), signature),
        ])
    }
}
