//! Randomness as an injected dependency.
//!
//! Nonces, token bodies, salts and keys are drawn through [`SecureRandom`], so tests can
//! substitute a seeded generator (`portcullis_testkit::SeededRandom`) while production uses
//! [`OsRandom`].

use std::fmt::Debug;
use std::sync::Arc;

/// The random generator failed; no bytes may be used.
#[derive(Debug, thiserror::Error)]
#[error("the random number generator failed")]
pub struct RandomError {
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl RandomError {
    /// Wraps the generator's own error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            source: Some(source.into()),
        }
    }
}

/// A cryptographically secure random generator.
///
/// Implementations must be safe to share between threads and must fail rather than return
/// predictable bytes.
pub trait SecureRandom: Send + Sync + Debug {
    /// Fills `dest` entirely with random bytes.
    ///
    /// # Errors
    ///
    /// [`RandomError`] if the generator cannot produce bytes; `dest` must then be discarded.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

impl<R: SecureRandom + ?Sized> SecureRandom for Arc<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for &R {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for Box<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        (**self).fill(dest)
    }
}

/// The operating system's generator (`getrandom`: `getrandom(2)` on Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|e| RandomError::new(e.to_string()))
    }
}

/// Draws `N` random bytes from `rng`.
///
/// ```
/// use portcullis_core::{OsRandom, random_array};
/// let nonce: [u8; 12] = random_array(&OsRandom)?;
/// # let _ = nonce;
/// # Ok::<(), portcullis_core::RandomError>(())
/// ```
///
/// # Errors
///
/// [`RandomError`] if the generator fails.
pub fn random_array<const N: usize>(rng: &dyn SecureRandom) -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    rng.fill(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_fills_and_differs() {
        let a: [u8; 32] = random_array(&OsRandom).unwrap();
        let b: [u8; 32] = random_array(&OsRandom).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn dyn_compatible() {
        let rng: Arc<dyn SecureRandom> = Arc::new(OsRandom);
        let mut buf = [0u8; 16];
        rng.fill(&mut buf).unwrap();
        assert_ne!(buf, [0u8; 16]);
    }
}
