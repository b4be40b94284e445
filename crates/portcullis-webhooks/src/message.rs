//! What a scheme reads out of the headers: the signed content's layout, the signed
//! timestamp and id, and the candidate signatures.

use crate::error::WebhookError;

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

/// The candidate signatures of one request, decoded lazily (no allocation for the formats
/// of the built-in schemes). The scheme has already checked the header's structure and the
/// count cap before this is built.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Signatures<'a> {
    /// A header value listing entries separated by `separator`, each decoded by the
    /// scheme's own `parse` (`None` for an entry that can never match: another version,
    /// an undecodable value). Entries are decoded in header order, one at a time, every
    /// time the candidates are read.
    Separated {
        /// The signature header's value.
        value: &'a str,
        /// The character between entries.
        separator: char,
        /// The scheme's decoder for one entry.
        parse: fn(&str) -> Option<Candidate>,
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
                parse,
            } => CandidateIter::Separated(value.split(*separator), *parse),
            Self::One(c) => CandidateIter::One(Some(*c)),
            Self::List(l) => CandidateIter::List(l.iter()),
        }
    }
}

/// The iterator behind [`Signatures::iter`]: one state per form, no chaining.
enum CandidateIter<'a> {
    Separated(std::str::Split<'a, char>, fn(&str) -> Option<Candidate>),
    One(Option<Candidate>),
    List(std::slice::Iter<'a, Candidate>),
}

impl Iterator for CandidateIter<'_> {
    type Item = Candidate;

    fn next(&mut self) -> Option<Candidate> {
        match self {
            Self::Separated(entries, parse) => entries.find_map(*parse),
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
