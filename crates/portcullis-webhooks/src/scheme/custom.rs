//! The configurable single-signature HMAC-SHA256 scheme [`Custom`] and its builder (the
//! providers built on it are in `presets.rs`, the template grammar in `custom/template.rs`).
//!
//! A custom scheme is: the signature header's name, an optional prefix before the encoded
//! MAC (`sha256=`, `v0=`), the encoding (lowercase hex or standard padded base64), optional
//! timestamp and id headers, and a template of the signed content built from literal text
//! and the placeholders `{id}`, `{timestamp}` and `{body}` (exactly one `{body}`; `{{` and
//! `}}` stand for literal braces).
//!
//! `{id}` must be separated from every other placeholder by literal text, and an id may
//! not contain the character of that text touching it (the first character of the literal
//! after `{id}`, the last of the literal before it): with template `{id}|{timestamp}|{body}`
//! an id containing `|` is refused with [`WebhookError::IdContainsDelimiter`] before any
//! MAC, when verifying and when signing. Then the id's end (or start) in the signed content
//! is the first (or last) occurrence of that character, so the content cannot be re-split
//! into another id under the same MAC. (Refusing only ids that contain the whole literal
//! would not be enough for a literal such as `aa`: id `xa` + `aa` = id `x` + `aa` + `a`.)
//!
//! Schemes without a timestamp cannot reject stale deliveries by themselves: put a
//! [`crate::ReplayGuard`] behind them.

mod template;

use base64::Engine as _;

use crate::error::WebhookError;
use crate::headers::{HeaderLookup, required};
use crate::key::{B64, Key};
use crate::limits::Limits;
use crate::mac::{decode_lower_hex, hmac_key, hmac_sha256};
use crate::message::{Candidate, Content, MAX_PARTS, Message, Part, Signatures, parse_timestamp};
use crate::scheme::{Delivery, Scheme};
use template::Piece;

/// How the MAC is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hexadecimal (uppercase digits are refused, as the providers compare strings).
    Hex,
    /// Standard base64 with padding (RFC 4648 §4).
    Base64,
}

/// A configurable HMAC-SHA256 scheme with one signature in one header.
#[derive(Debug, Clone)]
pub struct Custom {
    name: String,
    header: String,
    prefix: String,
    encoding: Encoding,
    timestamp_header: Option<String>,
    id_header: Option<String>,
    template: Vec<Piece>,
    /// Characters an id may not contain: the literal text touching each `{id}`.
    id_delimiters: Vec<char>,
}

/// Builder for [`Custom`].
#[derive(Debug, Clone)]
pub struct CustomBuilder {
    name: String,
    header: String,
    prefix: String,
    encoding: Encoding,
    timestamp_header: Option<String>,
    id_header: Option<String>,
    template: String,
}

impl CustomBuilder {
    /// Text before the encoded MAC, such as `sha256=` (default: none).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Hex or base64 (default: hex).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The header carrying the signed timestamp (required by `{timestamp}`).
    pub fn timestamp_header(mut self, name: impl Into<String>) -> Self {
        self.timestamp_header = Some(name.into().to_ascii_lowercase());
        self
    }

    /// The header carrying the signed message id (required by `{id}`).
    pub fn id_header(mut self, name: impl Into<String>) -> Self {
        self.id_header = Some(name.into().to_ascii_lowercase());
        self
    }

    /// The signed-content template (default `{body}`).
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = template.into();
        self
    }

    /// The name reported by [`Scheme::name`] (default `custom`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidConfig`] if the header name is empty, the template does not
    /// contain `{body}` exactly once, uses an unknown placeholder or unbalanced brace, uses
    /// `{timestamp}`/`{id}` without the matching header, or has more than
    /// [`MAX_PARTS`] pieces; if a timestamp or id header is set but not signed; or if
    /// `{id}` touches another placeholder without literal text between them (the id's
    /// boundary would be ambiguous).
    pub fn build(self) -> Result<Custom, WebhookError> {
        if self.header.is_empty() {
            return Err(WebhookError::InvalidConfig(
                "signature header name is empty",
            ));
        }
        let template = template::parse(&self.template)?;
        let count = |p: &Piece| template.iter().filter(|q| *q == p).count();
        if count(&Piece::Body) != 1 {
            return Err(WebhookError::InvalidConfig(
                "template must contain `{body}` exactly once",
            ));
        }
        if count(&Piece::Timestamp) > 0 && self.timestamp_header.is_none() {
            return Err(WebhookError::InvalidConfig(
                "`{timestamp}` needs a timestamp header",
            ));
        }
        if self.timestamp_header.is_some() && count(&Piece::Timestamp) == 0 {
            return Err(WebhookError::InvalidConfig(
                "a timestamp header that is not signed gives no protection; add `{timestamp}`",
            ));
        }
        if count(&Piece::Id) > 0 && self.id_header.is_none() {
            return Err(WebhookError::InvalidConfig("`{id}` needs an id header"));
        }
        if self.id_header.is_some() && count(&Piece::Id) == 0 {
            return Err(WebhookError::InvalidConfig(
                "an id header that is not signed cannot identify deliveries; add `{id}`",
            ));
        }
        if template.len() > MAX_PARTS {
            return Err(WebhookError::InvalidConfig("template has too many pieces"));
        }
        let id_delimiters = template::id_delimiters(&template)?;
        Ok(Custom {
            name: self.name,
            header: self.header,
            prefix: self.prefix,
            encoding: self.encoding,
            timestamp_header: self.timestamp_header,
            id_header: self.id_header,
            template,
            id_delimiters,
        })
    }
}

