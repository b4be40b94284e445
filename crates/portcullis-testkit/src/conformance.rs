//! Conformance suites for store traits.
//!
//! Each Portcullis crate that defines a store trait (refresh families, revocation, tickets,
//! API keys, replay guard, audit store, rate limiter) adds a submodule here with an `async`
//! function per behaviour and a `run_all` that a backend's integration test calls with a
//! factory for fresh, empty stores. The in-memory stores and the Redis and PostgreSQL
//! backends all run the same functions, so they cannot drift apart.
//!
//! Conventions every suite follows:
//! - a suite takes a factory (`Fn() -> Future<Output = Store>`) and a
//!   [`ManualClock`](crate::ManualClock) shared with the store, so expiry is tested by moving
//!   time rather than sleeping;
//! - a failed expectation panics with a message naming the suite and the step (these are
//!   test helpers; panicking is how they report);
//! - concurrency steps spawn real tasks and check the invariant, never the timing.

pub mod audit;
pub mod kms;
pub mod ratelimit;
pub mod seal_budget;
pub mod tokens;
pub mod webhooks;
