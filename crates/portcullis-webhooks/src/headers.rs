//! Header lookup: how verification reads request headers without depending on any one
//! HTTP library.

use crate::error::WebhookError;

/// The answer of a header lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header<'h> {
    /// No header of that name.
    Missing,
    /// Exactly one header of that name, with this value.
    One(&'h str),
    /// The header appears more than once.
    Duplicate,
    /// The header's value is not visible ASCII/UTF-8 text.
    NotText,
}

/// Reads request headers by name (ASCII case-insensitive).
///
/// A lookup answers one question per header name: absent, one value, several values (a
/// duplicate, which every scheme rejects), or a value that is not text. Names are
/// compared ASCII case-insensitively by every implementation here.
///
/// Implementations provided:
/// - any closure `Fn(&str) -> Header<'h>` (it can report duplicates);
/// - [`from_fn`] for the simplest `Fn(&str) -> Option<&str>` lookups (no duplicate
///   detection: use it only if your framework already rejects duplicated headers);
/// - slices and vectors of `(name, value)` string pairs (`&[(K, V)]`), which count
///   duplicates;
/// - `&http::HeaderMap` (http 1.x) with the `http` feature.
pub trait HeaderLookup<'h> {
    /// Looks up `name` (given in lowercase by this crate).
    fn lookup(&self, name: &str) -> Header<'h>;
}

impl<'h, F> HeaderLookup<'h> for F
where
    F: Fn(&str) -> Header<'h>,
{
    fn lookup(&self, name: &str) -> Header<'h> {
        self(name)
    }
}

/// A lookup from a closure returning `Option<&str>`. It cannot see duplicates, so prefer a
/// closure returning [`Header`] or the pairs/`HeaderMap` implementations when the
/// framework may pass a header twice.
pub fn from_fn<'h, F>(f: F) -> impl HeaderLookup<'h>
where
    F: Fn(&str) -> Option<&'h str>,
{
    move |name: &str| f(name).map_or(Header::Missing, Header::One)
}

impl<'h, K, V> HeaderLookup<'h> for &'h [(K, V)]
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    fn lookup(&self, name: &str) -> Header<'h> {
        let mut found = Header::Missing;
        for (k, v) in self.iter() {
            if k.as_ref().eq_ignore_ascii_case(name) {
                if found != Header::Missing {
                    return Header::Duplicate;
                }
                found = Header::One(v.as_ref());
            }
        }
        found
    }
}

impl<'h, K, V> HeaderLookup<'h> for &'h Vec<(K, V)>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    fn lookup(&self, name: &str) -> Header<'h> {
        self.as_slice().lookup(name)
    }
}

#[cfg(feature = "http")]
impl<'h> HeaderLookup<'h> for &'h http::HeaderMap {
    fn lookup(&self, name: &str) -> Header<'h> {
        // The names this crate reads are pre-parsed, so a lookup only hashes and compares;
        // any other name (custom schemes) is parsed by `http` as usual.
        let values = match known::name(name) {
            Some(known) => self.get_all(known),
            None => self.get_all(name),
        };
        let mut values = values.iter();
        match (values.next(), values.next()) {
            (None, _) => Header::Missing,
            (Some(_), Some(_)) => Header::Duplicate,
            (Some(v), None) => v.to_str().map_or(Header::NotText, Header::One),
        }
    }
}

/// Pre-parsed `http` names of the headers the built-in schemes read.
#[cfg(feature = "http")]
mod known {
    use http::HeaderName;

    static WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
    static WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
    static WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
    static SVIX_ID: HeaderName = HeaderName::from_static("svix-id");
    static SVIX_TIMESTAMP: HeaderName = HeaderName::from_static("svix-timestamp");
    static SVIX_SIGNATURE: HeaderName = HeaderName::from_static("svix-signature");
    static STRIPE_SIGNATURE: HeaderName = HeaderName::from_static("stripe-signature");
    static X_HUB_SIGNATURE_256: HeaderName = HeaderName::from_static("x-hub-signature-256");
    static X_SHOPIFY_HMAC_SHA256: HeaderName = HeaderName::from_static("x-shopify-hmac-sha256");
    static X_SLACK_SIGNATURE: HeaderName = HeaderName::from_static("x-slack-signature");
    static X_SLACK_REQUEST_TIMESTAMP: HeaderName =
        HeaderName::from_static("x-slack-request-timestamp");
    static X_ZM_SIGNATURE: HeaderName = HeaderName::from_static("x-zm-signature");
    static X_ZM_REQUEST_TIMESTAMP: HeaderName = HeaderName::from_static("x-zm-request-timestamp");

    /// The pre-parsed name equal to `name` (given in lowercase by this crate), if any.
    pub(super) fn name(name: &str) -> Option<&'static HeaderName> {
        Some(match name {
            "webhook-id" => &WEBHOOK_ID,
            "webhook-timestamp" => &WEBHOOK_TIMESTAMP,
            "webhook-signature" => &WEBHOOK_SIGNATURE,
            "svix-id" => &SVIX_ID,
            "svix-timestamp" => &SVIX_TIMESTAMP,
            "svix-signature" => &SVIX_SIGNATURE,
            "stripe-signature" => &STRIPE_SIGNATURE,
            "x-hub-signature-256" => &X_HUB_SIGNATURE_256,
            "x-shopify-hmac-sha256" => &X_SHOPIFY_HMAC_SHA256,
            "x-slack-signature" => &X_SLACK_SIGNATURE,
            "x-slack-request-timestamp" => &X_SLACK_REQUEST_TIMESTAMP,
            "x-zm-signature" => &X_ZM_SIGNATURE,
            "x-zm-request-timestamp" => &X_ZM_REQUEST_TIMESTAMP,
            _ => return None,
        })
    }
}

/// Reads one header, turning absence, duplication, non-text and oversize into errors.
pub(crate) fn required<'h>(
    headers: &dyn HeaderLookup<'h>,
    name: &str,
    max_len: usize,
) -> Result<&'h str, WebhookError> {
    optional(headers, name, max_len)?.ok_or_else(|| WebhookError::MissingHeader(name.to_owned()))
}

/// Like [`required`], but absence is `Ok(None)`.
pub(crate) fn optional<'h>(
    headers: &dyn HeaderLookup<'h>,
    name: &str,
    max_len: usize,
) -> Result<Option<&'h str>, WebhookError> {
    answer(headers.lookup(name), name, max_len)
}

/// Turns one lookup's answer into a value, `None` if absent, or an error.
pub(crate) fn answer<'h>(
    found: Header<'h>,
    name: &str,
    max_len: usize,
) -> Result<Option<&'h str>, WebhookError> {
    match found {
        Header::Missing => Ok(None),
        Header::Duplicate => Err(WebhookError::DuplicateHeader(name.to_owned())),
        Header::NotText => Err(WebhookError::malformed(name, "value is not text")),
        Header::One(v) if v.len() > max_len => Err(WebhookError::HeaderTooLarge {
            name: name.to_owned(),
            limit: max_len,
        }),
        Header::One(v) => Ok(Some(v)),
    }
}
