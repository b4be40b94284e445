//! Test support for Portcullis.
//!
//! - [`ManualClock`]: a [`Clock`] that only moves when the test says so, shared by clones.
//! - [`SeededRandom`]: a deterministic [`SecureRandom`] (ChaCha20 from a `u64` seed) so
//!   failures reproduce. Never use it outside tests: its output is predictable by design.
//! - [`deterministic`]: the deterministic [`Provider`] (a [`ManualClock`] and a
//!   [`SeededRandom`]) that test code hands to service constructors, with the clock handle
//!   that moves its time.
//! - [`conformance`]: the suites every implementation of a Portcullis store trait runs, so
//!   the in-memory stores and the Redis/PostgreSQL backends are held to the same behaviour.
//!
//! # When not to use it
//!
//! In production code. This crate is a dev-dependency only.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use portcullis_core::{Clock, SecureRandom, UnixTime};
//! use portcullis_testkit::{ManualClock, SeededRandom};
//!
//! let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
//! let shared = clock.clone();
//! clock.advance(Duration::from_secs(30));
//! assert_eq!(shared.now().as_secs(), 1_700_000_030);
//!
//! let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
//! let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
//! a.fill(&mut x)?;
//! b.fill(&mut y)?;
//! assert_eq!(x, y);
//!
//! // What services are built with in tests: one provider, and the clock that drives it.
//! let (provider, clock) = portcullis_testkit::deterministic(7);
//! clock.advance(Duration::from_secs(5));
//! assert_eq!(provider.now().as_secs(), 1_700_000_005);
//! # Ok::<(), portcullis_core::RandomError>(())
//! ```
//!
//! # Features
//!
//! None.
//!
//! # Security considerations
//!
//! [`SeededRandom`] is deterministic; it exists so tests reproduce. A library must never
//! default to it.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_core::{Clock, Provider, RandomError, SecureRandom, UnixTime};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

pub mod conformance;
pub mod process;

/// A clock that moves only when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn at(start: UnixTime) -> Self {
        Self {
            millis: Arc::new(AtomicU64::new(start.as_millis())),
        }
    }

    /// A clock reading 2023-11-14T22:13:20Z (1 700 000 000 s), a convenient fixed start.
    pub fn new() -> Self {
        Self::at(UnixTime::from_secs(1_700_000_000))
    }

    /// Moves the clock forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(by))
            });
    }

    /// A deterministic [`Provider`] reading this clock (clones share its time) with a
    /// [`SeededRandom`] from `seed`. For tests only: see [`deterministic`].
    pub fn provider(&self, seed: u64) -> Provider {
        Provider::from_parts(Arc::new(self.clone()), Arc::new(SeededRandom::new(seed)))
    }

    /// Sets the clock to `to`, forwards or backwards (to test clock skew).
    pub fn set(&self, to: UnixTime) {
        self.millis.store(to.as_millis(), Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// A deterministic generator for tests: ChaCha20 seeded from a `u64`.
#[derive(Debug)]
pub struct SeededRandom {
    inner: Mutex<ChaCha20Rng>,
}

impl SeededRandom {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
        }
    }
}

impl SecureRandom for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut rng = self
            .inner
            .lock()
            .map_err(|_| RandomError::new("seeded generator lock poisoned"))?;
        rng.fill_bytes(dest);
        Ok(())
    }
}

/// A deterministic [`Provider`] for tests: a [`ManualClock`] reading 1 700 000 000 s and a
/// [`SeededRandom`] from `seed`, with the clock handle that moves the provider's time.
///
/// Every nonce, token and key drawn from it is predictable, and two providers from the
/// same seed draw the same bytes (two sealers given them would reuse nonces). Build one
/// provider per test and hand clones of it to every service: clones share one generator.
pub fn deterministic(seed: u64) -> (Provider, ManualClock) {
    deterministic_at(seed, UnixTime::from_secs(1_700_000_000))
}

/// [`deterministic`] with the clock starting at `start`.
pub fn deterministic_at(seed: u64, start: UnixTime) -> (Provider, ManualClock) {
    let clock = ManualClock::at(start);
    (clock.provider(seed), clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_millis(1500));
        assert_eq!(
            c.now().duration_since(t0),
            Some(Duration::from_millis(1500))
        );
        c.set(UnixTime::from_secs(5));
        assert_eq!(c.now().as_secs(), 5);
        c.advance(Duration::MAX);
        assert_eq!(c.now().as_millis(), u64::MAX);
    }

    #[test]
    fn seeded_random_is_deterministic_per_seed() {
        let (a, b, c) = (
            SeededRandom::new(1),
            SeededRandom::new(1),
            SeededRandom::new(2),
        );
        let (mut x, mut y, mut z) = ([0u8; 32], [0u8; 32], [0u8; 32]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut x2 = [0u8; 32];
        a.fill(&mut x2).unwrap();
        assert_ne!(x, x2);
    }

    #[test]
    fn deterministic_provider_follows_its_clock_and_seed() {
        let (p, clock) = deterministic(3);
        let (q, _) = deterministic(3);
        clock.advance(Duration::from_secs(2));
        assert_eq!(p.now().as_secs(), 1_700_000_002);
        assert_eq!(q.now().as_secs(), 1_700_000_000);
        let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
        p.fill(&mut x).unwrap();
        q.fill(&mut y).unwrap();
        assert_eq!(x, y);
        let (r, _) = deterministic_at(3, UnixTime::from_secs(5));
        assert_eq!(r.now().as_secs(), 5);
    }
}
