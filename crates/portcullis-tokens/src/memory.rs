//! In-memory implementations of every store trait, for tests and single-process
//! deployments. Each store keeps its state under one `Mutex`, so every trait method is
//! atomic; a poisoned lock is reported as a [`BackendError`] (fail closed).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use portcullis_core::{ActorId, BackendError, BackendErrorKind, Provider, TenantId, UnixTime};

use crate::apikey::{ApiKeyRecord, ApiKeyStore, MAX_API_KEYS_PER_OWNER};
use crate::error::TokenError;
use crate::refresh::{
    FamilyId, FamilyStatus, NewFamily, RefreshStore, RotateOutcome, RotateRequest, TokenHash,
    TokenRef,
};
use crate::revocation::{RevocationReason, RevocationStatus, RevocationStore};
use crate::tickets::TicketStore;

fn lock<'a, T>(m: &'a Mutex<T>, op: &'static str) -> Result<MutexGuard<'a, T>, TokenError> {
    m.lock()
        .map_err(|_| TokenError::Backend(BackendError::other(op, "in-memory store lock poisoned")))
}

fn same(a: &TokenRef, b: &TokenRef) -> bool {
    // Evaluate both comparisons; the hash comparison is constant time.
    let hash_eq = a.hash.ct_eq(&b.hash);
    hash_eq & (a.generation == b.generation)
}

#[derive(Debug, Clone)]
struct Previous {
    token: TokenRef,
    successor: TokenHash,
    grace_until: UnixTime,
}

#[derive(Debug, Clone)]
struct Family {
    subject: ActorId,
    expires_at: UnixTime,
    revoked: bool,
    current: TokenRef,
    idle_until: UnixTime,
    previous: Option<Previous>,
}

/// Refresh families in memory.
#[derive(Debug, Default)]
pub struct MemoryRefreshStore {
    families: Mutex<HashMap<(TenantId, FamilyId), Family>>,
}

impl MemoryRefreshStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops families whose absolute lifetime ended before `now` (a backend with TTLs
    /// does this by itself). Returns how many were dropped.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`] if the lock is poisoned.
    pub fn purge_expired(&self, now: UnixTime) -> Result<usize, TokenError> {
        let mut map = lock(&self.families, "refresh.purge")?;
        let before = map.len();
        map.retain(|_, f| f.expires_at > now);
        Ok(before - map.len())
    }
}

#[async_trait::async_trait]
impl RefreshStore for MemoryRefreshStore {
    async fn create(&self, tenant: &TenantId, family: NewFamily) -> Result<(), TokenError> {
        let mut map = lock(&self.families, "refresh.create")?;
        let key = (tenant.clone(), family.family);
        if map.contains_key(&key) {
            return Err(TokenError::Backend(BackendError::new(
                BackendErrorKind::Conflict,
                "refresh.create",
                "family id already exists",
            )));
        }
        map.insert(
            key,
            Family {
                subject: family.subject,
                expires_at: family.expires_at,
                revoked: false,
                current: family.current,
                idle_until: family.idle_until.min(family.expires_at),
                previous: None,
            },
        );
        Ok(())
    }

    async fn rotate(
        &self,
        tenant: &TenantId,
        req: RotateRequest,
    ) -> Result<RotateOutcome, TokenError> {
        let mut map = lock(&self.families, "refresh.rotate")?;
        // Row 1.
        let Some(fam) = map.get_mut(&(tenant.clone(), req.family)) else {
            return Ok(RotateOutcome::NotFound);
        };
        // Row 2.
        if fam.revoked {
            return Ok(RotateOutcome::Revoked);
        }
        // Row 3.
        if req.now >= fam.expires_at {
            return Ok(RotateOutcome::Expired);
        }
        if same(&req.presented, &fam.current) {
            // Row 4.
            if req.now >= fam.idle_until {
                return Ok(RotateOutcome::Expired);
            }
            // Row 5.
            let Some(next_generation) = fam.current.generation.checked_add(1) else {
                return Ok(RotateOutcome::Expired);
            };
            fam.previous = Some(Previous {
                token: fam.current,
                successor: req.successor,
                grace_until: req.grace_until,
            });
            fam.current = TokenRef {
                generation: next_generation,
                hash: req.successor,
            };
            fam.idle_until = req.idle_until.min(fam.expires_at);
            return Ok(RotateOutcome::Rotated {
                subject: fam.subject.clone(),
                expires_at: fam.expires_at,
                replay: false,
            });
        }
        // Row 6.
        if let Some(prev) = &fam.previous {
            if same(&req.presented, &prev.token)
                && prev.successor.ct_eq(&req.successor)
                && req.now < prev.grace_until
            {
                return Ok(RotateOutcome::Rotated {
                    subject: fam.subject.clone(),
                    expires_at: fam.expires_at,
                    replay: true,
                });
            }
        }
        // Row 7.
        fam.revoked = true;
        Ok(RotateOutcome::ReuseDetected {
            subject: fam.subject.clone(),
        })
    }

