//! Time as an injected dependency.
//!
//! All Portcullis logic reads the time through a [`Clock`], so tests can control it and
//! no crate calls the wall clock behind the caller's back. [`SystemClock`] is the only
//! place in the workspace that reads [`std::time::SystemTime::now`] (a clippy
//! `disallowed-methods` rule enforces it).

use std::fmt::{self, Debug};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time: whole milliseconds since the Unix epoch (1970-01-01T00:00:00Z, UTC,
/// leap seconds not counted), as an unsigned 64-bit integer.
///
/// Serialized (serde) as that integer number of milliseconds. Formats that need seconds
/// (JWT `exp`, webhook timestamps) convert with [`UnixTime::as_secs`] and
/// [`UnixTime::from_secs`]; the conversion to seconds truncates.
///
/// ```
/// use portcullis_core::UnixTime;
/// use std::time::Duration;
///
/// let t = UnixTime::from_secs(1_700_000_000);
/// assert_eq!(t.as_millis(), 1_700_000_000_000);
/// let later = t.saturating_add(Duration::from_millis(1_500));
/// assert_eq!(later.as_secs(), 1_700_000_001);
/// assert_eq!(later.duration_since(t), Some(Duration::from_millis(1_500)));
/// assert_eq!(t.duration_since(later), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: Self = Self(0);

    /// From whole seconds since the epoch; saturates at the largest representable time.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// From whole milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Whole seconds since the epoch (truncating).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, or `None` on overflow.
    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        let millis = u64::try_from(duration.as_millis()).ok()?;
        self.0.checked_add(millis).map(Self)
    }

    /// `self - duration`, or `None` if that is before the epoch.
    pub fn checked_sub(self, duration: Duration) -> Option<Self> {
        let millis = u64::try_from(duration.as_millis()).ok()?;
        self.0.checked_sub(millis).map(Self)
    }

    /// `self + duration`, saturating at the largest representable time.
    pub fn saturating_add(self, duration: Duration) -> Self {
        self.checked_add(duration).unwrap_or(Self(u64::MAX))
    }

    /// `self - duration`, saturating at the epoch.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        self.checked_sub(duration).unwrap_or(Self::EPOCH)
    }

    /// How much later `self` is than `earlier`, or `None` if `earlier` is after `self`.
    pub fn duration_since(self, earlier: Self) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_millis)
    }
}

impl Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixTime({}.{:03})", self.0 / 1000, self.0 % 1000)
    }
}

/// A source of the current time. Synchronous, cheap and shareable across threads.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// The wall clock of the machine.
///
/// A clock set before 1970 reads as [`UnixTime::EPOCH`], which makes every time-bounded
/// credential look expired or not yet valid (fail closed).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one sanctioned reading of the wall clock.
    fn now(&self) -> UnixTime {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        UnixTime(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock stopped at one instant: for command-line tools given `--now`, and for
/// deterministic replays. Tests that need to move time use `portcullis_testkit::ManualClock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > UnixTime::from_secs(1_577_836_800));
    }

    #[test]
    fn saturation_and_overflow() {
        assert_eq!(UnixTime::from_secs(u64::MAX).as_millis(), u64::MAX);
        assert_eq!(
            UnixTime::from_millis(u64::MAX).checked_add(Duration::from_millis(1)),
            None
        );
        assert_eq!(UnixTime::EPOCH.checked_sub(Duration::from_millis(1)), None);
        assert_eq!(
            UnixTime::EPOCH.saturating_sub(Duration::from_secs(5)),
            UnixTime::EPOCH
        );
        assert_eq!(
            UnixTime::from_millis(5)
                .saturating_add(Duration::MAX)
                .as_millis(),
            u64::MAX
        );
    }

    #[test]
    fn serde_is_integer_millis_and_debug_is_readable() {
        let t = UnixTime::from_millis(1_700_000_000_123);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000123");
        assert_eq!(format!("{t:?}"), "UnixTime(1700000000.123)");
    }

    #[test]
    fn clocks_compose_through_smart_pointers() {
        let fixed = Arc::new(FixedClock(UnixTime::from_secs(7)));
        let dynamic: Arc<dyn Clock> = fixed;
        assert_eq!(dynamic.now().as_secs(), 7);
        fn read<C: Clock>(clock: C) -> UnixTime {
            clock.now()
        }
        assert_eq!(read(&*dynamic).as_secs(), 7);
        assert_eq!(
            read(Box::new(FixedClock(UnixTime::from_secs(8)))).as_secs(),
            8
        );
    }

    proptest! {
        #[test]
        fn add_then_sub_round_trips(start in 0u64..u64::MAX / 2, delta in 0u64..u64::MAX / 4) {
            let t = UnixTime::from_millis(start);
            let d = Duration::from_millis(delta);
            let later = t.checked_add(d).unwrap();
            prop_assert_eq!(later.checked_sub(d), Some(t));
            prop_assert_eq!(later.duration_since(t), Some(d));
        }

        #[test]
        fn seconds_truncate(millis in any::<u64>()) {
            let t = UnixTime::from_millis(millis);
            prop_assert_eq!(t.as_secs(), millis / 1000);
            prop_assert!(UnixTime::from_secs(t.as_secs()) <= t);
        }
    }
}
