//! GCRA quotas and presets.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::error::RateLimitError;

/// A GCRA quota: one cell is replenished every [`Quota::emission_interval`], and at most
/// [`Quota::burst`] cells can be taken at once from a full bucket.
///
/// The generic cell rate algorithm keeps, per key, one timestamp (the theoretical arrival
/// time `tat`). With `t` = emission interval and `tau = t * (burst - 1)`, a request of
/// cost `n` at time `now` is allowed iff `now >= tat + t * (n - 1) - tau` (a missing `tat`
/// counts as `now`); if allowed, `tat := max(tat, now) + t * n`. This is exactly the rule
/// of the `governor` crate, and the Redis script in `portcullis-redis` applies the same
/// rule in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    interval: Duration,
    burst: NonZeroU32,
}

impl Quota {
    /// `count` cells per `period`, with a burst of `count` (a full bucket allows `count`
    /// requests at once, then one every `period / count`).
    ///
    /// # Errors
    ///
    /// [`RateLimitError::InvalidQuota`] if `count` is 0 or `period / count` is shorter than
    /// one microsecond (the resolution of the Redis limiter).
    pub fn new(count: u32, period: Duration) -> Result<Self, RateLimitError> {
        let burst = NonZeroU32::new(count).ok_or(RateLimitError::InvalidQuota {
            reason: "count must be at least 1",
        })?;
        Self::with_interval(period / count.max(1), burst)
    }

    /// `count` requests per second, burst `count`.
    ///
    /// # Errors
    ///
    /// As [`Quota::new`].
    pub fn per_second(count: u32) -> Result<Self, RateLimitError> {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` requests per minute, burst `count`.
    ///
    /// # Errors
    ///
    /// As [`Quota::new`].
    pub fn per_minute(count: u32) -> Result<Self, RateLimitError> {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` requests per hour, burst `count`.
    ///
    /// # Errors
    ///
    /// As [`Quota::new`].
    pub fn per_hour(count: u32) -> Result<Self, RateLimitError> {
        Self::new(count, Duration::from_secs(3600))
    }

    /// One cell every `interval`, burst `burst`.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::InvalidQuota`] if `interval` is shorter than one microsecond or
    /// longer than about 31 years, or `interval * burst` overflows.
    pub fn with_interval(interval: Duration, burst: NonZeroU32) -> Result<Self, RateLimitError> {
        if interval < Duration::from_micros(1) {
            return Err(RateLimitError::InvalidQuota {
                reason: "emission interval must be at least 1 microsecond",
            });
        }
        if interval > Duration::from_secs(1_000_000_000) {
            return Err(RateLimitError::InvalidQuota {
                reason: "emission interval must be at most 10^9 seconds",
            });
        }
        if interval.checked_mul(burst.get()).is_none() {
            return Err(RateLimitError::InvalidQuota {
                reason: "interval times burst overflows",
            });
        }
        Ok(Self { interval, burst })
    }

    /// The same rate with another burst.
    ///
    /// # Errors
    ///
    /// As [`Quota::with_interval`].
    pub fn allow_burst(self, burst: NonZeroU32) -> Result<Self, RateLimitError> {
        Self::with_interval(self.interval, burst)
    }

    /// Time to replenish one cell.
    pub fn emission_interval(&self) -> Duration {
        self.interval
    }

    /// Maximum cells at once.
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }

    /// The burst as a non-zero integer.
    pub fn burst_nonzero(&self) -> NonZeroU32 {
        self.burst
    }

    /// The emission interval in whole microseconds (what the Redis limiter stores).
    pub fn interval_micros(&self) -> u64 {
        u64::try_from(self.interval.as_micros()).unwrap_or(u64::MAX)
    }
}

/// Ready-made quotas for the common cases.
pub mod presets {
    use std::num::NonZeroU32;

    use super::Quota;
    use crate::error::RateLimitError;

    /// Authentication attempts (login, password reset, token exchange): 10 per minute
    /// per client IP, burst 10. Key it by the client address, e.g. `auth:ip:<addr>`.
    pub fn auth_per_ip() -> Quota {
        // 60 s / 10 = 6 s, burst 10: always valid.
        Quota {
            interval: std::time::Duration::from_secs(6),
            burst: NonZeroU32::MIN.saturating_add(9),
        }
    }

    /// Per-tenant requests per minute: `rpm` per minute, burst `rpm`. Key it by tenant,
    /// e.g. `tenant:<tenant id>`.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::InvalidQuota`] if `rpm` is 0 or above 60 000 000.
    pub fn tenant_rpm(rpm: u32) -> Result<Quota, RateLimitError> {
        Quota::per_minute(rpm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas() {
        let q = Quota::per_minute(10).unwrap();
        assert_eq!(q.emission_interval(), Duration::from_secs(6));
        assert_eq!(q.burst(), 10);
        assert_eq!(presets::auth_per_ip(), q);
        assert!(Quota::per_minute(0).is_err());
        assert!(Quota::new(2_000_000, Duration::from_secs(1)).is_err());
        assert_eq!(presets::tenant_rpm(600).unwrap().interval_micros(), 100_000);
        let b = q.allow_burst(NonZeroU32::new(3).unwrap()).unwrap();
        assert_eq!(
            (b.burst(), b.emission_interval()),
            (3, Duration::from_secs(6))
        );
    }
}
