//! The lock of the in-memory stores. Each in-memory store keeps its state under one
//! `Mutex`, so every trait method is atomic; a poisoned lock (a panic while it was held)
//! is reported as a [`BackendError`], so the store fails closed instead of answering from
//! state a panic may have left half-written.

use std::sync::{Mutex, MutexGuard};

use portcullis_core::BackendError;

use crate::error::TokenError;

/// Locks `m` for the store operation `op`.
///
/// # Errors
///
/// [`TokenError::Backend`] (kind `Other`, operation `op`) if the lock is poisoned.
pub(crate) fn lock<'a, T>(
    m: &'a Mutex<T>,
    op: &'static str,
) -> Result<MutexGuard<'a, T>, TokenError> {
    m.lock()
        .map_err(|_| TokenError::Backend(BackendError::other(op, "in-memory store lock poisoned")))
}
