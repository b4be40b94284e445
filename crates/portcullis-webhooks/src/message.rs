//! What a scheme reads out of the headers: the signed content's layout, the signed
//! timestamp and id, and the candidate signatures.

use base64::Engine as _;

use crate::error::WebhookError;
use crate::key::B64;

/// The most parts a signed-content layout may have.
pub const MAX_PARTS: usize = 8;

/// One piece of the signed content, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Literal text or a header value, as bytes.
    Text(&'a str),
    /// The raw request body.
    Body,
}

/// The signed content: up to [`MAX_PARTS`] parts fed to the MAC in order. No allocation.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    parts: [Part<'a>; MAX_PARTS],
    len: usize,
}

impl<'a> Content<'a> {
    /// Builds a layout from `parts`.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidConfig`] if there are more than [`MAX_PARTS`] parts.
    pub fn new(parts: &[Part<'a>]) -> Result<Self, WebhookError> {
        let mut out = [Part::Body; MAX_PARTS];
        let slot = out
            .get_mut(..parts.len())
            .ok_or(WebhookError::InvalidConfig(
                "signed content has too many parts",
            ))?;
        slot.copy_from_slice(parts);
        Ok(Self {
            parts: out,
            len: parts.len(),
        })
    }

    /// The parts in order.
    pub fn parts(&self) -> &[Part<'a>] {
        self.parts.get(..self.len).unwrap_or(&[])
    }

    /// Feeds every part to `sink`, substituting `body` for [`Part::Body`].
    pub(crate) fn feed(&self, body: &[u8], mut sink: impl FnMut(&[u8])) {
        for part in self.parts() {
            match part {
                Part::Text(t) => sink(t.as_bytes()),
                Part::Body => sink(body),
            }
        }
    }

    /// The whole signed content as one buffer (for Ed25519, which does not stream).
    pub(crate) fn concat(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.feed(body, |b| out.extend_from_slice(b));
        out
    }
}

/// A candidate signature found in a header (public data, not secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    /// An HMAC-SHA256 tag.
    HmacSha256([u8; 32]),
    /// An Ed25519 signature.
    Ed25519([u8; 64]),
}

/// How the tag after an entry's prefix is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagEncoding {
    /// Lowercase hexadecimal, exactly two digits per byte (`0-9a-f`, decoded in constant
    /// time).
    LowerHex,
    /// Standard base64 with padding (RFC 4648 section 4).
    Base64,
}

/// The kind of signature a list entry carries, which fixes its decoded length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CandidateKind {
    /// An HMAC-SHA256 tag: 32 bytes.
    HmacSha256,
    /// An Ed25519 signature: 64 bytes.
    Ed25519,
}

/// One way an entry of a [`Signatures::Separated`] list may be written: `prefix`, then a
/// tag of `kind` in `encoding` and nothing else. Stripe's `v1=<hex>` is
/// `EntryForm { prefix: "v1=", encoding: TagEncoding::LowerHex, kind: CandidateKind::HmacSha256 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryForm {
    /// The text the entry starts with (version and separator), matched exactly.
    pub prefix: &'static str,
    /// How the tag after the prefix is written.
    pub encoding: TagEncoding,
    /// What the tag is; an entry whose tag does not decode to exactly this length never
    /// matches.
    pub kind: CandidateKind,
}

impl EntryForm {
    /// Decodes one entry: the first form whose prefix the entry starts with decides;
    /// `None` when no form's prefix matches or the tag does not decode to its kind's length.
    fn decode(forms: &[Self], entry: &str) -> Option<Candidate> {
        let form = forms.iter().find(|f| entry.starts_with(f.prefix))?;
        let tag = entry.get(form.prefix.len()..)?;
        match form.kind {
            CandidateKind::HmacSha256 => decode_tag(form.encoding, tag).map(Candidate::HmacSha256),
            CandidateKind::Ed25519 => decode_tag(form.encoding, tag).map(Candidate::Ed25519),
        }
    }
}

/// The candidate signatures of one request, decoded lazily (no allocation for the formats
/// of the built-in schemes). The scheme has already checked the header's structure and the
/// count cap before this is built.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Signatures<'a> {
    /// A header value listing entries separated by `separator`, each written in one of the
    /// scheme's `forms`; an entry in no form, or whose tag does not decode, can never match
    /// and is skipped (another version, a future algorithm). Entries are decoded in header
    /// order, one at a time, every time the candidates are read.
    Separated {
        /// The signature header's value.
        value: &'a str,
        /// The character between entries.
        separator: char,
        /// The forms an entry may take, tried in order.
        forms: &'static [EntryForm],
    },
    /// Exactly one candidate.
    One(Candidate),
    /// Any list, for schemes defined outside this crate.
    List(Vec<Candidate>),
}

