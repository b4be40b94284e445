//! [`ReplayGuard`] on Redis.

use std::time::Duration;

use portcullis_webhooks::{ReplayGuard, ReplayOutcome, WebhookError};

use crate::backend::RedisBackend;

/// Webhook replay guard in Redis: one key per `(scope, id)` holding its expiry time by
/// the backend's clock, written by one script (insert unless a live entry exists) with a
/// relative `PX` of the TTL so Redis drops it by itself. With the system clock this is
/// `SET key 1 NX PX ttl`; the script form lets the expiry follow an injected clock.
#[derive(Debug, Clone)]
pub struct RedisReplayGuard {
    backend: RedisBackend,
}

impl RedisReplayGuard {
    /// A guard on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        Self { backend }
    }
}

#[async_trait::async_trait]
impl ReplayGuard for RedisReplayGuard {
    async fn check_and_insert(
        &self,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<ReplayOutcome, WebhookError> {
        let now = self.backend.now();
        let until = now.saturating_add(ttl);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut inv = self.backend.scripts.mark_once.prepare_invoke();
        inv.key(self.backend.keys.replay(scope, id))
            .arg(until.as_millis())
            .arg(now.as_millis())
            .arg(ttl_ms);
        let fresh: i64 = self
            .backend
            .run("replay.check_and_insert", &inv)
            .await
            .map_err(WebhookError::from)?;
        Ok(if fresh == 1 {
            ReplayOutcome::Fresh
        } else {
            ReplayOutcome::Duplicate
        })
    }
}
