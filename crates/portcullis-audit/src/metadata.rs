//! Entry metadata as canonical JSON.
//!
//! Canonical form (what is hashed and stored):
//! - the top level is an object; nesting is at most [`Metadata::MAX_DEPTH`] levels deep;
//! - object keys are unique and sorted by the bytes of their UTF-8 encoding;
//! - no whitespace outside strings;
//! - numbers are integers in `-2^63 ..= 2^64-1`, written in decimal with no sign for
//!   non-negative values, no leading zeros, no exponent or fraction;
//!   any number with a fraction or exponent (a float), and `-0`, is rejected;
//! - strings escape `"` as `\"`, `\` as `\\`, U+0008/0009/000A/000C/000D as
//!   `\b \t \n \f \r`, every other code point below U+0020 as `\u00xx` (lowercase hex), and
//!   write every other code point as its raw UTF-8 bytes (no `\/`, no `\uXXXX` for
//!   non-ASCII);
//! - `true`, `false`, `null` as in JSON;
//! - at most [`Metadata::MAX_LEN`] bytes in total.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::AuditError;

/// A JSON value in the canonical tree (private; the public face is [`Metadata`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Neg(i64),
    Pos(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value with integer numbers")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(if v < 0 {
            Json::Neg(v)
        } else {
            Json::Pos(v.unsigned_abs())
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Pos(v))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Json, E> {
        Err(E::custom("numbers must be integers (floats are rejected)"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(JsonSeed)? {
            out.push(v);
        }
        Ok(Json::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out: Vec<(String, Json)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(JsonSeed)?;
            out.push((k, v));
        }
        out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        if out.windows(2).any(|w| matches!(w, [a, b] if a.0 == b.0)) {
            return Err(de::Error::custom("duplicate object key"));
        }
        Ok(Json::Obj(out))
    }
}

struct JsonSeed;

impl<'de> de::DeserializeSeed<'de> for JsonSeed {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(out: &mut String, v: &Json, depth: usize) -> Result<(), AuditError> {
    if depth > Metadata::MAX_DEPTH {
        return Err(AuditError::InvalidMetadata(format!(
            "nesting deeper than {} levels",
            Metadata::MAX_DEPTH
        )));
    }
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Neg(n) => out.push_str(&n.to_string()),
        Json::Pos(n) => out.push_str(&n.to_string()),
        Json::Str(s) => write_str(out, s),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Json::Obj(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_json(out, item, depth + 1)?;
            }
            out.push('}');
        }
    }
    if out.len() > Metadata::MAX_LEN {
        return Err(AuditError::InvalidMetadata(format!(
            "longer than {} bytes",
            Metadata::MAX_LEN
        )));
    }
    Ok(())
}

/// Canonical JSON metadata of an entry (see the module docs for the exact form).
///
/// ```
/// use portcullis_audit::Metadata;
/// let m = Metadata::parse(r#"{ "b": [1, -2, "x\n"], "a": {"z": null, "y": true} }"#)?;
/// assert_eq!(m.as_str(), r#"{"a":{"y":true,"z":null},"b":[1,-2,"x\n"]}"#);
/// assert!(Metadata::parse(r#"{"ratio": 0.5}"#).is_err());
/// assert!(Metadata::parse(r#"{"a": 1, "a": 2}"#).is_err());
/// # Ok::<(), portcullis_audit::AuditError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Metadata(String);

impl Metadata {
    /// Maximum canonical length in bytes (64 KiB).
    pub const MAX_LEN: usize = 64 * 1024;
    /// Maximum nesting depth (the top-level object is depth 0).
    pub const MAX_DEPTH: usize = 32;

    /// The empty object `{}`.
    pub fn empty() -> Self {
        Self("{}".to_owned())
    }

    /// Parses JSON text and canonicalizes it.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidMetadata`] if the text is not JSON, the top level is not an
    /// object, a key repeats, a number is not an integer, or the result is too deep or long.
    pub fn parse(json: &str) -> Result<Self, AuditError> {
        if json.len() > Self::MAX_LEN.saturating_mul(4) {
            return Err(AuditError::InvalidMetadata("input too long".into()));
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let tree = de::DeserializeSeed::deserialize(JsonSeed, &mut de)
            .map_err(|e| AuditError::InvalidMetadata(e.to_string()))?;
        de.end()
            .map_err(|e| AuditError::InvalidMetadata(e.to_string()))?;
        Self::from_tree(&tree)
    }

    /// Serializes `value` (through `serde_json`) and canonicalizes it.
    ///
    /// # Errors
    ///
    /// As [`Metadata::parse`], and if `value` fails to serialize.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, AuditError> {
        let v =
            serde_json::to_value(value).map_err(|e| AuditError::InvalidMetadata(e.to_string()))?;
        let tree = de::DeserializeSeed::deserialize(JsonSeed, v)
            .map_err(|e| AuditError::InvalidMetadata(e.to_string()))?;
        Self::from_tree(&tree)
    }

    pub(crate) fn from_tree(tree: &Json) -> Result<Self, AuditError> {
        if !matches!(tree, Json::Obj(_)) {
            return Err(AuditError::InvalidMetadata(
                "top level must be an object".into(),
            ));
        }
        let mut out = String::new();
        write_json(&mut out, tree, 0)?;
        Ok(Self(out))
    }

    pub(crate) fn tree(&self) -> Result<Json, AuditError> {
        let mut de = serde_json::Deserializer::from_str(&self.0);
        de::DeserializeSeed::deserialize(JsonSeed, &mut de)
            .map_err(|e| AuditError::InvalidMetadata(e.to_string()))
    }

    /// The canonical JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Metadata({})", self.0)
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tree = d.deserialize_any(JsonVisitor)?;
        Self::from_tree(&tree).map_err(de::Error::custom)
    }
}
