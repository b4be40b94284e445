#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Properties of the GCRA limiter over arbitrary request sequences.

use std::time::Duration;

use futures::executor::block_on;
use portcullis_ratelimit::{MemoryRateLimiter, Quota, RateLimiter};
use portcullis_testkit::ManualClock;
use proptest::prelude::*;

proptest! {
    /// Over any sequence, the cost admitted never exceeds the burst plus one cell per
    /// emission interval elapsed; and a denial's `retry_after` is exact: one millisecond
    /// earlier the same request is still denied, at `retry_after` it is allowed.
    #[test]
    fn admitted_cost_is_bounded_and_retry_after_is_exact(
        burst in 1u32..8,
        interval_ms in 1u64..5_000,
        steps in proptest::collection::vec((0u64..10_000, 1u32..8), 1..60),
    ) {
        let clock = ManualClock::new();
        let quota = Quota::with_interval(
            Duration::from_millis(interval_ms),
            std::num::NonZeroU32::new(burst).unwrap(),
        ).unwrap();
        let l = MemoryRateLimiter::with_capacity(quota, clock.provider(0), 16);
        let mut admitted = 0u64;
        let mut elapsed = 0u64;
        for (advance, cost) in steps {
            clock.advance(Duration::from_millis(advance));
            elapsed += advance;
            let cost = cost.min(burst);
            let d = block_on(l.check("k", cost)).unwrap();
            prop_assert_eq!(d.limit, burst);
            if d.allowed {
                admitted += u64::from(cost);
                prop_assert!(d.remaining < burst);
            } else {
                prop_assert!(d.retry_after > Duration::ZERO);
                let wait = u64::try_from(d.retry_after.as_millis()).unwrap();
                if wait > 1 {
                    clock.advance(Duration::from_millis(wait - 1));
                    prop_assert!(!block_on(l.check("k", cost)).unwrap().allowed);
                    clock.advance(Duration::from_millis(1));
                } else {
                    clock.advance(Duration::from_millis(wait));
                }
                elapsed += wait;
                prop_assert!(block_on(l.check("k", cost)).unwrap().allowed);
                admitted += u64::from(cost);
            }
            prop_assert!(admitted <= u64::from(burst) + elapsed / interval_ms);
        }
    }
}
