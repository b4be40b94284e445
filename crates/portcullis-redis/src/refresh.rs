//! [`RefreshStore`] on Redis.

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};
use portcullis_tokens::{
    FamilyId, FamilyStatus, NewFamily, RefreshStore, RotateOutcome, RotateRequest, TokenError,
};

use crate::backend::{RedisBackend, ttl_ms};
use crate::error::{BadReply, corrupt};

/// Refresh-token families in Redis: one hash per family (expiring at the family's
/// absolute end) and one index of live family ids per subject (a sorted set scored by the
/// family's end: ids leave it when revoked, on reuse detection, and once past their end at
/// the subject's next create, so `revoke_subject` touches at most the subject's live
/// families). Every method is one script or one read, atomic per family.
#[derive(Debug, Clone)]
pub struct RedisRefreshStore {
    backend: RedisBackend,
}

impl RedisRefreshStore {
    /// A store on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        Self { backend }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("family id already exists")]
struct Exists;

fn parse_subject(op: &'static str, s: String) -> Result<ActorId, BackendError> {
    ActorId::new(s).map_err(|_| corrupt(op, "sub"))
}

fn parse_time(op: &'static str, s: &str, field: &'static str) -> Result<UnixTime, BackendError> {
    s.parse::<u64>()
        .map(UnixTime::from_millis)
        .map_err(|_| corrupt(op, field))
}

#[async_trait::async_trait]
impl RefreshStore for RedisRefreshStore {
    async fn create(&self, tenant: &TenantId, family: NewFamily) -> Result<(), TokenError> {
        const OP: &str = "refresh.create";
        let keys = &self.backend.keys;
        let idle = family.idle_until.min(family.expires_at);
        let mut inv = self.backend.scripts.refresh_create.prepare_invoke();
        inv.key(keys.family(tenant, &family.family))
            .key(keys.subject_families(tenant, &family.subject))
            .arg(family.subject.as_str())
            .arg(family.expires_at.as_millis())
            .arg(family.current.generation)
            .arg(hex::encode(family.current.hash.0))
            .arg(idle.as_millis())
            .arg(ttl_ms(family.expires_at, family.created_at))
            .arg(family.family.to_string())
            .arg(family.created_at.as_millis());
        let created: i64 = self.backend.run(OP, &inv).await?;
        if created == 1 {
            Ok(())
        } else {
            Err(BackendError::new(BackendErrorKind::Conflict, OP, Exists).into())
        }
    }

    async fn rotate(
        &self,
        tenant: &TenantId,
        req: RotateRequest,
    ) -> Result<RotateOutcome, TokenError> {
        const OP: &str = "refresh.rotate";
        let next = req
            .presented
            .generation
            .checked_add(1)
            .map(|g| g.to_string())
            .unwrap_or_default();
        let mut inv = self.backend.scripts.refresh_rotate.prepare_invoke();
        inv.key(self.backend.keys.family(tenant, &req.family))
            .arg(req.presented.generation)
            .arg(hex::encode(req.presented.hash.0))
            .arg(hex::encode(req.successor.0))
            .arg(req.now.as_millis())
            .arg(req.grace_until.as_millis())
            .arg(req.idle_until.as_millis())
            .arg(next);
        let (code, subject, expires): (i64, String, String) = self.backend.run(OP, &inv).await?;
        Ok(match code {
            0 => RotateOutcome::NotFound,
            1 => RotateOutcome::Revoked,
            2 => RotateOutcome::Expired,
            3 | 4 => RotateOutcome::Rotated {
                subject: parse_subject(OP, subject)?,
                expires_at: parse_time(OP, &expires, "exp")?,
                replay: code == 4,
            },
            5 => RotateOutcome::ReuseDetected {
                subject: parse_subject(OP, subject)?,
            },
            _ => return Err(BackendError::corrupt(OP, BadReply).into()),
        })
    }

    async fn revoke_family(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        _now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut inv = self.backend.scripts.refresh_revoke_family.prepare_invoke();
        inv.key(self.backend.keys.family(tenant, family));
        let n: i64 = self.backend.run("refresh.revoke_family", &inv).await?;
        Ok(n == 1)
    }

    async fn revoke_subject(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        _now: UnixTime,
    ) -> Result<u64, TokenError> {
        let keys = &self.backend.keys;
        let mut inv = self.backend.scripts.refresh_revoke_subject.prepare_invoke();
        inv.key(keys.subject_families(tenant, subject))
            .arg(keys.family_prefix(tenant))
            .arg(subject.as_str());
        let n: u64 = self.backend.run("refresh.revoke_subject", &inv).await?;
        Ok(n)
    }

    async fn family_status(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        now: UnixTime,
    ) -> Result<FamilyStatus, TokenError> {
        const OP: &str = "refresh.family_status";
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.backend.keys.family(tenant, family))
            .arg("sub")
            .arg("rev")
            .arg("exp")
            .arg("iu");
        let (sub, rev, exp, iu): (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = self.backend.query(OP, &cmd).await?;
        let Some(sub) = sub else {
            return Ok(FamilyStatus::NotFound);
        };
        if rev.as_deref() != Some("0") {
            return Ok(FamilyStatus::Revoked);
        }
        let exp = parse_time(OP, exp.as_deref().unwrap_or(""), "exp")?;
        let iu = parse_time(OP, iu.as_deref().unwrap_or(""), "iu")?;
        if now >= exp || now >= iu {
            return Ok(FamilyStatus::Expired);
        }
        Ok(FamilyStatus::Active {
            subject: parse_subject(OP, sub)?,
        })
    }
}
