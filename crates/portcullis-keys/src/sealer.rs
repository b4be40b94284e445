//! Sealing and opening credentials bound to a tenant and a caller context.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use portcullis_core::{Provider, SecretBytes, TenantId};

use crate::KeysError;
use crate::aead::AeadKey;
use crate::cache::{CacheStats, KeyCache};
use crate::commit::CommittingKey;
use crate::derive::{Purpose, TenantSalt, derive_tenant_key};
use crate::format::{self, FORMAT_V1, FORMAT_V3, OVERHEAD, SOURCE_DERIVED, Source};
use crate::keyring::{KeyVersion, KeyringStatus, MasterKey, MasterKeys, VersionEntry};
use crate::usage::{UsagePolicy, VersionUsage};

/// Tuning for a [`Sealer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealerConfig {
    /// Most derived keys kept in memory (least recently used are evicted). Default 1024.
    pub cache_capacity: usize,
    /// Seal-count thresholds per key version.
    pub usage: UsagePolicy,
    /// Seal only against seals reserved from a shared, persistent count
    /// ([`crate::SealBudget`] over a [`crate::SealBudgetStore`], for example PostgreSQL),
    /// so the 2^32 random-nonce limit holds across processes and restarts. Off by default:
    /// the count is then per process (see [`Sealer::restore_usage`]).
    pub reserved_seals_only: bool,
}

impl Default for SealerConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 1024,
            usage: UsagePolicy::default(),
            reserved_seals_only: false,
        }
    }
}

/// How many seals this process may still perform under the primary version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealAllowance {
    /// The primary version.
    pub version: KeyVersion,
    /// Seals performed by this process under it.
    pub seals: u64,
    /// Seals reserved for this process under it (`None` when the sealer does not use
    /// reserved seals).
    pub reserved: Option<u64>,
}

/// The outcome of [`Sealer::reencrypt`].
#[derive(Debug, PartialEq, Eq)]
pub struct Reencrypted {
    /// The blob to store: new if `changed`, else the input unchanged.
    pub blob: Vec<u8>,
    /// Whether the blob was re-sealed (false when it was already a format 3 blob under the
    /// primary or a newer version).
    pub changed: bool,
    /// The version it was sealed under before.
    pub from: KeyVersion,
    /// The version it is sealed under now.
    pub to: KeyVersion,
}

/// Seals and opens data for tenants under per-tenant keys derived from a [`MasterKeys`].
///
/// One `Sealer` serves one [`Purpose`]; share it (`Arc<Sealer>`) across tasks. Key-ring
/// changes (rotation, retirement) take effect for every holder at once.
#[derive(Debug)]
pub struct Sealer {
    purpose: Purpose,
    keyring: RwLock<MasterKeys>,
    /// Format 3 keys (every seal, new opens).
    cache: KeyCache<CommittingKey>,
    /// Format 1 keys, only for opening blobs sealed before format 3.
    legacy: KeyCache<AeadKey>,
    provider: Provider,
    usage: UsagePolicy,
    reserved_only: bool,
}

impl Sealer {
    /// A sealer with the default configuration.
    pub fn new(purpose: Purpose, keyring: MasterKeys, provider: Provider) -> Self {
        Self::with_config(purpose, keyring, provider, SealerConfig::default())
    }

    /// A sealer with explicit configuration.
    pub fn with_config(
        purpose: Purpose,
        keyring: MasterKeys,
        provider: Provider,
        config: SealerConfig,
    ) -> Self {
        Self {
            purpose,
            keyring: RwLock::new(keyring),
            cache: KeyCache::new(config.cache_capacity),
            legacy: KeyCache::new(config.cache_capacity),
            provider,
            usage: config.usage,
            reserved_only: config.reserved_seals_only,
        }
    }

