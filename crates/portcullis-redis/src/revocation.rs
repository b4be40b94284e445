//! [`RevocationStore`], [`TicketStore`] and [`DpopReplayStore`] on Redis.

use portcullis_core::{ActorId, BackendError, TenantId, UnixTime};
use portcullis_tokens::{
    DpopReplayStore, RevocationReason, RevocationStatus, RevocationStore, TicketStore, TokenError,
};

use crate::backend::{RedisBackend, ttl_ms};
use crate::error::BadReply;

/// The `jti` deny-list and not-before epochs in Redis. Entries are hashes
/// `{e: epoch, k: keep_until}` raised monotonically by one script and expiring at
/// `keep_until` (computed against the backend's clock, at least one second); `check` is
/// one script over the three keys.
#[derive(Debug, Clone)]
pub struct RedisRevocationStore {
    backend: RedisBackend,
}

impl RedisRevocationStore {
    /// A store on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        Self { backend }
    }

    async fn raise(
        &self,
        op: &'static str,
        key: String,
        epoch: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        if keep_until < epoch {
            return Err(TokenError::RetentionBeforeEpoch);
        }
        let mut inv = self.backend.scripts.revocation_raise.prepare_invoke();
        inv.key(key)
            .arg(epoch.as_millis())
            .arg(keep_until.as_millis())
            .arg(self.backend.now().as_millis());
        let _: i64 = self.backend.run(op, &inv).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl RevocationStore for RedisRevocationStore {
    async fn revoke_jti(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        let key = self.backend.keys.jti(tenant, jti);
        self.raise(
            "revocation.revoke_jti",
            key,
            UnixTime::from_millis(0),
            keep_until,
        )
        .await
    }

    async fn revoke_subject_before(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        let key = self.backend.keys.subject_epoch(tenant, subject);
        self.raise("revocation.revoke_subject", key, at, keep_until)
            .await
    }

    async fn revoke_tenant_before(
        &self,
        tenant: &TenantId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError> {
        let key = self.backend.keys.tenant_epoch(tenant);
        self.raise("revocation.revoke_tenant", key, at, keep_until)
            .await
    }

    async fn check(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        jti: &str,
        issued_at: UnixTime,
    ) -> Result<RevocationStatus, TokenError> {
        const OP: &str = "revocation.check";
        let keys = &self.backend.keys;
        let mut inv = self.backend.scripts.revocation_check.prepare_invoke();
        inv.key(keys.jti(tenant, jti))
            .key(keys.subject_epoch(tenant, subject))
            .key(keys.tenant_epoch(tenant))
            .arg(issued_at.as_millis());
        let code: i64 = self.backend.run(OP, &inv).await?;
        Ok(match code {
            0 => RevocationStatus::NotRevoked,
            1 => RevocationStatus::Revoked(RevocationReason::TokenRevoked),
            2 => RevocationStatus::Revoked(RevocationReason::SubjectEpoch),
            3 => RevocationStatus::Revoked(RevocationReason::TenantEpoch),
            _ => return Err(BackendError::corrupt(OP, BadReply).into()),
        })
    }
}

/// Redeemed one-time tickets in Redis: one key per `(tenant, jti)` holding `keep_until`,
/// written by one script that refuses while a live mark exists (so of N concurrent
/// consumers exactly one wins) and expiring `keep_until - now` later.
#[derive(Debug, Clone)]
pub struct RedisTicketStore {
    backend: RedisBackend,
}

impl RedisTicketStore {
    /// A store on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        Self { backend }
    }
}

#[async_trait::async_trait]
impl TicketStore for RedisTicketStore {
    async fn consume(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut inv = self.backend.scripts.mark_once.prepare_invoke();
        inv.key(self.backend.keys.ticket(tenant, jti))
            .arg(keep_until.as_millis())
            .arg(now.as_millis())
            .arg(ttl_ms(keep_until, now).max(1000));
        let first: i64 = self.backend.run("tickets.consume", &inv).await?;
        Ok(first == 1)
    }
}

/// Seen DPoP proofs in Redis: one key per proof id holding its expiry by the caller's
/// clock, set by the same insert-unless-live script as tickets, with a relative `PX` so
/// Redis drops it by itself. Shared by every replica, so a proof replayed at another
/// replica is refused too.
#[derive(Debug, Clone)]
pub struct RedisDpopReplayStore {
    backend: RedisBackend,
}

impl RedisDpopReplayStore {
    /// A store on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        Self { backend }
    }
}

#[async_trait::async_trait]
impl DpopReplayStore for RedisDpopReplayStore {
    async fn check_and_insert(
        &self,
        id: &[u8; 32],
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut inv = self.backend.scripts.mark_once.prepare_invoke();
        inv.key(self.backend.keys.dpop(id))
            .arg(until.as_millis())
            .arg(now.as_millis())
            .arg(ttl_ms(until, now));
        let first: i64 = self.backend.run("dpop.check_and_insert", &inv).await?;
        Ok(first == 1)
    }
}
