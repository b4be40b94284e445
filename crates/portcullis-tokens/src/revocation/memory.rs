//! The in-memory [`RevocationStore`], for tests and single-process deployments. Its state
//! sits under one `Mutex`, so every trait method is atomic; a poisoned lock is reported as
//! a [`BackendError`](portcullis_core::BackendError) (fail closed).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use portcullis_core::{ActorId, Provider, TenantId, UnixTime};

use super::{RevocationReason, RevocationStatus, RevocationStore};
use crate::error::TokenError;
use crate::memory_lock::lock;

/// The shortest time a revocation entry is kept, as the Redis store does.
const MIN_RETENTION: Duration = Duration::from_secs(1);

/// One revocation entry: the epoch (0 for a `jti`), the largest `keep_until` asked for,
/// and when the entry expires.
#[derive(Debug, Clone, Copy)]
struct Entry {
    epoch: UnixTime,
    keep_until: UnixTime,
    expires_at: UnixTime,
}

#[derive(Debug, Default)]
struct Revocations {
    jtis: HashMap<(TenantId, String), Entry>,
    subjects: HashMap<(TenantId, ActorId), Entry>,
    tenants: HashMap<TenantId, Entry>,
}

/// Revocations in memory, with exactly the retention of the Redis store: each write
/// raises the entry's epoch and `keep_until` to the maxima seen and sets its expiry to
/// `keep_until` measured from the provider's clock at write time, at least one second
/// (Redis: `PEXPIRE` of `keep_until - now`, at least 1000 ms). An expired entry no
/// longer revokes anything and is purged lazily.
#[derive(Debug)]
pub struct MemoryRevocationStore {
    provider: Provider,
    inner: Mutex<Revocations>,
}

impl MemoryRevocationStore {
    /// An empty store reading time from `provider`.
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            inner: Mutex::new(Revocations::default()),
        }
    }

    /// Drops entries that have expired.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`] if the lock is poisoned.
    pub fn purge_expired(&self) -> Result<(), TokenError> {
        let now = self.provider.now();
        let mut r = lock(&self.inner, "revocation.purge")?;
        r.jtis.retain(|_, e| e.expires_at > now);
        r.subjects.retain(|_, e| e.expires_at > now);
        r.tenants.retain(|_, e| e.expires_at > now);
        Ok(())
    }

    fn raise<K: std::hash::Hash + Eq>(
        &self,
        map: &mut HashMap<K, Entry>,
        key: K,
        epoch: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        if keep_until < epoch {
            return Err(TokenError::RetentionBeforeEpoch);
        }
        let now = self.provider.now();
        let live = map.get(&key).filter(|e| e.expires_at > now).copied();
        let (epoch, keep_until) = match live {
            Some(e) => (e.epoch.max(epoch), e.keep_until.max(keep_until)),
            None => (epoch, keep_until),
        };
        let ttl = keep_until
            .duration_since(now)
            .unwrap_or_default()
            .max(MIN_RETENTION);
        let entry = Entry {
            epoch,
            keep_until,
            expires_at: now.saturating_add(ttl),
        };
        map.insert(key, entry);
        Ok(())
    }
}

#[async_trait::async_trait]
impl RevocationStore for MemoryRevocationStore {
    async fn revoke_jti(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        let mut r = lock(&self.inner, "revocation.revoke_jti")?;
        let key = (tenant.clone(), jti.to_owned());
        self.raise(&mut r.jtis, key, UnixTime::EPOCH, keep_until)
    }

    async fn revoke_subject_before(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        let mut r = lock(&self.inner, "revocation.revoke_subject")?;
        let key = (tenant.clone(), subject.clone());
        self.raise(&mut r.subjects, key, at, keep_until)
    }

    async fn revoke_tenant_before(
        &self,
        tenant: &TenantId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        let mut r = lock(&self.inner, "revocation.revoke_tenant")?;
        self.raise(&mut r.tenants, tenant.clone(), at, keep_until)
    }

    async fn check(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        jti: &str,
        issued_at: UnixTime,
    ) -> Result<RevocationStatus, TokenError> {
        let now = self.provider.now();
        let r = lock(&self.inner, "revocation.check")?;
        let live = |e: &&Entry| e.expires_at > now;
        if r.jtis
            .get(&(tenant.clone(), jti.to_owned()))
            .filter(live)
            .is_some()
        {
            return Ok(RevocationStatus::Revoked(RevocationReason::TokenRevoked));
        }
        let subject_epoch = r.subjects.get(&(tenant.clone(), subject.clone()));
        if subject_epoch
            .filter(live)
            .is_some_and(|e| issued_at <= e.epoch)
        {
            return Ok(RevocationStatus::Revoked(RevocationReason::SubjectEpoch));
        }
        if r.tenants
            .get(tenant)
            .filter(live)
            .is_some_and(|e| issued_at <= e.epoch)
        {
            return Ok(RevocationStatus::Revoked(RevocationReason::TenantEpoch));
        }
        Ok(RevocationStatus::NotRevoked)
    }
}
