//! [`RefreshStore`] on Redis.

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};
use portcullis_tokens::{
    FamilyId, FamilyStatus, GRACE_CHAIN, NewFamily, RefreshStore, RotateOutcome, RotateRequest,
    SessionInfo, TokenError, TokenHash, TokenRef,
};

use crate::backend::{RedisBackend, ttl_ms};
use crate::error::{BadReply, corrupt};

/// Refresh-token families in Redis: one hash per family (expiring at the family's
/// absolute end) and one index of live family ids per subject (a sorted set scored by the
/// family's end: ids leave it when revoked, on reuse detection, and once past their end at
/// the subject's next create). The index never holds more than the subject's session cap
/// ([`NewFamily::max_sessions`], at most
/// [`MAX_SESSIONS_PER_SUBJECT`](portcullis_tokens::MAX_SESSIONS_PER_SUBJECT)), so
/// `revoke_subject` touches a bounded number of families. Every script names every key
/// it touches in `KEYS` (cluster-safe); steps that first read the index (eviction at the
/// cap, `revoke_subject`) pass what they read and the script refuses if the index changed
/// in between, so they stay atomic.
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

fn parse_hash(op: &'static str, s: &str) -> Result<TokenHash, BackendError> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .map(TokenHash)
        .ok_or_else(|| corrupt(op, "ch"))
}

/// How often a read-then-write step (eviction at the cap, `revoke_subject`) is retried
/// when a concurrent login or revocation changed the subject index in between.
const INDEX_RETRIES: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("the subject index kept changing under concurrent logins")]
struct IndexContended;

impl RedisRefreshStore {
    /// Runs `script` (`REFRESH_REVOKE_SUBJECT` or its `_EXCEPT` variant) over `subject`'s
    /// index as read just before: KEYS the index then each family's hash, ARGV the subject,
    /// `extra`, then the ids. Reads again when the script reports the index changed.
    async fn revoke_indexed(
        &self,
        op: &'static str,
        script: &redis::Script,
        tenant: &TenantId,
        subject: &ActorId,
        extra: &[String],
    ) -> Result<u64, TokenError> {
        let keys = &self.backend.keys;
        let index = keys.subject_families(tenant, subject);
        for _ in 0..INDEX_RETRIES {
            let mut read = redis::cmd("ZRANGE");
            read.arg(&index).arg(0).arg(-1);
            let ids: Vec<String> = self.backend.query(op, &read).await?;
            let mut inv = script.prepare_invoke();
            inv.key(&index).arg(subject.as_str());
            for e in extra {
                inv.arg(e);
            }
            for id in &ids {
                inv.key(format!("{}{id}", keys.family_prefix(tenant)))
                    .arg(id);
            }
            let n: i64 = self.backend.run(op, &inv).await?;
            if let Ok(n) = u64::try_from(n) {
                return Ok(n);
            }
        }
        Err(BackendError::new(BackendErrorKind::Conflict, op, IndexContended).into())
    }

