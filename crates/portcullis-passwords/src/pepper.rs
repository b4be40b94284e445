//! Peppers: a server-side secret mixed into every Argon2 input, with an id stored in the
//! hash so peppers can rotate.

use std::fmt;

use hmac::{Hmac, Mac};
use portcullis_core::SecretBytes;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::ConfigError;

/// A pepper: an id (1 or more, stored in the hash) and a secret of at least 32 bytes held
/// in a zeroizing type. The Argon2 input becomes `HMAC-SHA256(secret, NFKC(password))`.
#[derive(Clone)]
pub struct Pepper {
    id: u32,
    secret: SecretBytes,
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl Pepper {
    /// A pepper with id `id` (1 or more) and `secret` (32 bytes or more, from a secret
    /// store; never from source code).
    ///
    /// # Errors
    /// [`ConfigError::Pepper`] for id 0 or a short secret.
    pub fn new(id: u32, secret: SecretBytes) -> Result<Self, ConfigError> {
        if id == 0 {
            return Err(ConfigError::Pepper {
                reason: "pepper ids start at 1",
            });
        }
        if secret.len() < 32 {
            return Err(ConfigError::Pepper {
                reason: "a pepper secret must be at least 32 bytes",
            });
        }
        Ok(Self { id, secret })
    }

    /// The id written into hashes made with this pepper.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `HMAC-SHA256(secret, input)`, zeroized on drop.
    pub(crate) fn apply(&self, input: &[u8]) -> Result<Zeroizing<[u8; 32]>, crate::PasswordError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.expose_secret())
            .map_err(|_| crate::PasswordError::Hashing { reason: "HMAC key" })?;
        mac.update(input);
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        Ok(out)
    }
}

/// The peppers a service holds: the current one (used for new hashes) and retired ones
/// (still verified; their hashes answer `needs_rehash`).
#[derive(Debug, Clone)]
pub struct Peppers {
    current: Pepper,
    retired: Vec<Pepper>,
}

impl Peppers {
    /// Only `current`.
    pub fn new(current: Pepper) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }

    /// Adds a retired pepper that still verifies.
    ///
    /// # Errors
    /// [`ConfigError::Pepper`] if its id is already held.
    pub fn with_retired(mut self, pepper: Pepper) -> Result<Self, ConfigError> {
        if pepper.id == self.current.id || self.retired.iter().any(|p| p.id == pepper.id) {
            return Err(ConfigError::Pepper {
                reason: "two peppers with one id",
            });
        }
        self.retired.push(pepper);
        Ok(self)
    }

    /// The pepper new hashes use.
    pub fn current(&self) -> &Pepper {
        &self.current
    }

    pub(crate) fn get(&self, id: u32) -> Option<&Pepper> {
        std::iter::once(&self.current)
            .chain(self.retired.iter())
            .find(|p| p.id == id)
    }
}

/// The PHC `keyid` bytes of a pepper id: its four big-endian bytes.
pub(crate) fn keyid_bytes(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// The pepper id of PHC `keyid` bytes, if they are four bytes and not zero.
pub(crate) fn id_from_keyid(bytes: &[u8]) -> Option<u32> {
    let array: [u8; 4] = bytes.try_into().ok()?;
    let id = u32::from_be_bytes(array);
    (id != 0).then_some(id)
}
