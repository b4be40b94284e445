//! The [`RateLimiter`] trait and its answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::RateLimitError;
use crate::quota::Quota;

/// The answer of [`RateLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct RateDecision {
    /// Whether the request may proceed. When `true`, its cost has been taken.
    pub allowed: bool,
    /// When denied, how long until a request of the same cost would be allowed (for a
    /// `Retry-After` header); [`Duration::ZERO`] when allowed.
    pub retry_after: Duration,
    /// When allowed, how many more unit-cost requests would be allowed right now; 0 when
    /// denied.
    pub remaining: u32,
    /// The quota's burst (for a `RateLimit-Limit` header).
    pub limit: u32,
}

/// A keyed rate limiter. Each check is one atomic operation: of any number of concurrent
/// checks on one key, no more are allowed than the quota admits.
///
/// Implementations fail closed: a backend that cannot answer returns
/// [`RateLimitError::Backend`], and callers must deny the request (for example with
/// `503`, never by letting it through).
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Takes `cost` cells from `key`'s bucket if they are available.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::ZeroCost`], [`RateLimitError::CostExceedsBurst`],
    /// [`RateLimitError::Backend`]. Every error means "deny".
    async fn check(&self, key: &str, cost: u32) -> Result<RateDecision, RateLimitError>;

    /// The quota this limiter enforces.
    fn quota(&self) -> Quota;
}

#[async_trait::async_trait]
impl<L: RateLimiter + ?Sized> RateLimiter for Arc<L> {
    async fn check(&self, key: &str, cost: u32) -> Result<RateDecision, RateLimitError> {
        (**self).check(key, cost).await
    }

    fn quota(&self) -> Quota {
        (**self).quota()
    }
}

/// Validates a cost against a quota (shared by every implementation).
///
/// # Errors
///
/// [`RateLimitError::ZeroCost`] or [`RateLimitError::CostExceedsBurst`].
pub fn validate_cost(quota: &Quota, cost: u32) -> Result<(), RateLimitError> {
    if cost == 0 {
        return Err(RateLimitError::ZeroCost);
    }
    if cost > quota.burst() {
        return Err(RateLimitError::CostExceedsBurst {
            cost,
            burst: quota.burst(),
        });
    }
    Ok(())
}
