//! Versioned master keys: one primary for sealing, older versions for opening until
//! retired, and a minimum decryption version.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::KeysError;
use crate::secret_key::secret_key_type;

/// The version number of a master key. Versions start at 1 and only grow.
///
/// It travels in every sealed blob as a 4-byte big-endian integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct KeyVersion(u32);

impl KeyVersion {
    /// Builds a version number.
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] for `0`, which is reserved.
    pub fn new(version: u32) -> Result<Self, KeysError> {
        if version == 0 {
            return Err(KeysError::InvalidInput {
                what: "key version",
                value: "0".to_owned(),
            });
        }
        Ok(Self(version))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Parses the raw number in a blob header without rejecting 0 (a blob naming version 0
    /// then fails as an unknown version).
    pub(crate) fn from_wire(version: u32) -> Self {
        Self(version)
    }
}

impl TryFrom<u32> for KeyVersion {
    type Error = KeysError;
    fn try_from(v: u32) -> Result<Self, KeysError> {
        Self::new(v)
    }
}

impl From<KeyVersion> for u32 {
    fn from(v: KeyVersion) -> u32 {
        v.0
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

secret_key_type! {
    /// A 256-bit master key. Zeroized on drop; `Debug` prints `MasterKey([redacted])`; no
    /// `Display`, no `Serialize`.
    pub struct MasterKey;

    /// Wraps 32 bytes of key material.
    fn new;

    /// Copies key material from a slice.
    ///
    /// # Errors
    /// [`KeysError::KeyLength`] unless the slice is exactly 32 bytes.
    fn from_slice;

    /// Generates a fresh key from `rng`.
    ///
    /// # Errors
    /// [`KeysError::Random`] if the generator fails.
    fn generate;

    /// The raw key material, for persisting it wrapped under a KMS.
    fn expose_secret;
}

/// One version in the ring: its key and how many seals it has performed.
#[derive(Debug)]
pub(crate) struct VersionEntry {
    pub(crate) key: MasterKey,
    pub(crate) seals: AtomicU64,
    /// Seals reserved from a [`crate::SealBudgetStore`] for this process (used only by a
    /// sealer with [`crate::SealerConfig::reserved_seals_only`]).
    pub(crate) reserved: AtomicU64,
}

/// A ring of versioned master keys.
///
/// Invariants: the primary version is present and not retired; the minimum decryption
/// version is at most the primary; new versions are added above every version the ring
/// has ever seen; a retired version's material is dropped (and zeroized) and its number
/// can never come back.
#[derive(Debug)]
pub struct MasterKeys {
    entries: BTreeMap<KeyVersion, Arc<VersionEntry>>,
    retired: BTreeSet<KeyVersion>,
    primary: KeyVersion,
    min_decrypt: KeyVersion,
}

/// What a [`MasterKeys`] holds, without key material (safe to log or serialize).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringStatus {
    /// Version used for sealing.
    pub primary: KeyVersion,
    /// Versions below this are refused for opening.
    pub min_decrypt_version: KeyVersion,
    /// Versions whose material is present, ascending.
    pub active: Vec<KeyVersion>,
    /// Retired versions, ascending.
    pub retired: Vec<KeyVersion>,
}

impl MasterKeys {
    /// A ring holding one key, which is primary and the minimum decryption version.
    pub fn new(version: KeyVersion, key: MasterKey) -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(version, Self::new_entry(key));
        Self {
            entries,
            retired: BTreeSet::new(),
            primary: version,
            min_decrypt: version,
        }
    }

    fn new_entry(key: MasterKey) -> Arc<VersionEntry> {
        Arc::new(VersionEntry {
            key,
            seals: AtomicU64::new(0),
            reserved: AtomicU64::new(0),
        })
    }

    fn highest_known(&self) -> Option<KeyVersion> {
        let a = self.entries.keys().next_back().copied();
        let b = self.retired.iter().next_back().copied();
        a.max(b)
    }

    /// Adds an older-or-newer decryption key without changing the primary (for example
    /// when loading a ring from storage). Versions below the minimum decryption version may
    /// be added but are refused for opening.
    ///
    /// # Errors
    /// [`KeysError::DuplicateKeyVersion`] if present, [`KeysError::RetiredKeyVersion`] if
    /// it was retired.
    pub fn insert(&mut self, version: KeyVersion, key: MasterKey) -> Result<(), KeysError> {
        if self.retired.contains(&version) {
            return Err(KeysError::RetiredKeyVersion(version));
        }
        if self.entries.contains_key(&version) {
            return Err(KeysError::DuplicateKeyVersion(version));
        }
        self.entries.insert(version, Self::new_entry(key));
        Ok(())
    }

    /// Rotation: adds `version` (which must be above every version this ring has seen) and
    /// makes it primary. Older versions keep opening until retired.
    ///
    /// # Errors
    /// [`KeysError::MasterKeys`] if the version is not the newest,
    /// [`KeysError::DuplicateKeyVersion`]/[`KeysError::RetiredKeyVersion`] as for `insert`.
    pub fn rotate(&mut self, version: KeyVersion, key: MasterKey) -> Result<(), KeysError> {
        if self.highest_known().is_some_and(|h| version <= h) {
            if self.entries.contains_key(&version) {
                return Err(KeysError::DuplicateKeyVersion(version));
            }
            if self.retired.contains(&version) {
                return Err(KeysError::RetiredKeyVersion(version));
            }
            return Err(KeysError::MasterKeys(
                "a rotated version must be the newest",
            ));
        }
        self.insert(version, key)?;
        self.primary = version;
        Ok(())
    }

    /// Makes an existing version primary (for example to roll back a rotation).
    ///
    /// # Errors
    /// [`KeysError::UnknownKeyVersion`], [`KeysError::RetiredKeyVersion`] or
    /// [`KeysError::BelowMinimumVersion`].
    pub fn set_primary(&mut self, version: KeyVersion) -> Result<(), KeysError> {
        self.decryption_entry(version)?;
        self.primary = version;
        Ok(())
    }

    /// Refuses opening under any version below `version` (material is kept until
    /// [`MasterKeys::retire`]).
    ///
    /// # Errors
    /// [`KeysError::MasterKeys`] if `version` is above the primary.
    pub fn set_min_decrypt_version(&mut self, version: KeyVersion) -> Result<(), KeysError> {
        if version > self.primary {
            return Err(KeysError::MasterKeys(
                "the minimum decryption version cannot exceed the primary",
            ));
        }
        self.min_decrypt = version;
        Ok(())
    }

    /// Retires a version: its key material is dropped (zeroized) and it never opens again.
    ///
    /// # Errors
    /// [`KeysError::MasterKeys`] for the primary, [`KeysError::UnknownKeyVersion`] if absent.
    pub fn retire(&mut self, version: KeyVersion) -> Result<(), KeysError> {
        if version == self.primary {
            return Err(KeysError::MasterKeys(
                "the primary version cannot be retired",
            ));
        }
        if self.entries.remove(&version).is_none() {
            if self.retired.contains(&version) {
                return Ok(());
            }
            return Err(KeysError::UnknownKeyVersion(version));
        }
        self.retired.insert(version);
        Ok(())
    }

    /// The primary version.
    pub fn primary(&self) -> KeyVersion {
        self.primary
    }

    /// A description of the ring without key material.
    pub fn status(&self) -> KeyringStatus {
        KeyringStatus {
            primary: self.primary,
            min_decrypt_version: self.min_decrypt,
            active: self.entries.keys().copied().collect(),
            retired: self.retired.iter().copied().collect(),
        }
    }

    pub(crate) fn primary_entry(&self) -> Result<(KeyVersion, Arc<VersionEntry>), KeysError> {
        self.entries
            .get(&self.primary)
            .map(|e| (self.primary, Arc::clone(e)))
            .ok_or(KeysError::UnknownKeyVersion(self.primary))
    }

    pub(crate) fn decryption_entry(
        &self,
        version: KeyVersion,
    ) -> Result<Arc<VersionEntry>, KeysError> {
        if self.retired.contains(&version) {
            return Err(KeysError::RetiredKeyVersion(version));
        }
        let entry = self
            .entries
            .get(&version)
            .ok_or(KeysError::UnknownKeyVersion(version))?;
        if version < self.min_decrypt {
            return Err(KeysError::BelowMinimumVersion {
                version,
                minimum: self.min_decrypt,
            });
        }
        Ok(Arc::clone(entry))
    }

    pub(crate) fn seal_counts(&self) -> Vec<(KeyVersion, u64)> {
        self.entries
            .iter()
            .map(|(v, e)| (*v, e.seals.load(Ordering::Relaxed)))
            .collect()
    }

    pub(crate) fn entry(&self, version: KeyVersion) -> Option<&Arc<VersionEntry>> {
        self.entries.get(&version)
    }
}
