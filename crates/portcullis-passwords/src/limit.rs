//! The bound on hashes in flight: a counting semaphore on a mutex and condition variable,
//! with one Argon2 memory buffer per slot. The buffers are reused rather than allocated
//! per hash: with per-hash allocations, glibc's per-thread arenas kept freed 19 MiB
//! buffers resident, and 64 threads with 4 in flight grew RSS by 438 MiB (tests/load.rs
//! measured it before this pool existed).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use argon2::Block;
use zeroize::Zeroizing;

use crate::PasswordError;

type Memory = Zeroizing<Vec<Block>>;

#[derive(Debug, Default)]
struct Counts {
    in_flight: usize,
    peak: usize,
    refused: u64,
}

pub(crate) struct InFlight {
    max: usize,
    wait: Duration,
    counts: Mutex<Counts>,
    freed: Condvar,
    /// Idle buffers (at most `max`), zeroized when dropped.
    pool: Mutex<Vec<Memory>>,
    /// Buffers larger than this many blocks (the policy's memory cost) are not pooled.
    keep_blocks: usize,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("max", &self.max)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// Held while one hash runs; frees its slot and returns its buffer when dropped (also on
/// unwind).
pub(crate) struct Permit<'a> {
    owner: &'a InFlight,
    memory: Option<Memory>,
}

impl InFlight {
    pub(crate) fn new(max: usize, wait: Duration, keep_blocks: usize) -> Self {
        Self {
            max,
            wait,
            counts: Mutex::new(Counts::default()),
            freed: Condvar::new(),
            pool: Mutex::new(Vec::new()),
            keep_blocks,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent under a panic (no invariant spans an unlock).
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot, waiting up to the configured time (measured on the monotonic clock,
    /// which is not the injected wall clock: a wait is not a timestamp).
    pub(crate) fn acquire(&self) -> Result<Permit<'_>, PasswordError> {
        let mut counts = self.lock();
        if counts.in_flight >= self.max {
            let deadline = Instant::now().checked_add(self.wait);
            while counts.in_flight >= self.max {
                let left =
                    deadline.map_or(self.wait, |d| d.saturating_duration_since(Instant::now()));
                if left.is_zero() {
                    counts.refused = counts.refused.saturating_add(1);
                    return Err(PasswordError::Busy);
                }
                counts = self
                    .freed
                    .wait_timeout(counts, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        counts.in_flight += 1;
        counts.peak = counts.peak.max(counts.in_flight);
        drop(counts);
        let memory = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Ok(Permit {
            owner: self,
            memory,
        })
    }

    pub(crate) fn stats(&self) -> (usize, usize, u64) {
        let c = self.lock();
        (c.in_flight, c.peak, c.refused)
    }
}

impl Permit<'_> {
    /// This slot's buffer with at least `blocks` blocks. A buffer too small is replaced
    /// by a new one rather than grown: growing would reallocate and free the old blocks
    /// without zeroizing them (the old buffer is zeroized as it drops).
    pub(crate) fn memory(&mut self, blocks: usize) -> &mut [Block] {
        let memory = self
            .memory
            .get_or_insert_with(|| Zeroizing::new(Vec::new()));
        if memory.len() < blocks {
            *memory = Zeroizing::new(vec![Block::default(); blocks]);
        }
        memory.as_mut_slice()
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(memory) = self.memory.take() {
            // A buffer larger than the policy needs (a stored hash above the policy) is
            // not kept: it is zeroized whole as it drops here. Shrinking it in place would
            // reallocate and leave the kept part behind unzeroized.
            if memory.len() <= self.owner.keep_blocks {
                self.owner
                    .pool
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(memory);
            }
        }
        let mut counts = self.owner.lock();
        counts.in_flight = counts.in_flight.saturating_sub(1);
        drop(counts);
        self.owner.freed.notify_one();
    }
}

#[cfg(test)]
impl InFlight {
    /// For each idle buffer, whether each block is all zero.
    pub(crate) fn pooled_zero_blocks(&self) -> Vec<Vec<bool>> {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|m| {
                m.iter()
                    .map(|b| b.as_ref().iter().all(|w| *w == 0))
                    .collect()
            })
            .collect()
    }
}
