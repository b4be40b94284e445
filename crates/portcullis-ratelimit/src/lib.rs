//! Rate limiting for Portcullis services.
//!
//! - [`RateLimiter`]: an async, dyn-compatible trait (`check(key, cost)` →
//!   [`RateDecision`] with `allowed`, `retry_after`, `remaining`, `limit`). Every
//!   implementation fails closed: an error is a denial.
//! - [`Quota`]: a GCRA quota (one cell per emission interval, a burst), with
//!   [`presets`]: [`presets::auth_per_ip`] (10 per minute per client IP) and
//!   [`presets::tenant_rpm`] (requests per minute per tenant).
//! - [`MemoryRateLimiter`]: a keyed in-memory limiter on the `governor` crate, reading
//!   time through the injected [`portcullis_core::Provider`] (so tests drive it with a manual
//!   clock).
//! - The Redis limiter (shared by every replica of a service) lives in `portcullis-redis`
//!   and applies the same GCRA rule in one Lua script; both pass the same conformance
//!   suite (`portcullis_testkit::conformance::ratelimit`).
//!
//! # When not to use it
//!
//! The in-memory limiter counts per process: behind a load balancer with N replicas a
//! client gets N times the quota. Use the Redis limiter there. Neither is a defence
//! against volumetric denial of service; that belongs in front of the service.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use portcullis_core::{FixedClock, Provider, UnixTime};
//! use portcullis_ratelimit::{presets, MemoryRateLimiter, RateLimiter};
//!
//! # futures::executor::block_on(async {
//! // Provider::system() in production; a fixed clock keeps the example exact.
//! let provider = Provider::with_clock(Arc::new(FixedClock(UnixTime::from_secs(1_700_000_000))));
//! let limiter = MemoryRateLimiter::with_capacity(presets::auth_per_ip(), provider, 10_000);
//! for i in 0..10 {
//!     let d = limiter.check("auth:ip:203.0.113.7", 1).await?;
//!     assert!(d.allowed);
//!     assert_eq!(d.remaining, 9 - i);
//! }
//! let denied = limiter.check("auth:ip:203.0.113.7", 1).await?;
//! assert!(!denied.allowed);
//! assert_eq!(denied.retry_after, Duration::from_secs(6));
//! // Another IP has its own bucket.
//! assert!(limiter.check("auth:ip:198.51.100.1", 1).await?.allowed);
//! # Ok::<(), portcullis_ratelimit::RateLimitError>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//!
//! None.
//!
//! # Security considerations
//!
//! - Fail closed: a backend error, a full key map or an impossible cost is an `Err`, never
//!   an allowed decision. Map it to a denial (`429`/`503`).
//! - Key choice is the caller's: keying authentication by IP alone lets one NATed office
//!   lock itself out and lets an attacker with many addresses spread attempts; combine an
//!   IP limit with a per-account limit. Keys are opaque strings; untrusted parts (a
//!   username) are fine because backends escape or hash them.
//! - Memory: [`MemoryRateLimiter`] bounds the number of keys it tracks and refuses (fails
//!   closed) past the bound after dropping idle keys.
//! - Time: the limiter trusts its provider's [`portcullis_core::Clock`]; a clock jumping backwards
//!   denies more (the stored arrival times lie in the future), one jumping forward allows a
//!   refill early.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod error;
mod limiter;
mod memory;
mod quota;

pub use error::RateLimitError;
pub use limiter::{RateDecision, RateLimiter, validate_cost};
pub use memory::{GovernorClockAdapter, MemoryRateLimiter};
pub use quota::{Quota, presets};
