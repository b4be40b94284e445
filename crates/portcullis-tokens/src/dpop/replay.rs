//! The `jti` replay store of DPoP proofs: each proof is accepted once within its window.

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_core::UnixTime;

use crate::error::TokenError;
use crate::memory_lock::lock;

/// Remembers DPoP proofs seen (by a 32-byte digest of the proof key's thumbprint and the
/// proof's `jti`) until their acceptance window closes. Implementations: this crate's
/// [`MemoryDpopReplayStore`] (one process) and `portcullis-redis`'s `RedisDpopReplayStore`
/// (shared by every replica).
#[async_trait::async_trait]
pub trait DpopReplayStore: std::fmt::Debug + Send + Sync {
    /// Atomically records `id` until `until` and returns `true`, or returns `false` if
    /// `id` is already recorded until a time after `now` (a replay).
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`] when the store cannot answer: the proof is then refused.
    async fn check_and_insert(
        &self,
        id: &[u8; 32],
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError>;
}

/// Seen proofs in memory, at most `capacity` live entries (expired ones are dropped first;
/// a store still full refuses new proofs, failing closed, rather than forgetting live
/// ones).
#[derive(Debug)]
pub struct MemoryDpopReplayStore {
    seen: Mutex<HashMap<[u8; 32], UnixTime>>,
    capacity: usize,
}

impl Default for MemoryDpopReplayStore {
    fn default() -> Self {
        Self::with_capacity(1_000_000)
    }
}

impl MemoryDpopReplayStore {
    /// A store of at most 1 000 000 live entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store of at most `capacity` live entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity,
        }
    }
}

#[async_trait::async_trait]
impl DpopReplayStore for MemoryDpopReplayStore {
    async fn check_and_insert(
        &self,
        id: &[u8; 32],
        until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut seen = lock(&self.seen, "dpop.check_and_insert")?;
        if seen.get(id).is_some_and(|u| *u > now) {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, u| *u > now);
            if seen.len() >= self.capacity {
                return Err(TokenError::Backend(portcullis_core::BackendError::other(
                    "dpop.check_and_insert",
                    "the in-memory DPoP replay store is full",
                )));
            }
        }
        seen.insert(*id, until);
        Ok(true)
    }
}
