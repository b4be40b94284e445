//! Containers for secret values.
//!
//! | type | holds | `Debug` | `Display` | `Serialize` | `Deserialize` | equality |
//! |------|-------|---------|-----------|-------------|---------------|----------|
//! | [`SecretBytes`] | a byte string of any length | `SecretBytes([redacted])` | none | none | none | constant time |
//! | [`SecretString`] | a UTF-8 string | `SecretString([redacted])` | none | opt-in via [`serialize_exposed`] | yes (config files) | constant time |
//! | [`SecretArray<N>`] | exactly `N` bytes (keys) | `SecretArray([redacted])` | none | none | none | constant time |
//!
//! All three live on the heap and are zeroized when dropped (via `secrecy`/`zeroize`).
//! Read the value with `expose_secret()`, which makes every use visible in review.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretSlice};
use serde::{Deserialize, Deserializer, Serializer};
use subtle::{Choice, ConstantTimeEq};

use crate::random::{RandomError, SecureRandom};

/// A secret byte string, zeroized on drop.
pub struct SecretBytes(SecretSlice<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` (no copy is left behind by this call).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretSlice::from(bytes))
    }

    /// Copies `bytes` into a new secret. The caller remains responsible for the original.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// Draws `len` random bytes from `rng`.
    ///
    /// # Errors
    ///
    /// [`RandomError`] if the generator fails.
    pub fn random(rng: &dyn SecureRandom, len: usize) -> Result<Self, RandomError> {
        let mut bytes = vec![0u8; len];
        let filled = rng.fill(&mut bytes);
        let secret = Self::new(bytes);
        filled.map(|()| secret)
    }

    /// The secret bytes. Every call site is a place where the secret is used.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The length in bytes (not treated as secret).
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

/// A secret UTF-8 string, zeroized on drop.
pub struct SecretString(SecretBox<str>);

impl SecretString {
    /// Takes ownership of `value`.
    pub fn new(value: String) -> Self {
        Self(SecretBox::from(value.into_boxed_str()))
    }

    /// The secret text. Every call site is a place where the secret is used.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The length in bytes (not treated as secret).
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Exactly `N` secret bytes (a key), zeroized on drop.
pub struct SecretArray<const N: usize>(SecretBox<[u8; N]>);

impl<const N: usize> SecretArray<N> {
    /// Takes `bytes` by value; the caller's copy (if any) is its own to clear.
    pub fn new(bytes: [u8; N]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Copies `bytes` if it is exactly `N` long.
    pub fn try_from_slice(bytes: &[u8]) -> Option<Self> {
        let mut boxed = SecretBox::new(Box::new([0u8; N]));
        if bytes.len() != N {
            return None;
        }
        secrecy::ExposeSecretMut::expose_secret_mut(&mut boxed).copy_from_slice(bytes);
        Some(Self(boxed))
    }

    /// Draws `N` random bytes from `rng`, directly into zeroizing memory.
    ///
    /// # Errors
    ///
    /// [`RandomError`] if the generator fails.
    pub fn random(rng: &dyn SecureRandom) -> Result<Self, RandomError> {
        let mut boxed = SecretBox::new(Box::new([0u8; N]));
        rng.fill(secrecy::ExposeSecretMut::expose_secret_mut(&mut boxed))?;
        Ok(Self(boxed))
    }

    /// The key bytes. Every call site is a place where the secret is used.
    pub fn expose_secret(&self) -> &[u8; N] {
        self.0.expose_secret()
    }
}

macro_rules! secret_common {
    ($ty:ty, $name:literal, $($generics:tt)*) => {
        impl<$($generics)*> fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($name, "([redacted])"))
            }
        }

        impl<$($generics)*> ConstantTimeEq for $ty {
            fn ct_eq(&self, other: &Self) -> Choice {
                AsRef::<[u8]>::as_ref(self.expose_secret())
                    .ct_eq(AsRef::<[u8]>::as_ref(other.expose_secret()))
            }
        }

        /// Constant-time for equal lengths (see [`ConstantTimeEq`]).
        impl<$($generics)*> PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.ct_eq(other).into()
            }
        }

        impl<$($generics)*> Eq for $ty {}

        impl<$($generics)*> Clone for $ty {
            fn clone(&self) -> Self {
                Self::clone_secret(self)
            }
        }
    };
}

secret_common!(SecretBytes, "SecretBytes",);
secret_common!(SecretString, "SecretString",);
secret_common!(SecretArray<N>, "SecretArray", const N: usize);

impl SecretBytes {
    fn clone_secret(&self) -> Self {
        Self::from_slice(self.expose_secret())
    }
}

impl SecretString {
    fn clone_secret(&self) -> Self {
        Self::new(self.expose_secret().to_owned())
    }
}

impl<const N: usize> SecretArray<N> {
    fn clone_secret(&self) -> Self {
        Self::new(*self.expose_secret())
    }
}

/// Serializes a [`SecretString`] in clear text. Use it only where writing the secret out is
/// the point (a key file the operator asked for), by naming it explicitly:
///
/// ```
/// use portcullis_core::SecretString;
///
/// #[derive(serde::Serialize)]
/// struct KeyFile {
///     #[serde(serialize_with = "portcullis_core::serialize_exposed")]
///     secret: SecretString,
/// }
/// let file = KeyFile { secret: SecretString::from("s3cr3t".to_owned()) };
/// assert_eq!(serde_json::to_string(&file)?, r#"{"secret":"s3cr3t"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// # Errors
///
/// Whatever the serializer returns.
pub fn serialize_exposed<S: Serializer>(
    secret: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsRandom;
    use proptest::prelude::*;

    #[test]
    fn debug_is_redacted() {
        let b = SecretBytes::from_slice(b"topsecret");
        let s = SecretString::from("topsecret".to_owned());
        let a = SecretArray::new(*b"topsecret-key-32-bytes-long!!!!!");
        for out in [
            format!("{b:?}"),
            format!("{s:?}"),
            format!("{a:?}"),
            format!("{a:#?}"),
        ] {
            assert!(!out.contains("topsecret"), "{out}");
            assert!(out.contains("[redacted]"), "{out}");
        }
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Config {
            password: SecretString,
        }
        let cfg = Config { password: s };
        assert!(!format!("{cfg:?}").contains("topsecret"));
    }

    #[test]
    fn deserializes_but_opt_in_to_serialize() {
        let s: SecretString = serde_json::from_str("\"pw\"").unwrap();
        assert_eq!(s.expose_secret(), "pw");
        #[derive(serde::Serialize)]
        struct Out {
            #[serde(serialize_with = "serialize_exposed")]
            s: SecretString,
        }
        assert_eq!(serde_json::to_string(&Out { s }).unwrap(), "{\"s\":\"pw\"}");
    }

    #[test]
    fn equality_is_by_content_and_uses_subtle() {
        let a = SecretBytes::from_slice(b"abc");
        assert_eq!(a, a.clone());
        assert_ne!(a, SecretBytes::from_slice(b"abd"));
        assert_ne!(a, SecretBytes::from_slice(b"ab"));
        assert_eq!(a.ct_eq(&SecretBytes::from_slice(b"abc")).unwrap_u8(), 1);
        assert_eq!(a.ct_eq(&SecretBytes::from_slice(b"abx")).unwrap_u8(), 0);
        let k1 = SecretArray::new([1u8; 32]);
        assert_eq!(k1.ct_eq(&SecretArray::new([1u8; 32])).unwrap_u8(), 1);
        assert_eq!(k1.ct_eq(&SecretArray::new([2u8; 32])).unwrap_u8(), 0);
    }

    #[test]
    fn random_secrets() {
        let a = SecretArray::<32>::random(&OsRandom).unwrap();
        let b = SecretArray::<32>::random(&OsRandom).unwrap();
        assert_ne!(a, b);
        let c = SecretBytes::random(&OsRandom, 48).unwrap();
        assert_eq!(c.len(), 48);
        assert!(SecretArray::<32>::try_from_slice(&[0u8; 31]).is_none());
        assert!(SecretArray::<32>::try_from_slice(&[0u8; 32]).is_some());
    }

    proptest! {
        #[test]
        fn debug_never_leaks(secret in "[a-z0-9]{6,40}") {
            let s = SecretString::from(secret.clone());
            let shown = format!("{:?}", s);
            prop_assert!(!shown.contains(&secret));
            let b = SecretBytes::new(secret.clone().into_bytes());
            let shown = format!("{:?}", b);
            prop_assert!(!shown.contains(&secret));
        }

        #[test]
        fn ct_eq_agrees_with_byte_equality(a in proptest::collection::vec(any::<u8>(), 0..40),
                                           b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let sa = SecretBytes::from_slice(&a);
            let sb = SecretBytes::from_slice(&b);
            prop_assert_eq!(sa == sb, a == b);
        }
    }
}
