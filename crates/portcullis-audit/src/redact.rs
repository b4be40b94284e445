//! Redaction applied to an entry before it is sealed and hashed.
//!
//! Whatever a redactor removes never reaches the log, so it cannot be recovered from it,
//! and the chain verifies as usual because hashes cover the redacted content.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portcullis_core::TenantId;
use regex::{Captures, Regex};

use crate::entry::NewEntry;
use crate::error::AuditError;
use crate::metadata::{Json, Metadata};

/// Rewrites an entry before it is hashed. Applied in order by [`crate::AuditLog`] at append.
pub trait Redactor: Send + Sync + Debug {
    /// Redacts `entry` of `tenant` in place.
    ///
    /// # Errors
    ///
    /// Any error aborts the append (nothing is written).
    fn redact(&self, tenant: &TenantId, entry: &mut NewEntry) -> Result<(), AuditError>;
}

/// Replaces emails, phone numbers and IP addresses in the resource and in every string
/// value of the metadata (not in keys) with `[email]`, `[phone]` and `[ip]`; optionally
/// masks the entry's IP field to its /24 (IPv4) or /48 (IPv6) network.
///
/// Patterns are deliberately broad: a phone number is 9 to 15 digits, optionally with a
/// leading `+` and separators (space, `.`, `-`, parentheses), not inside a longer word, so a
/// long digit string in text (an order number, a millisecond timestamp written as a
/// string) is redacted too. Integers in metadata are never touched.
#[derive(Debug, Clone)]
pub struct PiiRedactor {
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    phone: Regex,
    date: Regex,
    mask_ip_field: bool,
}

impl Default for PiiRedactor {
    fn default() -> Self {
        Self::new()
    }
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl PiiRedactor {
    /// The built-in redactor; the IP field is left as is.
    pub fn new() -> Self {
        // The patterns are constants; `Regex::new` cannot fail on them, and if it ever did the
        // redactor would fall back to a pattern that matches everything (fail closed).
        let re = |p: &str| Regex::new(p).unwrap_or_else(|_| Self::match_all());
        Self {
            email: re(
                r"(?i)[a-z0-9._%+'!#$&*=?^`{|}~\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+",
            ),
            ipv4: re(
                r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
            ),
            ipv6: re(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z_.\-]+)?"),
            phone: re(r"\+?\(?[0-9][0-9 ().\-]{7,22}[0-9]"),
            date: re(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"),
            mask_ip_field: false,
        }
    }

    fn match_all() -> Regex {
        // `(?s).+` is a valid pattern; this path exists only to avoid a panic.
        Regex::new("(?s).+").unwrap_or_else(|_| Self::match_all())
    }

    /// Also masks the entry's IP field (IPv4 to /24, IPv6 to /48).
    #[must_use]
    pub fn mask_ip_field(mut self, mask: bool) -> Self {
        self.mask_ip_field = mask;
        self
    }

    /// Redacts one string.
    pub fn redact_text(&self, text: &str) -> String {
        let s = self.email.replace_all(text, "[email]");
        let s = self
            .ipv4
            .replace_all(&s, |c: &Captures<'_>| {
                let Some(m) = c.get(0) else {
                    return String::new();
                };
                // Not part of a longer dotted number such as a version `1.2.3.4.5`.
                let after = s.get(m.end()..).unwrap_or_default().as_bytes();
                let before = s.get(..m.start()).unwrap_or_default().as_bytes();
                let longer_after = matches!(after, [b'.', d, ..] if d.is_ascii_digit());
                let longer_before = matches!(before, [.., d, b'.'] if d.is_ascii_digit());
                if longer_after || longer_before {
                    m.as_str().to_owned()
                } else {
                    "[ip]".to_owned()
                }
            })
            .into_owned();
        let s = self
            .ipv6
            .replace_all(&s, |c: &Captures<'_>| {
                let Some(m) = c.get(0) else {
                    return String::new();
                };
                let bounded = !s
                    .get(..m.start())
                    .and_then(|p| p.chars().last())
                    .is_some_and(word_char)
                    && !s
                        .get(m.end()..)
                        .and_then(|p| p.chars().next())
                        .is_some_and(word_char);
                let addr = m.as_str().split('%').next().unwrap_or_default();
                if bounded && addr.parse::<Ipv6Addr>().is_ok() {
                    "[ip]".to_owned()
                } else {
                    m.as_str().to_owned()
                }
            })
            .into_owned();
        self.phone
            .replace_all(&s, |c: &Captures<'_>| {
                let Some(m) = c.get(0) else {
                    return String::new();
                };
                let digits = m.as_str().chars().filter(char::is_ascii_digit).count();
                let bounded = !s
                    .get(..m.start())
                    .and_then(|p| p.chars().last())
                    .is_some_and(word_char)
                    && !s
                        .get(m.end()..)
                        .and_then(|p| p.chars().next())
                        .is_some_and(word_char);
                // An ISO date followed by a time (`2024-01-15 10`) is not a phone number.
                if bounded && (9..=15).contains(&digits) && !self.date.is_match(m.as_str()) {
                    "[phone]".to_owned()
                } else {
                    m.as_str().to_owned()
                }
            })
            .into_owned()
    }

    fn redact_json(&self, v: &mut Json) {
        match v {
            Json::Str(s) => *s = self.redact_text(s),
            Json::Arr(items) => items.iter_mut().for_each(|i| self.redact_json(i)),
            Json::Obj(fields) => fields.iter_mut().for_each(|(_, i)| self.redact_json(i)),
            Json::Null | Json::Bool(_) | Json::Neg(_) | Json::Pos(_) => {}
        }
    }
}

/// Masks an address to its /24 (IPv4) or /48 (IPv6) network.
pub fn mask_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let (a, b, c) = (s.first().copied(), s.get(1).copied(), s.get(2).copied());
            IpAddr::V6(Ipv6Addr::new(
                a.unwrap_or(0),
                b.unwrap_or(0),
                c.unwrap_or(0),
                0,
                0,
                0,
                0,
                0,
            ))
        }
    }
}

impl Redactor for PiiRedactor {
    fn redact(&self, _tenant: &TenantId, entry: &mut NewEntry) -> Result<(), AuditError> {
        let resource = self.redact_text(entry.resource());
        entry.set_resource(resource)?;
        let mut tree = entry.metadata().tree()?;
        self.redact_json(&mut tree);
        entry.set_metadata(Metadata::from_tree(&tree)?);
        if self.mask_ip_field {
            entry.set_ip(entry.ip().map(mask_ip));
        }
        Ok(())
    }
}