    fn ring(&self) -> RwLockReadGuard<'_, MasterKeys> {
        self.keyring.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring_mut(&self) -> RwLockWriteGuard<'_, MasterKeys> {
        self.keyring.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The purpose this sealer derives keys for.
    pub fn purpose(&self) -> &Purpose {
        &self.purpose
    }

    fn tenant_key(
        &self,
        tenant: &TenantId,
        version: KeyVersion,
        entry: &VersionEntry,
        salt: Option<&TenantSalt>,
    ) -> Result<Arc<CommittingKey>, KeysError> {
        self.cache.get_or_derive(tenant, version, salt, || {
            let key = derive_tenant_key(&entry.key, &self.purpose, tenant, salt)?;
            CommittingKey::derive(key.expose_secret())
        })
    }

    fn legacy_key(
        &self,
        tenant: &TenantId,
        version: KeyVersion,
        entry: &VersionEntry,
        salt: Option<&TenantSalt>,
    ) -> Result<Arc<AeadKey>, KeysError> {
        self.legacy.get_or_derive(tenant, version, salt, || {
            let key = derive_tenant_key(&entry.key, &self.purpose, tenant, salt)?;
            AeadKey::new(key.expose_secret())
        })
    }

    /// Seals `plaintext` for `tenant`, bound to `context` (for example
    /// `b"credential:42"` or `b"integrations.secret:row=42"`), under the primary version
    /// with a fresh random nonce, as a key-committing format 3 blob.
    ///
    /// # Errors
    /// [`KeysError::SealLimitReached`] when the primary's seal budget is spent,
    /// [`KeysError::Random`] if the generator fails, [`KeysError::Encrypt`] for inputs
    /// beyond AES-GCM's limits.
    pub fn seal(
        &self,
        tenant: &TenantId,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeysError> {
        self.seal_inner(tenant, None, context, plaintext)
    }

    /// Like [`Sealer::seal`], with the tenant's crypto-shredding salt mixed into the key.
    ///
    /// # Errors
    /// As for [`Sealer::seal`].
    pub fn seal_salted(
        &self,
        tenant: &TenantId,
        salt: &TenantSalt,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeysError> {
        self.seal_inner(tenant, Some(salt), context, plaintext)
    }

    fn seal_inner(
        &self,
        tenant: &TenantId,
        salt: Option<&TenantSalt>,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeysError> {
        // The ring's read guard is held across the cache lookup so that `retire` (which
        // evicts under the write guard) can never race a derivation back into the cache.
        let ring = self.ring();
        let (version, entry) = ring.primary_entry()?;
        let previous = entry.seals.fetch_add(1, Ordering::Relaxed);
        if previous >= self.usage.limit {
            entry.seals.fetch_sub(1, Ordering::Relaxed);
            return Err(KeysError::SealLimitReached(version));
        }
        if self.reserved_only && previous >= entry.reserved.load(Ordering::Acquire) {
            entry.seals.fetch_sub(1, Ordering::Relaxed);
            return Err(KeysError::SealsNotReserved(version));
        }
        let key = self.tenant_key(tenant, version, &entry, salt)?;
        drop(ring);
        let aad = format::aad_v3(SOURCE_DERIVED, tenant.as_str(), context);
        let mut out = Vec::with_capacity(plaintext.len().saturating_add(OVERHEAD));
        format::write_v3_derived_prefix(&mut out, version);
        key.seal_into(&self.provider, &aad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Opens a blob sealed for `tenant` and `context`: format 3 (key-committing, what
    /// [`Sealer::seal`] writes) and format 1 (written before format 3). For a service that
    /// also reads [`crate::Envelope`] blobs, [`crate::Opener`] opens both kinds.
    ///
    /// # Errors
    /// Structural: [`KeysError::Truncated`], [`KeysError::UnknownFormat`],
    /// [`KeysError::OtherKeySource`] (an envelope blob),
    /// [`KeysError::UnknownKeyVersion`], [`KeysError::RetiredKeyVersion`],
    /// [`KeysError::BelowMinimumVersion`]. Anything else (wrong tenant, context or key, a
    /// modified byte): the opaque [`KeysError::Decrypt`]. No plaintext is ever returned on
    /// error.
    pub fn open(
        &self,
        tenant: &TenantId,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        self.open_inner(tenant, None, context, blob)
    }

    /// Opens a blob sealed with [`Sealer::seal_salted`].
    ///
    /// # Errors
    /// As for [`Sealer::open`].
    pub fn open_salted(
        &self,
        tenant: &TenantId,
        salt: &TenantSalt,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        self.open_inner(tenant, Some(salt), context, blob)
    }

    fn open_inner(
        &self,
        tenant: &TenantId,
        salt: Option<&TenantSalt>,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        let parsed = format::parse(blob)?;
        let Source::Derived(version) = parsed.source else {
            return Err(KeysError::OtherKeySource("an envelope"));
        };
        let ring = self.ring();
        let entry = ring.decryption_entry(version)?;
        match (parsed.format, parsed.commitment) {
            (FORMAT_V3, Some(commitment)) => {
                let key = self.tenant_key(tenant, version, &entry, salt)?;
                drop(ring);
                let aad = format::aad_v3(SOURCE_DERIVED, tenant.as_str(), context);
                key.open(&parsed.nonce, commitment, &aad, parsed.body)
            }
            (FORMAT_V1, None) => {
                let key = self.legacy_key(tenant, version, &entry, salt)?;
                drop(ring);
                let aad = format::aad_v1(version, tenant.as_str(), context);
                key.open(&parsed.nonce, &aad, parsed.body)
            }
            (other, _) => Err(KeysError::UnknownFormat(other)),
        }
    }

    /// Re-encryption of one blob: opens it under any allowed version and, unless it is
    /// already a format 3 blob under the primary (or a newer version), seals the plaintext
    /// again under the primary as format 3. Format 1 blobs are upgraded even at the
    /// primary version; a blob is never moved to an older version.
    ///
    /// # Errors
    /// As for [`Sealer::open`] and [`Sealer::seal`]; the input blob is never modified.
    pub fn reencrypt(
        &self,
        tenant: &TenantId,
        salt: Option<&TenantSalt>,
        context: &[u8],
        blob: &[u8],
    ) -> Result<Reencrypted, KeysError> {
        let header = format::inspect(blob)?;
        let from = header.key_version;
        let primary = self.ring().primary();
        // A blob above the primary (sealed by a replica that already rotated) is never
        // downgraded to an older key; a format 3 blob at the primary is already done.
        // Format 1 blobs at the primary are upgraded to format 3.
        if from > primary || (header.is_key_committing() && from == primary) {
            return Ok(Reencrypted {
                blob: blob.to_vec(),
                changed: false,
                from,
                to: primary,
            });
        }
        let plaintext = self.open_inner(tenant, salt, context, blob)?;
        let sealed = self.seal_inner(tenant, salt, context, plaintext.expose_secret())?;
        let to = format::inspect(&sealed)?.key_version;
        Ok(Reencrypted {
            blob: sealed,
            changed: true,
            from,
            to,
        })
    }

    /// Rotation: adds `version` (newer than every version seen) and makes it primary.
    ///
    /// # Errors
    /// See [`MasterKeys::rotate`].
    pub fn rotate(&self, version: KeyVersion, key: MasterKey) -> Result<(), KeysError> {
        self.ring_mut().rotate(version, key)
    }

    /// Adds a decryption-only version. See [`MasterKeys::insert`].
    ///
    /// # Errors
    /// See [`MasterKeys::insert`].
    pub fn insert_key(&self, version: KeyVersion, key: MasterKey) -> Result<(), KeysError> {
        self.ring_mut().insert(version, key)
    }

    /// Makes an existing version primary. See [`MasterKeys::set_primary`].
    ///
    /// # Errors
    /// See [`MasterKeys::set_primary`].
    pub fn set_primary(&self, version: KeyVersion) -> Result<(), KeysError> {
        self.ring_mut().set_primary(version)
    }

    /// Refuses opening below `version`. See [`MasterKeys::set_min_decrypt_version`].
    ///
    /// # Errors
    /// See [`MasterKeys::set_min_decrypt_version`].
    pub fn set_min_decrypt_version(&self, version: KeyVersion) -> Result<(), KeysError> {
        self.ring_mut().set_min_decrypt_version(version)
    }

    /// Retires a version and evicts (zeroizes) every cached key derived from it.
    ///
    /// # Errors
    /// See [`MasterKeys::retire`].
    pub fn retire(&self, version: KeyVersion) -> Result<(), KeysError> {
        let mut ring = self.ring_mut();
        ring.retire(version)?;
        self.cache.remove_version(version);
        self.legacy.remove_version(version);
        drop(ring);
        Ok(())
    }

    /// The key ring's state, without key material.
    pub fn keyring_status(&self) -> KeyringStatus {
        self.ring().status()
    }

    /// Evicts every cached key of `tenant`; call it after destroying the tenant's salt.
    pub fn forget_tenant(&self, tenant: &TenantId) {
        self.cache.remove_tenant(tenant);
        self.legacy.remove_tenant(tenant);
    }

    /// Derived-key cache counters (hits, misses, derivations, evictions), summed over the
    /// format 3 cache and the cache of format 1 keys (filled only by opening old blobs).
    pub fn cache_stats(&self) -> CacheStats {
        let (a, b) = (self.cache.stats(), self.legacy.stats());
        CacheStats {
            hits: a.hits.saturating_add(b.hits),
            misses: a.misses.saturating_add(b.misses),
            derivations: a.derivations.saturating_add(b.derivations),
            evictions: a.evictions.saturating_add(b.evictions),
            entries: a.entries.saturating_add(b.entries),
        }
    }

    /// Seal counts per active version, with their state against the [`UsagePolicy`].
    /// Counts are per process; persist them with [`Sealer::restore_usage`] across restarts.
    pub fn usage(&self) -> Vec<VersionUsage> {
        self.ring()
            .seal_counts()
            .into_iter()
            .map(|(version, seals)| VersionUsage {
                version,
                seals,
                state: self.usage.state(seals),
            })
            .collect()
    }

    /// The primary version's seals and reserved seals in this process.
    pub fn seal_allowance(&self) -> SealAllowance {
        let ring = self.ring();
        let version = ring.primary();
        let (seals, reserved) = ring.entry(version).map_or((0, 0), |e| {
            (
                e.seals.load(Ordering::Relaxed),
                e.reserved.load(Ordering::Acquire),
            )
        });
        SealAllowance {
            version,
            seals,
            reserved: self.reserved_only.then_some(reserved),
        }
    }

    /// Whether this sealer seals only against reserved seals.
    pub fn uses_reserved_seals(&self) -> bool {
        self.reserved_only
    }

    /// Adds `n` seals reserved from the shared count to `version` (by [`crate::SealBudget`]).
    pub(crate) fn grant_reserved(&self, version: KeyVersion, n: u64) -> Result<(), KeysError> {
        let ring = self.ring();
        let entry = ring
            .entry(version)
            .ok_or(KeysError::UnknownKeyVersion(version))?;
        let _ = entry
            .reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                Some(r.saturating_add(n))
            });
        Ok(())
    }

    /// Adds `seals` performed elsewhere or before a restart to a version's counter.
    ///
    /// # Errors
    /// [`KeysError::UnknownKeyVersion`] if the version is not active.
    pub fn restore_usage(&self, version: KeyVersion, seals: u64) -> Result<(), KeysError> {
        let ring = self.ring();
        let entry = ring
            .entry(version)
            .ok_or(KeysError::UnknownKeyVersion(version))?;
        let _ = entry
            .seals
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(seals))
            });
        Ok(())
    }
}
