//! The one error type of this crate.

use portcullis_core::BackendError;

/// Why a rate-limit check or a quota could not be made.
///
/// Every variant means "deny": a limiter never turns an error into an allowed request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// A check asked for cost 0 (which would only peek; not supported).
    #[error("cost must be at least 1")]
    ZeroCost,
    /// A check asked for more cells than the quota's burst: it can never be allowed.
    #[error("cost {cost} exceeds the quota's burst of {burst}")]
    CostExceedsBurst {
        /// The cost asked for.
        cost: u32,
        /// The quota's burst.
        burst: u32,
    },
    /// A quota parameter is out of range.
    #[error("invalid quota: {reason}")]
    InvalidQuota {
        /// What was wrong.
        reason: &'static str,
    },
    /// The backend could not answer (unreachable, timeout, corrupt state, full). The
    /// caller must deny the request.
    #[error(transparent)]
    Backend(#[from] BackendError),
}
