//! Validated identifiers.
//!
//! Every identifier is a newtype that can only be built by parsing ([`std::str::FromStr`],
//! [`TryFrom<String>`], [`TryFrom<&str>`] or serde deserialization), so a value that breaks
//! its rules cannot exist. The rules are chosen so an identifier can be embedded in
//! storage keys, HKDF `info` strings and log lines without quoting:
//!
//! | type | length (bytes) | characters | first character |
//! |------|----------------|------------|-----------------|
//! | [`TenantId`] | 1 to 64 | `A-Z a-z 0-9 _ -` | letter or digit |
//! | [`ActorId`] | 1 to 128 | `A-Z a-z 0-9 _ - . : @ +` | letter or digit |
//! | [`KeyId`] | 1 to 128 | `A-Z a-z 0-9 _ - . :` | letter, digit, `_` or `-` |
//!
//! Only ASCII is accepted, so the byte length equals the character count. Comparison is
//! exact (case-sensitive).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The string was empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which identifier type was being parsed.
        kind: &'static str,
    },
    /// The string was longer than the type allows.
    #[error("{kind} is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// Which identifier type was being parsed.
        kind: &'static str,
        /// The length that was given.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// The string contains a character outside the type's set.
    #[error("{kind} contains {ch:?} at byte {index}; allowed characters are {allowed}")]
    InvalidChar {
        /// Which identifier type was being parsed.
        kind: &'static str,
        /// The first offending character.
        ch: char,
        /// Its byte offset.
        index: usize,
        /// A description of the allowed set.
        allowed: &'static str,
    },
    /// The first character is not one the type allows at the start.
    #[error("{kind} must start with {start}")]
    BadStart {
        /// Which identifier type was being parsed.
        kind: &'static str,
        /// A description of the characters allowed first.
        start: &'static str,
    },
}

fn validate(
    value: &str,
    kind: &'static str,
    max: usize,
    allowed: &'static str,
    extra: &[u8],
    start_allowed: &'static str,
    start_extra: &[u8],
) -> Result<(), IdError> {
    let Some(first) = value.chars().next() else {
        return Err(IdError::Empty { kind });
    };
    if value.len() > max {
        return Err(IdError::TooLong {
            kind,
            len: value.len(),
            max,
        });
    }
    for (index, ch) in value.char_indices() {
        let ok = ch.is_ascii_alphanumeric() || (ch.is_ascii() && extra.contains(&(ch as u8)));
        if !ok {
            return Err(IdError::InvalidChar {
                kind,
                ch,
                index,
                allowed,
            });
        }
    }
    if !(first.is_ascii_alphanumeric()
        || (first.is_ascii() && start_extra.contains(&(first as u8))))
    {
        return Err(IdError::BadStart {
            kind,
            start: start_allowed,
        });
    }
    Ok(())
}

