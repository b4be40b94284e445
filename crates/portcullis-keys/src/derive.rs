//! Per-tenant key derivation: HKDF-SHA256 over a master key with a length-prefixed `info`.

use std::fmt;
use std::str::FromStr;

use hkdf::Hkdf;
use portcullis_core::{SecretArray, SecureRandom, TenantId};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::KeysError;
use crate::aead::KEY_LEN;
use crate::keyring::MasterKey;

/// Domain label, the first field of every derivation `info`.
pub(crate) const DERIVE_LABEL: &[u8] = b"portcullis-keys/tenant-key/v1";

/// What derived keys are for (for example `credentials`), so keys for one purpose never
/// open data of another. 1-64 bytes of `[a-z0-9._:-]`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Purpose(String);

impl Purpose {
    /// Validates a purpose label.
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] if empty, longer than 64 bytes or outside the alphabet.
    pub fn new(label: impl Into<String>) -> Result<Self, KeysError> {
        let label = label.into();
        let ok_start = label
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok_chars = label.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b':' | b'-')
        });
        if !ok_start || !ok_chars || label.len() > 64 {
            return Err(KeysError::InvalidInput {
                what: "purpose",
                value: label,
            });
        }
        Ok(Self(label))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Purpose {
    type Err = KeysError;
    fn from_str(s: &str) -> Result<Self, KeysError> {
        Self::new(s)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's random salt for crypto-shredding, with its epoch.
///
/// Store it beside the tenant (never in the same place as the sealed data's backups, if
/// you can). Deleting it makes every blob sealed with it unrecoverable, while other tenants
/// are untouched. A replacement salt must use a higher epoch. `Debug` is redacted.
#[derive(Clone)]
pub struct TenantSalt {
    epoch: u32,
    salt: SecretArray<32>,
}

impl fmt::Debug for TenantSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantSalt")
            .field("epoch", &self.epoch)
            .field("salt", &"[redacted]")
            .finish()
    }
}

impl TenantSalt {
    /// Generates a fresh 32-byte salt for `epoch` (1 or more).
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] for epoch 0, [`KeysError::Random`] if `rng` fails.
    pub fn generate(epoch: u32, rng: &dyn SecureRandom) -> Result<Self, KeysError> {
        Self::check_epoch(epoch)?;
        Ok(Self {
            epoch,
            salt: SecretArray::random(rng)?,
        })
    }

    /// Restores a stored salt.
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] for epoch 0, [`KeysError::KeyLength`] unless 32 bytes.
    pub fn from_slice(epoch: u32, salt: &[u8]) -> Result<Self, KeysError> {
        Self::check_epoch(epoch)?;
        let salt = SecretArray::try_from_slice(salt).ok_or(KeysError::KeyLength {
            expected: 32,
            actual: salt.len(),
        })?;
        Ok(Self { epoch, salt })
    }

    fn check_epoch(epoch: u32) -> Result<(), KeysError> {
        if epoch == 0 {
            return Err(KeysError::InvalidInput {
                what: "salt epoch",
                value: "0".to_owned(),
            });
        }
        Ok(())
    }

    /// The epoch (part of the derivation `info`).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The salt bytes, for persisting them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.salt.expose_secret()
    }
}

/// Appends `len as u32 big-endian || bytes`.
pub(crate) fn put_lp(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// `info = lp(label) || lp(purpose) || lp(tenant) || epoch_u32_be` (epoch 0 = unsalted).
pub(crate) fn derivation_info(purpose: &Purpose, tenant: &TenantId, epoch: u32) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + DERIVE_LABEL.len() + 8 + 64 + 4);
    put_lp(&mut info, DERIVE_LABEL);
    put_lp(&mut info, purpose.as_str().as_bytes());
    put_lp(&mut info, tenant.as_str().as_bytes());
    info.extend_from_slice(&epoch.to_be_bytes());
    info
}

/// HKDF-SHA256 (RFC 5869) extract-and-expand; `salt = None` means the RFC's default salt.
///
/// # Errors
/// [`KeysError::InvalidInput`] if `out` is longer than 255 × 32 bytes.
pub(crate) fn hkdf_sha256(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), KeysError> {
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out)
        .map_err(|_| KeysError::InvalidInput {
            what: "hkdf output length",
            value: out.len().to_string(),
        })
}

/// Derives the 256-bit key of `tenant` for `purpose` under `master`.
pub(crate) fn derive_tenant_key(
    master: &MasterKey,
    purpose: &Purpose,
    tenant: &TenantId,
    salt: Option<&TenantSalt>,
) -> Result<SecretArray<KEY_LEN>, KeysError> {
    let epoch = salt.map_or(0, TenantSalt::epoch);
    let info = derivation_info(purpose, tenant, epoch);
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    hkdf_sha256(
        salt.map(|s| s.expose_secret().as_slice()),
        master.expose_secret(),
        &info,
        okm.as_mut_slice(),
    )?;
    Ok(SecretArray::new(*okm))
}

#[cfg(test)]
mod tests;