impl Signatures<'_> {
    /// The candidates in header order.
    pub fn iter(&self) -> impl Iterator<Item = Candidate> + '_ {
        match self {
            Self::Separated {
                value,
                separator,
                forms,
            } => CandidateIter::Separated(value.split(*separator), forms),
            Self::One(c) => CandidateIter::One(Some(*c)),
            Self::List(l) => CandidateIter::List(l.iter()),
        }
    }
}

/// The iterator behind [`Signatures::iter`]: one state per form, no chaining.
enum CandidateIter<'a> {
    Separated(std::str::Split<'a, char>, &'static [EntryForm]),
    One(Option<Candidate>),
    List(std::slice::Iter<'a, Candidate>),
}

impl Iterator for CandidateIter<'_> {
    type Item = Candidate;

    fn next(&mut self) -> Option<Candidate> {
        match self {
            Self::Separated(entries, forms) => entries.find_map(|e| EntryForm::decode(forms, e)),
            Self::One(one) => one.take(),
            Self::List(list) => list.next().copied(),
        }
    }
}

/// What a scheme read from the headers of one request.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// The signed timestamp in seconds since the epoch, if the scheme has one.
    pub timestamp: Option<u64>,
    /// The signed message id, if the scheme signs one.
    pub id: Option<&'a str>,
    /// The signed content layout.
    pub content: Content<'a>,
    /// The candidate signatures, at most the configured cap.
    pub candidates: Signatures<'a>,
}

/// Parses a Unix timestamp in seconds: ASCII digits only (no sign, no spaces, no
/// fraction), at most 19 digits, no overflow.
///
/// # Errors
///
/// [`WebhookError::MalformedHeader`] naming `header`.
pub fn parse_timestamp(header: &str, value: &str) -> Result<u64, WebhookError> {
    if value.is_empty() {
        return Err(WebhookError::malformed(header, "timestamp is empty"));
    }
    // One pass: accumulate with checked arithmetic and note any non-digit; a non-digit
    // anywhere is reported before an overflow.
    let (mut n, mut digits_only, mut overflow) = (0u64, true, false);
    for byte in value.bytes() {
        let digit = byte.wrapping_sub(b'0');
        digits_only &= digit < 10;
        match n
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(m) => n = m,
            None => overflow = true,
        }
    }
    if !digits_only {
        return Err(WebhookError::malformed(
            header,
            "timestamp must be decimal digits only",
        ));
    }
    if overflow {
        return Err(WebhookError::malformed(header, "timestamp is out of range"));
    }
    Ok(n)
}

/// Decodes a tag of exactly `N` bytes (`N` at most 64), or `None`.
fn decode_tag<const N: usize>(encoding: TagEncoding, text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    match encoding {
        TagEncoding::LowerHex => {
            if text.len() != 2 * N {
                return None;
            }
            base16ct::lower::decode(text, &mut out).ok()?;
        }
        TagEncoding::Base64 => {
            // Room for the decoder's estimate of a 64-byte tag; longer text fails to fit.
            let mut buf = [0u8; 66];
            let n = B64.decode_slice(text, &mut buf).ok()?;
            out = buf.get(..n)?.try_into().ok()?;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMS: &[EntryForm] = &[
        EntryForm {
            prefix: "v1=",
            encoding: TagEncoding::LowerHex,
            kind: CandidateKind::HmacSha256,
        },
        EntryForm {
            prefix: "v1a=",
            encoding: TagEncoding::Base64,
            kind: CandidateKind::Ed25519,
        },
    ];

    fn decode_all(value: &str) -> Vec<Candidate> {
        Signatures::Separated {
            value,
            separator: ' ',
            forms: FORMS,
        }
        .iter()
        .collect()
    }

    #[test]
    fn entries_decode_by_their_form_and_length() {
        let hex = "ab".repeat(32);
        let b64 = B64.encode([7u8; 64]);
        let got = decode_all(&format!(
            "v1={hex} v0={hex} v1a={b64} v1={hex}0 v1={}",
            "AB".repeat(32)
        ));
        // `v0` is in no form; a 65-digit and an uppercase tag never match.
        assert_eq!(
            got,
            vec![
                Candidate::HmacSha256([0xab; 32]),
                Candidate::Ed25519([7; 64])
            ]
        );
        // A base64 tag of the wrong length is skipped, as is hex under a base64 form.
        assert!(decode_all(&format!("v1a={} v1a={hex}", B64.encode([7u8; 32]))).is_empty());
        assert!(decode_all("").is_empty());
    }
}