macro_rules! identifier {
    (
        $(#[$meta:meta])*
        $name:ident, kind = $kind:literal, max = $max:literal,
        extra = $extra:literal, allowed = $allowed:literal,
        start_extra = $start_extra:literal, start = $start:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Box<str>);

        impl $name {
            /// The longest value accepted, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Parses and validates `value`.
            ///
            /// # Errors
            ///
            /// Returns an [`IdError`] naming the first rule the value breaks.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate(&value, $kind, $max, $allowed, $extra, $start, $start_extra)?;
                Ok(Self(value.into_boxed_str()))
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), &*self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.into_string()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

identifier! {
    /// A tenant (customer organisation) identifier: 1 to 64 bytes of `A-Z a-z 0-9 _ -`,
    /// starting with a letter or digit.
    ///
    /// ```
    /// use portcullis_core::TenantId;
    /// let t: TenantId = "tenant_42".parse()?;
    /// assert_eq!(t.to_string(), "tenant_42");
    /// assert!(TenantId::new("a:b").is_err());
    /// # Ok::<(), portcullis_core::IdError>(())
    /// ```
    TenantId, kind = "tenant id", max = 64, extra = b"_-",
    allowed = "ASCII letters, digits, `_` and `-`",
    start_extra = b"", start = "an ASCII letter or digit"
}

identifier! {
    /// The identifier of an actor (user, service account, API key owner): 1 to 128 bytes of
    /// `A-Z a-z 0-9 _ - . : @ +`, starting with a letter or digit, so e-mail addresses and
    /// `service:name` forms fit.
    ///
    /// ```
    /// use portcullis_core::ActorId;
    /// let a: ActorId = "alice@example.com".parse()?;
    /// assert_eq!(a.as_str(), "alice@example.com");
    /// # Ok::<(), portcullis_core::IdError>(())
    /// ```
    ActorId, kind = "actor id", max = 128, extra = b"_-.:@+",
    allowed = "ASCII letters, digits, `_`, `-`, `.`, `:`, `@` and `+`",
    start_extra = b"", start = "an ASCII letter or digit"
}

identifier! {
    /// The identifier of a key (a JWT `kid`, a key version label, a KMS key name): 1 to 128
    /// bytes of `A-Z a-z 0-9 _ - . :`, starting with a letter, digit, `_` or `-`, so every
    /// RFC 7638 thumbprint in base64url (43 characters of the URL-safe alphabet) fits.
    ///
    /// ```
    /// use portcullis_core::KeyId;
    /// let k: KeyId = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".parse()?;
    /// assert_eq!(k.as_str().len(), 43);
    /// # Ok::<(), portcullis_core::IdError>(())
    /// ```
    KeyId, kind = "key id", max = 128, extra = b"_-.:",
    allowed = "ASCII letters, digits, `_`, `-`, `.` and `:`",
    start_extra = b"_-", start = "an ASCII letter, digit, `_` or `-`"
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_with_specific_errors() {
        assert_eq!(TenantId::new(""), Err(IdError::Empty { kind: "tenant id" }));
        assert_eq!(
            TenantId::new("a".repeat(65)),
            Err(IdError::TooLong {
                kind: "tenant id",
                len: 65,
                max: 64
            })
        );
        assert!(matches!(
            TenantId::new("acme corp"),
            Err(IdError::InvalidChar {
                ch: ' ',
                index: 4,
                ..
            })
        ));
        assert_eq!(
            TenantId::new("-acme"),
            Err(IdError::BadStart {
                kind: "tenant id",
                start: "an ASCII letter or digit"
            })
        );
        assert!(KeyId::new("-thumbprint_starting_with_dash").is_ok());
        assert!(KeyId::new("_x").is_ok());
        assert!(KeyId::new(".x").is_err());
        assert!(KeyId::new(":x").is_err());
        assert!(matches!(
            TenantId::new("acmé"),
            Err(IdError::InvalidChar { ch: 'é', .. })
        ));
        assert!(matches!(
            TenantId::new("a\nb"),
            Err(IdError::InvalidChar { ch: '\n', .. })
        ));
        assert!(ActorId::new("a{b}").is_err());
        assert!(KeyId::new("k@1").is_err());
        assert!(TenantId::new("t.1").is_err());
    }

    #[test]
    fn accepts_boundaries() {
        assert!(TenantId::new("a".repeat(64)).is_ok());
        assert!(ActorId::new("a".repeat(128)).is_ok());
        assert!(ActorId::new("a".repeat(129)).is_err());
        assert!(KeyId::new("v1.2:alpha-beta_gamma").is_ok());
        assert!(ActorId::new("svc:billing+ops@example.com").is_ok());
    }

    #[test]
    fn error_messages_are_clear_and_escape_input() {
        let err = TenantId::new("a\u{1b}[31m").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("tenant id contains '\\u{1b}' at byte 1"),
            "{msg}"
        );
        assert!(!msg.contains('\u{1b}'));
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        let t: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"acme\"");
        let bad: Result<TenantId, _> = serde_json::from_str("\"ac me\"");
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("tenant id contains ' '")
        );
    }

    #[test]
    fn debug_names_the_type() {
        let k = KeyId::new("k1").unwrap();
        assert_eq!(format!("{k:?}"), "KeyId(\"k1\")");
    }

    proptest! {
        #[test]
        fn valid_tenants_round_trip(s in "[A-Za-z0-9][A-Za-z0-9_-]{0,63}") {
            let t: TenantId = s.parse().unwrap();
            prop_assert_eq!(t.to_string(), s.clone());
            let json = serde_json::to_string(&t).unwrap();
            let back: TenantId = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, t);
        }

        #[test]
        fn valid_actors_round_trip(s in "[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}") {
            let a = ActorId::try_from(s.as_str()).unwrap();
            prop_assert_eq!(String::from(a.clone()), s);
            let back: ActorId = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            prop_assert_eq!(back, a);
        }

        #[test]
        fn valid_key_ids_round_trip(s in "[A-Za-z0-9_-][A-Za-z0-9_.:-]{0,127}") {
            let k: KeyId = s.parse().unwrap();
            prop_assert_eq!(k.as_str(), s.as_str());
        }

        #[test]
        fn anything_with_a_forbidden_char_is_rejected(
            prefix in "[a-z]{1,10}",
            bad in "[^A-Za-z0-9_-]",
            suffix in "[a-z]{0,10}",
        ) {
            let s = format!("{prefix}{bad}{suffix}");
            prop_assert!(s.parse::<TenantId>().is_err());
            let is_invalid_char = matches!(s.parse::<TenantId>(), Err(IdError::InvalidChar { .. }));
            let is_too_long = matches!(s.parse::<TenantId>(), Err(IdError::TooLong { .. }));
            prop_assert!(is_invalid_char || is_too_long);
        }

        #[test]
        fn parsing_never_panics_and_accepts_only_the_charset(s in ".{0,80}") {
            if let Ok(t) = s.parse::<TenantId>() {
                prop_assert!(t.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
                prop_assert!(!t.as_str().is_empty() && t.as_str().len() <= 64);
            }
        }
    }
}
