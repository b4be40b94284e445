//! [`RateLimiter`] on Redis: GCRA in one script.

use std::time::Duration;

use portcullis_ratelimit::{Quota, RateDecision, RateLimitError, RateLimiter, validate_cost};

use crate::backend::RedisBackend;
use crate::error::{BadReply, RedisError};
use crate::keyspace::validate_name;
use portcullis_core::BackendError;

/// Whose clock the GCRA script reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimeSource {
    /// The Redis server's `TIME` (default): every replica of the service agrees on "now"
    /// whatever its own clock says.
    #[default]
    Server,
    /// The backend's injected [`Clock`](portcullis_core::Clock), passed to the script as
    /// an argument (tests use a manual clock; replicas must keep their clocks in sync).
    Backend,
}

/// A shared GCRA rate limiter in Redis: one key per bucket holding the theoretical
/// arrival time in microseconds, updated by one script (the rule documented on
/// [`Quota`], identical to the in-memory limiter) and expiring when the bucket is full
/// again.
#[derive(Debug, Clone)]
pub struct RedisRateLimiter {
    backend: RedisBackend,
    name: String,
    quota: Quota,
    time: TimeSource,
}

impl RedisRateLimiter {
    /// A limiter called `name` (part of every key, 1-64 characters of
    /// `[A-Za-z0-9._:-]`, so limiters with different quotas never share buckets).
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidConfig`] for a bad name.
    pub fn new(
        backend: RedisBackend,
        name: &str,
        quota: Quota,
        time: TimeSource,
    ) -> Result<Self, RedisError> {
        validate_name("limiter name", name)?;
        Ok(Self {
            backend,
            name: name.to_owned(),
            quota,
            time,
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, key: &str, cost: u32) -> Result<RateDecision, RateLimitError> {
        const OP: &str = "ratelimit.check";
        validate_cost(&self.quota, cost)?;
        let t = self.quota.interval_micros();
        let tau = t.saturating_mul(u64::from(self.quota.burst().saturating_sub(1)));
        let now = match self.time {
            TimeSource::Server => String::new(),
            TimeSource::Backend => self
                .backend
                .now()
                .as_millis()
                .saturating_mul(1000)
                .to_string(),
        };
        let mut inv = self.backend.scripts.gcra.prepare_invoke();
        inv.key(self.backend.keys.rate(&self.name, key))
            .arg(t)
            .arg(tau)
            .arg(cost)
            .arg(now);
        let (allowed, wait_us, remaining): (i64, i64, i64) = self.backend.run(OP, &inv).await?;
        let wait = u64::try_from(wait_us).map_err(|_| BackendError::corrupt(OP, BadReply))?;
        let remaining =
            u32::try_from(remaining).map_err(|_| BackendError::corrupt(OP, BadReply))?;
        Ok(RateDecision {
            allowed: allowed == 1,
            retry_after: Duration::from_micros(wait),
            remaining: if allowed == 1 { remaining } else { 0 },
            limit: self.quota.burst(),
        })
    }

    fn quota(&self) -> Quota {
        self.quota
    }
}
