//! The one source of time and randomness every Portcullis service is built with.

use std::fmt;
use std::sync::Arc;

use crate::random::{OsRandom, RandomError, SecureRandom};
use crate::time::{Clock, SystemClock, UnixTime};

/// The [`Clock`] and the [`SecureRandom`] a service reads, handed to every constructor as
/// one value (the way rustls hands around one `CryptoProvider`).
///
/// Production code uses [`Provider::system`]: the machine's wall clock and the operating
/// system's generator. Clones share the same clock and the same generator, so two services
/// built from clones of one provider draw from one stream and never repeat each other's
/// nonces.
///
/// # Deterministic providers are for tests only
///
/// A provider built from a seeded or otherwise predictable generator (the one
/// `portcullis_testkit::deterministic` returns) makes every nonce, token id, refresh token
/// and key it produces predictable, and two such providers built from the same seed produce
/// the *same* bytes: two sealers given them seal under the same nonce, which breaks
/// AES-GCM. Such a provider must never reach production code; this crate ships none.
///
/// ```
/// use portcullis_core::{Provider, UnixTime};
///
/// let provider = Provider::system();
/// assert!(provider.now() > UnixTime::from_secs(1_600_000_000));
/// let mut nonce = [0u8; 12];
/// provider.fill(&mut nonce)?;
/// # Ok::<(), portcullis_core::RandomError>(())
/// ```
#[derive(Clone)]
pub struct Provider {
    clock: Arc<dyn Clock>,
    random: Arc<dyn SecureRandom>,
}

impl Provider {
    /// The production provider: [`SystemClock`] and [`OsRandom`].
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }

    /// The operating system's generator with another clock: for tools that evaluate at a
    /// given instant (`--now` with a [`FixedClock`](crate::FixedClock)).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            random: Arc::new(OsRandom),
        }
    }

    /// A provider from its two parts. Whoever passes a predictable generator here makes
    /// every secret the services draw predictable (see the type's documentation).
    pub fn from_parts(clock: Arc<dyn Clock>, random: Arc<dyn SecureRandom>) -> Self {
        Self { clock, random }
    }

    /// The current time, from the clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Fills `dest` from the random generator.
    ///
    /// # Errors
    ///
    /// [`RandomError`] if the generator fails; `dest` must then be discarded.
    pub fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.random.fill(dest)
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The random generator.
    pub fn random(&self) -> &Arc<dyn SecureRandom> {
        &self.random
    }
}

impl Default for Provider {
    /// [`Provider::system`].
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("clock", &self.clock)
            .field("random", &self.random)
            .finish()
    }
}

impl Clock for Provider {
    fn now(&self) -> UnixTime {
        self.clock.now()
    }
}

impl SecureRandom for Provider {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.random.fill(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;

    #[test]
    fn clones_share_clock_and_generator() {
        let p = Provider::with_clock(Arc::new(FixedClock(UnixTime::from_secs(9))));
        let q = p.clone();
        assert_eq!(q.now().as_secs(), 9);
        assert!(Arc::ptr_eq(p.random(), q.random()));
        assert!(Arc::ptr_eq(p.clock(), q.clock()));
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        p.fill(&mut a).unwrap();
        q.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn system_reads_the_wall_clock() {
        assert!(Provider::system().now() > UnixTime::from_secs(1_577_836_800));
        assert!(Provider::default().now() > UnixTime::from_secs(1_577_836_800));
        assert!(format!("{:?}", Provider::system()).contains("SystemClock"));
    }

    #[test]
    fn from_parts_uses_both_parts() {
        #[derive(Debug)]
        struct Sevens;
        impl SecureRandom for Sevens {
            fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
                dest.fill(7);
                Ok(())
            }
        }
        let p = Provider::from_parts(
            Arc::new(FixedClock(UnixTime::from_secs(3))),
            Arc::new(Sevens),
        );
        let mut buf = [0u8; 4];
        p.fill(&mut buf).unwrap();
        assert_eq!((buf, p.now().as_secs()), ([7; 4], 3));
    }
}