    /// Removes a revoked family's id from its subject index (bookkeeping after a script
    /// that could not name the index: the family is already revoked either way, and an id
    /// left behind only counts toward the cap until the family's end).
    async fn unindex(
        &self,
        op: &'static str,
        tenant: &TenantId,
        subject: &ActorId,
        family: &FamilyId,
    ) -> Result<(), BackendError> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.backend.keys.subject_families(tenant, subject))
            .arg(family.to_string());
        let _: i64 = self.backend.query(op, &cmd).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl RefreshStore for RedisRefreshStore {
    async fn create(&self, tenant: &TenantId, family: NewFamily) -> Result<(), TokenError> {
        const OP: &str = "refresh.create";
        let keys = &self.backend.keys;
        let index = keys.subject_families(tenant, &family.subject);
        let idle = family.idle_until.min(family.expires_at);
        let mut victims: Vec<String> = Vec::new();
        for _ in 0..INDEX_RETRIES {
            let mut inv = self.backend.scripts.refresh_create.prepare_invoke();
            inv.key(keys.family(tenant, &family.family)).key(&index);
            for v in &victims {
                inv.key(format!("{}{v}", keys.family_prefix(tenant)));
            }
            inv.arg(family.subject.as_str())
                .arg(family.expires_at.as_millis())
                .arg(family.current.generation)
                .arg(hex::encode(family.current.hash.0))
                .arg(idle.as_millis())
                .arg(ttl_ms(family.expires_at, family.created_at))
                .arg(family.family.to_string())
                .arg(family.created_at.as_millis())
                .arg(family.max_sessions.max(1))
                .arg(family.label.as_deref().unwrap_or(""));
            for v in &victims {
                inv.arg(v);
            }
            let (code, _live): (i64, u64) = self.backend.run(OP, &inv).await?;
            match code {
                1 => return Ok(()),
                0 => return Err(BackendError::new(BackendErrorKind::Conflict, OP, Exists).into()),
                -1 => {
                    // At the cap: pass the index as it is now (at most the cap, so
                    // bounded) as the eviction candidates, then try again.
                    let mut read = redis::cmd("ZRANGE");
                    read.arg(&index).arg(0).arg(-1);
                    victims = self.backend.query(OP, &read).await?;
                }
                _ => return Err(BackendError::corrupt(OP, BadReply).into()),
            }
        }
        Err(BackendError::new(BackendErrorKind::Conflict, OP, IndexContended).into())
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
            .key(self.backend.keys.refresh_epoch(tenant))
            .arg(req.presented.generation)
            .arg(hex::encode(req.presented.hash.0))
            .arg(hex::encode(req.successor.0))
            .arg(req.now.as_millis())
            .arg(req.grace_until.as_millis())
            .arg(req.idle_until.as_millis())
            .arg(next)
            .arg(GRACE_CHAIN);
        let (code, subject, expires, cur_gen, cur_hash): (i64, String, String, String, String) =
            self.backend.run(OP, &inv).await?;
        Ok(match code {
            0 => RotateOutcome::NotFound,
            1 => RotateOutcome::Revoked,
            2 => RotateOutcome::Expired,
            3 | 4 => RotateOutcome::Rotated {
                subject: parse_subject(OP, subject)?,
                expires_at: parse_time(OP, &expires, "exp")?,
                current: TokenRef {
                    generation: cur_gen.parse().map_err(|_| corrupt(OP, "cg"))?,
                    hash: parse_hash(OP, &cur_hash)?,
                },
                replay: code == 4,
            },
            5 => {
                let subject = parse_subject(OP, subject)?;
                // The family is revoked already; a failure here leaves only bookkeeping.
                let _ = self.unindex(OP, tenant, &subject, &req.family).await;
                RotateOutcome::ReuseDetected { subject }
            }
            _ => return Err(BackendError::corrupt(OP, BadReply).into()),
        })
    }

    async fn revoke_family(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        _now: UnixTime,
    ) -> Result<bool, TokenError> {
        const OP: &str = "refresh.revoke_family";
        let mut inv = self.backend.scripts.refresh_revoke_family.prepare_invoke();
        inv.key(self.backend.keys.family(tenant, family));
        let (n, subject): (i64, String) = self.backend.run(OP, &inv).await?;
        if n != 1 {
            return Ok(false);
        }
        let subject = parse_subject(OP, subject)?;
        let _ = self.unindex(OP, tenant, &subject, family).await;
        Ok(true)
    }

    async fn revoke_subject(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        _now: UnixTime,
    ) -> Result<u64, TokenError> {
        self.revoke_indexed(
            "refresh.revoke_subject",
            &self.backend.scripts.refresh_revoke_subject,
            tenant,
            subject,
            &[],
        )
        .await
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
        let mut inv = self.backend.scripts.revocation_raise.prepare_invoke();
        inv.key(self.backend.keys.refresh_epoch(tenant))
            .arg(at.as_millis())
            .arg(keep_until.as_millis())
            .arg(self.backend.now().as_millis());
        let _: i64 = self.backend.run("refresh.revoke_tenant", &inv).await?;
        Ok(())
    }

    async fn list_sessions(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        now: UnixTime,
    ) -> Result<Vec<SessionInfo>, TokenError> {
        const OP: &str = "refresh.list_sessions";
        let keys = &self.backend.keys;
        let mut read = redis::cmd("ZRANGE");
        read.arg(keys.subject_families(tenant, subject))
            .arg(0)
            .arg(-1);
        let ids: Vec<String> = self.backend.query(OP, &read).await?;
        let mut inv = self.backend.scripts.refresh_list.prepare_invoke();
        inv.key(keys.refresh_epoch(tenant))
            .arg(now.as_millis())
            .arg(subject.as_str());
        for id in &ids {
            inv.key(format!("{}{id}", keys.family_prefix(tenant)))
                .arg(id);
        }
        let rows: Vec<(String, String, String, String, String)> =
            self.backend.run(OP, &inv).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, created, last, expires, label) in rows {
            out.push(SessionInfo::new(
                id.parse().map_err(|_| corrupt(OP, "family id"))?,
                parse_time(OP, &created, "ca")?,
                parse_time(OP, &last, "lu")?,
                parse_time(OP, &expires, "exp")?,
                (!label.is_empty()).then_some(label),
            ));
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
        self.revoke_indexed(
            "refresh.revoke_subject_except",
            &self.backend.scripts.refresh_revoke_subject_except,
            tenant,
            subject,
            &[keep.to_string()],
        )
        .await
    }

    async fn family_status(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        now: UnixTime,
    ) -> Result<FamilyStatus, TokenError> {
        const OP: &str = "refresh.family_status";
        let keys = &self.backend.keys;
        let mut inv = self.backend.scripts.refresh_status.prepare_invoke();
        inv.key(keys.family(tenant, family))
            .key(keys.refresh_epoch(tenant));
        let f: Vec<Option<String>> = self.backend.run(OP, &inv).await?;
        let [sub, rev, exp, iu, ca, epoch] =
            <[Option<String>; 6]>::try_from(f).map_err(|_| BackendError::corrupt(OP, BadReply))?;
        let Some(sub) = sub else {
            return Ok(FamilyStatus::NotFound);
        };
        if rev.as_deref() != Some("0") {
            return Ok(FamilyStatus::Revoked);
        }
        if let Some(epoch) = epoch {
            let epoch = parse_time(OP, &epoch, "e")?;
            let created = match ca {
                Some(ca) => parse_time(OP, &ca, "ca")?,
                None => UnixTime::from_millis(0),
            };
            if created <= epoch {
                return Ok(FamilyStatus::Revoked);
            }
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
