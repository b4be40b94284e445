//! A bounded cache of derived tenant keys. A hit returns the expanded AEAD key without
//! running HKDF; an evicted key is dropped and zeroized once no seal is still using it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use portcullis_core::TenantId;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::KeysError;
use crate::derive::TenantSalt;
use crate::keyring::KeyVersion;

/// Counters of a derived-key cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to derive.
    pub misses: u64,
    /// HKDF derivations performed (equal to `misses` unless a derivation failed).
    pub derivations: u64,
    /// Keys evicted because the cache was full or a version/tenant was dropped.
    pub evictions: u64,
    /// Keys currently cached.
    pub entries: u64,
}

#[derive(Debug)]
struct Slot<V> {
    version: KeyVersion,
    salt: Option<TenantSalt>,
    key: Arc<V>,
    last_used: u64,
}

impl<V> Slot<V> {
    fn matches(&self, version: KeyVersion, salt: Option<&TenantSalt>) -> bool {
        if self.version != version {
            return false;
        }
        match (&self.salt, salt) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.epoch() == b.epoch() && bool::from(a.expose_secret().ct_eq(b.expose_secret()))
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Inner<V> {
    by_tenant: HashMap<String, Vec<Slot<V>>>,
    len: usize,
    tick: u64,
}

impl<V> Default for Inner<V> {
    fn default() -> Self {
        Self {
            by_tenant: HashMap::new(),
            len: 0,
            tick: 0,
        }
    }
}

/// The derived-key cache, keyed by tenant, key version and salt.
#[derive(Debug)]
pub(crate) struct KeyCache<V> {
    inner: Mutex<Inner<V>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    derivations: AtomicU64,
    evictions: AtomicU64,
}

impl<V> KeyCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            derivations: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// Returns the cached key or derives, caches and returns it. Derivation runs under the
    /// lock so concurrent misses for one key derive once.
    pub(crate) fn get_or_derive(
        &self,
        tenant: &TenantId,
        version: KeyVersion,
        salt: Option<&TenantSalt>,
        derive: impl FnOnce() -> Result<V, KeysError>,
    ) -> Result<Arc<V>, KeysError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick = inner.tick.wrapping_add(1);
        let tick = inner.tick;
        if let Some(slot) = inner
            .by_tenant
            .get_mut(tenant.as_str())
            .and_then(|slots| slots.iter_mut().find(|s| s.matches(version, salt)))
        {
            slot.last_used = tick;
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(&slot.key));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.derivations.fetch_add(1, Ordering::Relaxed);
        let key = Arc::new(derive()?);
        if inner.len >= self.capacity {
            Self::evict_lru(&mut inner);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        inner
            .by_tenant
            .entry(tenant.as_str().to_owned())
            .or_default()
            .push(Slot {
                version,
                salt: salt.cloned(),
                key: Arc::clone(&key),
                last_used: tick,
            });
        inner.len = inner.len.saturating_add(1);
        Ok(key)
    }

    fn evict_lru(inner: &mut Inner<V>) {
        let oldest = inner
            .by_tenant
            .iter()
            .flat_map(|(t, slots)| {
                slots
                    .iter()
                    .enumerate()
                    .map(move |(i, s)| (s.last_used, t, i))
            })
            .min_by_key(|(used, _, _)| *used)
            .map(|(_, t, i)| (t.clone(), i));
        if let Some((tenant, index)) = oldest {
            if let Some(slots) = inner.by_tenant.get_mut(&tenant) {
                if index < slots.len() {
                    drop(slots.swap_remove(index));
                    inner.len = inner.len.saturating_sub(1);
                }
                if slots.is_empty() {
                    inner.by_tenant.remove(&tenant);
                }
            }
        }
    }

    /// Drops every cached key of `tenant` (after its salt was destroyed).
    pub(crate) fn remove_tenant(&self, tenant: &TenantId) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slots) = inner.by_tenant.remove(tenant.as_str()) {
            let n = slots.len();
            inner.len = inner.len.saturating_sub(n);
            self.evictions.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Drops every cached key derived from `version` (after it was retired).
    pub(crate) fn remove_version(&self, version: KeyVersion) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut removed = 0usize;
        inner.by_tenant.retain(|_, slots| {
            let before = slots.len();
            slots.retain(|s| s.version != version);
            removed = removed.saturating_add(before.saturating_sub(slots.len()));
            !slots.is_empty()
        });
        inner.len = inner.len.saturating_sub(removed);
        self.evictions.fetch_add(removed as u64, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let entries = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len as u64;
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            derivations: self.derivations.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries,
        }
    }
}
