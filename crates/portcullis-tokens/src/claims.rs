//! The claims of the JWTs this crate issues.

use std::fmt;

use portcullis_core::{ActorId, TenantId, UnixTime};
use serde::de::{self, DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::refresh::FamilyId;

/// The kind of a JWT, carried in the `typ` claim. A verifier accepts exactly one kind, so
/// an access token is never accepted as a ticket or a scoped token, and the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// A session's access token (`typ` = `access`).
    Access,
    /// A token restricted to one resource and role, derived from a session (`scoped`).
    Scoped,
    /// A single-use ticket bound to a purpose (`ticket`).
    Ticket,
}

impl TokenType {
    /// The `typ` claim value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Scoped => "scoped",
            Self::Ticket => "ticket",
        }
    }
}

/// Extra claims for callers that have none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoExtra {}

/// The `aud` claim: one string on the wire when we issue it; a verifier also accepts the
/// array form (RFC 7519 section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// Whether `aud` names `expected`.
    pub fn contains(&self, expected: &str) -> bool {
        self.0.iter().any(|a| a == expected)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    if out.len() >= 16 {
                        return Err(de::Error::custom("more than 16 audiences"));
                    }
                    out.push(s);
                }
                Ok(Audience(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The claims of a verified token. Times are whole seconds since the epoch (RFC 7519
/// NumericDate, integers only: a string or fractional `exp` is rejected as malformed).
///
/// Extra claims `E` are flattened into the top-level object; their names must not reuse
/// the registered names below (issuing refuses that).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims<E = NoExtra> {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: Audience,
    /// Subject.
    pub sub: ActorId,
    /// Tenant.
    pub tid: TenantId,
    /// Issued at (seconds).
    pub iat: u64,
    /// Not before (seconds).
    pub nbf: u64,
    /// Expires at (seconds).
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
    /// Token type (`access`, `scoped`, `ticket`).
    pub typ: String,
    /// The session (refresh-token family) the token derives from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<FamilyId>,
    /// Scoped tokens: the one resource they grant access to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res: Option<String>,
    /// Scoped tokens: the one role they grant on `res`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Tickets: the purpose they may be redeemed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pur: Option<String>,
    /// DPoP-bound tokens (RFC 9449 §6): the confirmation naming the proof key. A token
    /// with it verifies only with a proof of that key
    /// ([`TokenService::verify_access_dpop`](crate::TokenService::verify_access_dpop)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Caller-defined claims.
    #[serde(flatten)]
    pub extra: E,
}

/// The `cnf` claim (RFC 7800) of a DPoP-bound token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the DPoP proof key, base64url.
    pub jkt: String,
}

impl<E> Claims<E> {
    /// `iat` as a [`UnixTime`].
    pub fn issued_at(&self) -> UnixTime {
        UnixTime::from_secs(self.iat)
    }

    /// `exp` as a [`UnixTime`].
    pub fn expires_at(&self) -> UnixTime {
        UnixTime::from_secs(self.exp)
    }
}

/// The registered claim names; extra claims may not use them.
pub(crate) const RESERVED: &[&str] = &[
    "iss", "aud", "sub", "tid", "iat", "nbf", "exp", "jti", "typ", "sid", "res", "role", "pur",
    "cnf",
];

/// Validates a resource, role or purpose label: 1 to 256 bytes of printable ASCII without
/// spaces.
pub(crate) fn check_label(what: &str, value: &str) -> Result<(), crate::TokenError> {
    let ok = !value.is_empty() && value.len() <= 256 && value.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(crate::TokenError::InvalidConfig {
            reason: format!("{what} must be 1 to 256 printable ASCII characters without spaces"),
        })
    }
}

/// The registered claims alone: decoded without `#[serde(flatten)]` (which buffers every
/// field), and strictly typed (a duplicate, missing or mistyped claim is an error).
#[derive(Deserialize)]
struct Registered {
    iss: String,
    aud: Audience,
    sub: ActorId,
    tid: TenantId,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    typ: String,
    #[serde(default)]
    sid: Option<FamilyId>,
    #[serde(default)]
    res: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    pur: Option<String>,
    #[serde(default)]
    cnf: Option<Confirmation>,
}

/// What was wrong with a claim set, without any claim value: serde's messages quote the
/// offending value (`invalid type: string "…"`), so only a missing or duplicate claim is
/// named (the name is the decoder's, not the token's); anything else is described by its
/// kind and byte position.
pub(crate) fn claims_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for prefix in ["missing field `", "duplicate field `"] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some((name, _)) = rest.split_once('`') {
                let what = if prefix.starts_with("missing") {
                    "missing"
                } else {
                    "duplicate"
                };
                return format!("{what} claim `{name}`");
            }
        }
    }
    let kind = match e.classify() {
        serde_json::error::Category::Io => "unreadable claims",
        serde_json::error::Category::Syntax => "claims are not valid JSON",
        serde_json::error::Category::Eof => "claims end too early",
        serde_json::error::Category::Data => "a claim has the wrong type or value",
    };
    format!("{kind} (line {}, column {})", e.line(), e.column())
}

/// Decodes verified claim bytes: the registered claims, then the caller's extra claims
/// from the same object.
pub(crate) fn decode_claims<E: DeserializeOwned>(
    json: &[u8],
) -> Result<Claims<E>, crate::TokenError> {
    let bad = |e: serde_json::Error| crate::TokenError::MalformedClaims {
        reason: claims_error(&e),
    };
    let r: Registered = serde_json::from_slice(json).map_err(bad)?;
    let extra: E = serde_json::from_slice(json).map_err(bad)?;
    Ok(Claims {
        iss: r.iss,
        aud: r.aud,
        sub: r.sub,
        tid: r.tid,
        iat: r.iat,
        nbf: r.nbf,
        exp: r.exp,
        jti: r.jti,
        typ: r.typ,
        sid: r.sid,
        res: r.res,
        role: r.role,
        pur: r.pur,
        cnf: r.cnf,
        extra,
    })
}
