//! The 32-byte secret key newtype behind [`MasterKey`](crate::MasterKey) and
//! [`DataKey`](crate::DataKey): written once here, expanded into two distinct types so a
//! data key can never be passed where a master key is expected (or the reverse).

/// Defines a public 256-bit key type over `SecretArray<KEY_LEN>`: zeroized on drop,
/// `Clone`, `Debug` printing `Name([redacted])`, no `Display`, no `Serialize`, with
/// `new`, `from_slice`, `generate` and `expose_secret`. Each item takes its own docs.
macro_rules! secret_key_type {
    (
        $(#[$type_doc:meta])*
        pub struct $name:ident;
        $(#[$new_doc:meta])* fn new;
        $(#[$from_slice_doc:meta])* fn from_slice;
        $(#[$generate_doc:meta])* fn generate;
        $(#[$expose_doc:meta])* fn expose_secret;
    ) => {
        $(#[$type_doc])*
        #[derive(Clone)]
        pub struct $name(::portcullis_core::SecretArray<{ $crate::aead::KEY_LEN }>);

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl $name {
            $(#[$new_doc])*
            pub fn new(bytes: [u8; $crate::aead::KEY_LEN]) -> Self {
                Self(::portcullis_core::SecretArray::new(bytes))
            }

            $(#[$from_slice_doc])*
            pub fn from_slice(bytes: &[u8]) -> Result<Self, $crate::KeysError> {
                ::portcullis_core::SecretArray::try_from_slice(bytes)
                    .map(Self)
                    .ok_or($crate::KeysError::KeyLength {
                        expected: $crate::aead::KEY_LEN,
                        actual: bytes.len(),
                    })
            }

            $(#[$generate_doc])*
            pub fn generate(
                rng: &dyn ::portcullis_core::SecureRandom,
            ) -> Result<Self, $crate::KeysError> {
                Ok(Self(::portcullis_core::SecretArray::random(rng)?))
            }

            $(#[$expose_doc])*
            pub fn expose_secret(&self) -> &[u8; $crate::aead::KEY_LEN] {
                self.0.expose_secret()
            }
        }
    };
}

pub(crate) use secret_key_type;