impl Custom {
    /// Starts a custom scheme whose signature is in `header` (case-insensitive).
    pub fn builder(header: impl Into<String>) -> CustomBuilder {
        CustomBuilder {
            name: "custom".to_owned(),
            header: header.into().to_ascii_lowercase(),
            prefix: String::new(),
            encoding: Encoding::Hex,
            timestamp_header: None,
            id_header: None,
            template: "{body}".to_owned(),
        }
    }

    /// A scheme nothing verifies against (its signature header name is empty): the
    /// fallback of a preset whose fixed configuration would not build.
    pub(super) fn inert(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            header: String::new(),
            prefix: String::new(),
            encoding: Encoding::Hex,
            timestamp_header: None,
            id_header: None,
            template: vec![Piece::Body],
            id_delimiters: Vec::new(),
        }
    }

    fn content<'a>(&'a self, id: &'a str, ts: &'a str) -> Result<Content<'a>, WebhookError> {
        let mut parts = [Part::Body; MAX_PARTS];
        for (slot, piece) in parts.iter_mut().zip(&self.template) {
            *slot = match piece {
                Piece::Literal(l) => Part::Text(l),
                Piece::Id => Part::Text(id),
                Piece::Timestamp => Part::Text(ts),
                Piece::Body => Part::Body,
            };
        }
        Content::new(parts.get(..self.template.len()).unwrap_or(&[]))
    }

    /// Refuses an id containing a character that delimits it in the signed content.
    fn check_id(&self, name: &str, id: &str) -> Result<(), WebhookError> {
        match id.chars().find(|c| self.id_delimiters.contains(c)) {
            Some(delimiter) => Err(WebhookError::IdContainsDelimiter {
                name: name.to_owned(),
                delimiter,
            }),
            None => Ok(()),
        }
    }

    fn decode(&self, text: &str) -> Option<[u8; 32]> {
        match self.encoding {
            Encoding::Hex => decode_lower_hex(text),
            Encoding::Base64 => {
                let mut buf = [0u8; 33];
                let n = B64.decode_slice(text, &mut buf).ok()?;
                buf.get(..n)?.try_into().ok()
            }
        }
    }
}

impl Scheme for Custom {
    fn name(&self) -> &str {
        &self.name
    }

    fn parse_secret(&self, secret: &str) -> Result<Key, WebhookError> {
        Key::hmac_text(secret)
    }

    fn extract<'s, 'h: 's>(
        &'s self,
        headers: &dyn HeaderLookup<'h>,
        limits: &Limits,
    ) -> Result<Message<'s>, WebhookError> {
        let value = required(headers, &self.header, limits.max_header_bytes)?;
        let encoded = value
            .strip_prefix(self.prefix.as_str())
            .ok_or_else(|| WebhookError::malformed(&self.header, "signature lacks its prefix"))?;
        let tag = self.decode(encoded).ok_or_else(|| {
            WebhookError::malformed(
                &self.header,
                match self.encoding {
                    Encoding::Hex => "signature is not 64 lowercase hex digits",
                    Encoding::Base64 => "signature is not base64 of 32 bytes",
                },
            )
        })?;
        let (timestamp, ts_text) = match &self.timestamp_header {
            Some(name) => {
                let text = required(headers, name, limits.max_header_bytes)?;
                (Some(parse_timestamp(name, text)?), text)
            }
            None => (None, ""),
        };
        let id = match &self.id_header {
            Some(name) => {
                let text = required(headers, name, limits.max_header_bytes)?;
                if text.is_empty() {
                    return Err(WebhookError::malformed(name, "message id is empty"));
                }
                self.check_id(name, text)?;
                Some(text)
            }
            None => None,
        };
        Ok(Message {
            timestamp,
            id,
            content: self.content(id.unwrap_or(""), ts_text)?,
            candidates: Signatures::One(Candidate::HmacSha256(tag)),
        })
    }

    fn sign(
        &self,
        key: &Key,
        delivery: &Delivery<'_>,
    ) -> Result<Vec<(String, String)>, WebhookError> {
        if self.id_header.is_some() {
            if delivery.id.is_empty() {
                return Err(WebhookError::InvalidInput {
                    field: "id",
                    reason: "message id is empty",
                });
            }
            self.check_id("id", delivery.id)?;
        }
        let ts = delivery.timestamp.to_string();
        let content = self.content(delivery.id, &ts)?;
        let tag = hmac_sha256(hmac_key(key)?, &content, delivery.body)?;
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(tag),
            Encoding::Base64 => B64.encode(tag),
        };
        let mut out = vec![(self.header.clone(), format!("{}{encoded}", self.prefix))];
        if let Some(name) = &self.timestamp_header {
            out.push((name.clone(), ts));
        }
        if let Some(name) = &self.id_header {
            out.push((name.clone(), delivery.id.to_owned()));
        }
        Ok(out)
    }
}