    async fn revoke_family(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        _now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut map = lock(&self.families, "refresh.revoke_family")?;
        Ok(match map.get_mut(&(tenant.clone(), *family)) {
            Some(f) if !f.revoked => {
                f.revoked = true;
                true
            }
            _ => false,
        })
    }

    async fn revoke_subject(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        _now: UnixTime,
    ) -> Result<u64, TokenError> {
        let mut map = lock(&self.families, "refresh.revoke_subject")?;
        let mut count = 0u64;
        for ((t, _), f) in map.iter_mut() {
            if t == tenant && &f.subject == subject && !f.revoked {
                f.revoked = true;
                count = count.saturating_add(1);
            }
        }
        Ok(count)
    }

    async fn family_status(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        now: UnixTime,
    ) -> Result<FamilyStatus, TokenError> {
        let map = lock(&self.families, "refresh.family_status")?;
        Ok(match map.get(&(tenant.clone(), *family)) {
            None => FamilyStatus::NotFound,
            Some(f) if f.revoked => FamilyStatus::Revoked,
            Some(f) if now >= f.expires_at || now >= f.idle_until => FamilyStatus::Expired,
            Some(f) => FamilyStatus::Active {
                subject: f.subject.clone(),
            },
        })
    }
}

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

/// The shortest time a revocation entry is kept, as the Redis store does.
const MIN_RETENTION: Duration = Duration::from_secs(1);

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

/// Redeemed tickets in memory.
#[derive(Debug, Default)]
pub struct MemoryTicketStore {
    used: Mutex<HashMap<(TenantId, String), UnixTime>>,
}

impl MemoryTicketStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl TicketStore for MemoryTicketStore {
    async fn consume(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut used = lock(&self.used, "tickets.consume")?;
        used.retain(|_, until| *until > now);
        let key = (tenant.clone(), jti.to_owned());
        if used.contains_key(&key) {
            return Ok(false);
        }
        used.insert(key, keep_until);
        Ok(true)
    }
}

/// API-key records in memory.
#[derive(Debug, Default)]
pub struct MemoryApiKeyStore {
    keys: Mutex<Vec<ApiKeyRecord>>,
}

impl MemoryApiKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ApiKeyStore for MemoryApiKeyStore {
    async fn insert(&self, record: ApiKeyRecord) -> Result<(), TokenError> {
        let mut keys = lock(&self.keys, "apikeys.insert")?;
        if keys
            .iter()
            .any(|k| k.tenant == record.tenant && k.id == record.id)
        {
            return Err(TokenError::Backend(BackendError::new(
                BackendErrorKind::Conflict,
                "apikeys.insert",
                "api key id already exists",
            )));
        }
        let owned = keys
            .iter()
            .filter(|k| k.tenant == record.tenant && k.owner == record.owner)
            .count();
        if owned >= MAX_API_KEYS_PER_OWNER {
            return Err(TokenError::TooManyApiKeys {
                owner: record.owner,
                max: MAX_API_KEYS_PER_OWNER,
            });
        }
        keys.push(record);
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<ApiKeyRecord>, TokenError> {
        let keys = lock(&self.keys, "apikeys.get")?;
        Ok(keys
            .iter()
            .find(|k| &k.tenant == tenant && k.id == id)
            .cloned())
    }

    async fn revoke(&self, tenant: &TenantId, id: &str, now: UnixTime) -> Result<bool, TokenError> {
        let mut keys = lock(&self.keys, "apikeys.revoke")?;
        match keys.iter_mut().find(|k| &k.tenant == tenant && k.id == id) {
            Some(k) => {
                k.revoked_at = Some(k.revoked_at.map_or(now, |at| at.min(now)));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn list(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
    ) -> Result<Vec<ApiKeyRecord>, TokenError> {
        let keys = lock(&self.keys, "apikeys.list")?;
        Ok(keys
            .iter()
            .filter(|k| &k.tenant == tenant && &k.owner == owner)
            .cloned()
            .collect())
    }
}
