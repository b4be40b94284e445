//! The in-memory limiter, on `governor`'s keyed GCRA with our [`Provider`]'s clock.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use portcullis_core::{BackendError, Provider};

use crate::error::RateLimitError;
use crate::limiter::{RateDecision, RateLimiter, validate_cost};
use crate::quota::Quota;

/// Adapts a Portcullis [`Provider`]'s clock to `governor`'s clock trait (time since the
/// Unix epoch as a [`Duration`]), so tests drive the limiter with a manual clock.
#[derive(Clone)]
pub struct GovernorClockAdapter(Provider);

impl GovernorClockAdapter {
    /// Reads time from `provider`.
    pub fn new(provider: Provider) -> Self {
        Self(provider)
    }
}

impl fmt::Debug for GovernorClockAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GovernorClockAdapter")
            .field(&self.0)
            .finish()
    }
}

impl GovernorClock for GovernorClockAdapter {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now().as_millis())
    }
}

type Inner = governor::RateLimiter<
    String,
    DashMapStateStore<String>,
    GovernorClockAdapter,
    StateInformationMiddleware,
>;

#[derive(Debug, thiserror::Error)]
#[error("rate limiter holds more than {0} keys")]
struct Full(usize);

/// A keyed in-memory [`RateLimiter`] for one process. State lives in a concurrent map;
/// keys whose bucket is full again are dropped when the map reaches `max_keys`, and if it
/// is still full the check fails closed with a backend error (so a flood of distinct keys
/// cannot grow memory without bound).
pub struct MemoryRateLimiter {
    inner: Inner,
    quota: Quota,
    clock: GovernorClockAdapter,
    max_keys: usize,
}

impl fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateLimiter")
            .field("quota", &self.quota)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl MemoryRateLimiter {
    /// A limiter reading time from `provider`, holding at most 1 000 000 keys.
    pub fn new(quota: Quota, provider: Provider) -> Self {
        Self::with_capacity(quota, provider, 1_000_000)
    }

    /// A limiter reading time from `provider`, holding at most `max_keys` keys.
    pub fn with_capacity(quota: Quota, provider: Provider, max_keys: usize) -> Self {
        let clock = GovernorClockAdapter::new(provider);
        let gq = governor::Quota::with_period(quota.emission_interval())
            .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
            .allow_burst(quota.burst_nonzero());
        let inner = governor::RateLimiter::dashmap_with_clock(gq, clock.clone())
            .with_middleware::<StateInformationMiddleware>();
        Self {
            inner,
            quota,
            clock,
            max_keys,
        }
    }

    /// The number of keys currently tracked.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Forgets keys whose bucket is full again (indistinguishable from a fresh key).
    pub fn retain_recent(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    fn decide(&self, key: &str, cost: NonZeroU32) -> Result<RateDecision, RateLimitError> {
        let limit = self.quota.burst();
        let key = key.to_owned();
        match self.inner.check_key_n(&key, cost) {
            Err(_) => Err(RateLimitError::CostExceedsBurst {
                cost: cost.get(),
                burst: limit,
            }),
            Ok(Ok(snapshot)) => Ok(RateDecision {
                allowed: true,
                retry_after: Duration::ZERO,
                remaining: snapshot.remaining_burst_capacity(),
                limit,
            }),
            Ok(Err(not_until)) => Ok(RateDecision {
                allowed: false,
                retry_after: not_until.wait_time_from(self.clock.now()),
                remaining: 0,
                limit,
            }),
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, key: &str, cost: u32) -> Result<RateDecision, RateLimitError> {
        validate_cost(&self.quota, cost)?;
        let cost = NonZeroU32::new(cost).ok_or(RateLimitError::ZeroCost)?;
        if self.inner.len() >= self.max_keys {
            self.retain_recent();
            if self.inner.len() >= self.max_keys {
                return Err(BackendError::other("ratelimit.check", Full(self.max_keys)).into());
            }
        }
        self.decide(key, cost)
    }

    fn quota(&self) -> Quota {
        self.quota
    }
}
