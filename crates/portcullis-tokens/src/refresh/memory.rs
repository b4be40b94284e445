//! The in-memory [`RefreshStore`], for tests and single-process deployments. Its state
//! sits under one `Mutex`, so every trait method is atomic; a poisoned lock is reported as
//! a [`BackendError`] (fail closed).

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};

use subtle::ConstantTimeEq as _;

use super::format::FamilyId;
use super::store::{
    FamilyStatus, GRACE_CHAIN, NewFamily, RefreshStore, RotateOutcome, RotateRequest, SessionInfo,
    TokenRef,
};
use crate::error::TokenError;
use crate::memory_lock::lock;

/// A token rotated less than a grace window ago.
#[derive(Debug, Clone)]
struct Recent {
    token: TokenRef,
    grace_until: UnixTime,
}

#[derive(Debug, Clone)]
struct Family {
    subject: ActorId,
    created_at: UnixTime,
    expires_at: UnixTime,
    revoked: bool,
    current: TokenRef,
    idle_until: UnixTime,
    /// Oldest first, at most [`GRACE_CHAIN`] entries.
    recent: Vec<Recent>,
    last_used: UnixTime,
    label: Option<String>,
}

/// Refresh families in memory.
#[derive(Debug, Default)]
pub struct MemoryRefreshStore {
    families: Mutex<HashMap<(TenantId, FamilyId), Family>>,
    /// Tenant refresh epochs: (epoch, keep_until). Locked after `families` when both are.
    epochs: Mutex<HashMap<TenantId, (UnixTime, UnixTime)>>,
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
        lock(&self.epochs, "refresh.purge")?.retain(|_, (_, keep)| *keep > now);
        Ok(before - map.len())
    }

    /// Whether a family of `tenant` created at `created_at` falls under the tenant's
    /// refresh epoch.
    fn under_epoch(&self, tenant: &TenantId, created_at: UnixTime) -> Result<bool, TokenError> {
        let epochs = lock(&self.epochs, "refresh.epoch")?;
        Ok(epochs
            .get(tenant)
            .is_some_and(|(epoch, _)| created_at <= *epoch))
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
        // The session cap: live = not revoked and before its absolute end; evict the ones
        // that end first (ties: the smaller family id text), as the Redis index orders them.
        let mut live: Vec<(UnixTime, String, FamilyId)> = map
            .iter()
            .filter(|((t, _), f)| {
                t == tenant
                    && f.subject == family.subject
                    && !f.revoked
                    && f.expires_at > family.created_at
            })
            .map(|((_, id), f)| (f.expires_at, id.to_string(), *id))
            .collect();
        live.sort();
        let cap = usize::try_from(family.max_sessions.max(1)).unwrap_or(usize::MAX);
        let excess = (live.len() + 1).saturating_sub(cap);
        for (_, _, id) in live.into_iter().take(excess) {
            if let Some(f) = map.get_mut(&(tenant.clone(), id)) {
                f.revoked = true;
            }
        }
        map.insert(
            key,
            Family {
                subject: family.subject,
                created_at: family.created_at,
                expires_at: family.expires_at,
                revoked: false,
                current: family.current,
                idle_until: family.idle_until.min(family.expires_at),
                recent: Vec::new(),
                last_used: family.created_at,
                label: family.label,
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
        if fam.revoked || self.under_epoch(tenant, fam.created_at)? {
            return Ok(RotateOutcome::Revoked);
        }
        // Row 3.
        if req.now >= fam.expires_at {
            return Ok(RotateOutcome::Expired);
        }
        if bool::from(same(&req.presented, &fam.current)) {
            // Row 4.
            if req.now >= fam.idle_until {
                return Ok(RotateOutcome::Expired);
            }
            // Row 5.
            let Some(next_generation) = fam.current.generation.checked_add(1) else {
                return Ok(RotateOutcome::Expired);
            };
            // Only tokens still inside their grace window stay replayable.
            fam.recent.retain(|r| req.now < r.grace_until);
            fam.recent.push(Recent {
                token: fam.current,
                grace_until: req.grace_until,
            });
            let excess = fam.recent.len().saturating_sub(GRACE_CHAIN);
            fam.recent.drain(..excess);
            fam.current = TokenRef {
                generation: next_generation,
                hash: req.successor,
            };
            fam.idle_until = req.idle_until.min(fam.expires_at);
            fam.last_used = req.now;
            return Ok(RotateOutcome::Rotated {
                subject: fam.subject.clone(),
                expires_at: fam.expires_at,
                current: fam.current,
                replay: false,
            });
        }
        // Row 6: every recent token is compared (no early exit on a match).
        let mut replayable = subtle::Choice::from(0);
        for r in &fam.recent {
            let open = u8::from(req.now < r.grace_until);
            replayable |= same(&req.presented, &r.token) & subtle::Choice::from(open);
        }
        if bool::from(replayable) {
            return Ok(RotateOutcome::Rotated {
                subject: fam.subject.clone(),
                expires_at: fam.expires_at,
                current: fam.current,
                replay: true,
            });
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

    async fn revoke_tenant_before(
        &self,
        tenant: &TenantId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        if keep_until < at {
            return Err(TokenError::RetentionBeforeEpoch);
        }
        let mut epochs = lock(&self.epochs, "refresh.revoke_tenant")?;
        let e = epochs.entry(tenant.clone()).or_insert((at, keep_until));
        e.0 = e.0.max(at);
        e.1 = e.1.max(keep_until);
        Ok(())
    }

    async fn list_sessions(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        now: UnixTime,
    ) -> Result<Vec<SessionInfo>, TokenError> {
        let map = lock(&self.families, "refresh.list_sessions")?;
        let mut out = Vec::new();
        for ((t, id), f) in map.iter() {
            if t == tenant
                && &f.subject == subject
                && !f.revoked
                && now < f.expires_at
                && now < f.idle_until
                && !self.under_epoch(tenant, f.created_at)?
            {
                out.push(SessionInfo {
                    family: *id,
                    created_at: f.created_at,
                    last_used: f.last_used,
                    expires_at: f.expires_at,
                    label: f.label.clone(),
                });
            }
        }
        out.sort_by(|a, b| {
            (a.created_at, a.family.to_string()).cmp(&(b.created_at, b.family.to_string()))
        });
        Ok(out)
    }

    async fn revoke_subject_except(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        keep: &FamilyId,
        _now: UnixTime,
    ) -> Result<u64, TokenError> {
        let mut map = lock(&self.families, "refresh.revoke_subject_except")?;
        let mut count = 0u64;
        for ((t, id), f) in map.iter_mut() {
            if t == tenant && &f.subject == subject && id != keep && !f.revoked {
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
        let found = map.get(&(tenant.clone(), *family));
        let under_epoch = match found {
            Some(f) => self.under_epoch(tenant, f.created_at)?,
            None => false,
        };
        Ok(match found {
            None => FamilyStatus::NotFound,
            Some(f) if f.revoked || under_epoch => FamilyStatus::Revoked,
            Some(f) if now >= f.expires_at || now >= f.idle_until => FamilyStatus::Expired,
            Some(f) => FamilyStatus::Active {
                subject: f.subject.clone(),
            },
        })
    }
}

fn same(a: &TokenRef, b: &TokenRef) -> subtle::Choice {
    // Evaluate both comparisons; the hash comparison is constant time.
    a.hash.0.ct_eq(&b.hash.0) & subtle::Choice::from(u8::from(a.generation == b.generation))
}
