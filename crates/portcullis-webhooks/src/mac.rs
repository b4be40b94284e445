//! The MAC primitives shared by the schemes and the verification engine: HMAC-SHA256
//! over a signed-content layout, the HMAC key of a [`Key`], and the lowercase-hex tag
//! decoder.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::WebhookError;
use crate::key::{Key, KeyInner};
use crate::message::Content;

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
