//! Replay protection: remember which deliveries were accepted, for a while.
//!
//! Schemes with a signed timestamp (Stripe, Standard Webhooks, Slack, Zoom) already refuse
//! old deliveries; a guard closes the window inside the tolerance. Schemes without one
//! (GitHub, Shopify, most custom ones) rely on the guard entirely.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_core::{BackendError, Provider, UnixTime};

use crate::error::WebhookError;

/// What [`ReplayGuard::check_and_insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ReplayOutcome {
    /// Not seen within its TTL; it is now recorded.
    Fresh,
    /// Already recorded and not yet expired: a replay. Nothing was changed.
    Duplicate,
}

/// Remembers delivery ids per scope (an endpoint, a tenant, a provider account).
///
/// `check_and_insert` is a single atomic operation: of N concurrent calls with the same
/// scope and id, exactly one returns [`ReplayOutcome::Fresh`]. A Redis backend implements
/// it as one `SET key 1 NX PX ttl`; a SQL backend as one `INSERT ... ON CONFLICT`.
/// Backends fail closed: an error means "reject the delivery".
#[async_trait::async_trait]
pub trait ReplayGuard: Send + Sync + fmt::Debug {
    /// Records `id` in `scope` for `ttl` unless it is already recorded and unexpired.
    ///
    /// # Errors
    ///
    /// [`WebhookError::Backend`] if the store cannot answer (the caller must reject).
    async fn check_and_insert(
        &self,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<ReplayOutcome, WebhookError>;
}

#[async_trait::async_trait]
impl<G: ReplayGuard + ?Sized> ReplayGuard for Arc<G> {
    async fn check_and_insert(
        &self,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<ReplayOutcome, WebhookError> {
        (**self).check_and_insert(scope, id, ttl).await
    }
}

/// An in-memory [`ReplayGuard`] with per-entry expiry, for tests and single-process
/// services. Expired entries are swept whenever the map has doubled since the last sweep.
/// A bound on entries turns a flood of distinct ids into errors instead of unbounded
/// memory.
pub struct MemoryReplayGuard {
    provider: Provider,
    max_entries: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<(String, String), UnixTime>,
    sweep_at: usize,
}

impl fmt::Debug for MemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayGuard")
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("replay guard is full")]
struct Full;

#[derive(Debug, thiserror::Error)]
#[error("replay guard lock poisoned")]
struct Poisoned;

impl MemoryReplayGuard {
    /// A guard reading time from `provider`, holding at most 1 000 000 live entries.
    pub fn new(provider: Provider) -> Self {
        Self::with_capacity(provider, 1_000_000)
    }

    /// A guard holding at most `max_entries` live entries; beyond that,
    /// `check_and_insert` fails with a backend error (fail closed).
    pub fn with_capacity(provider: Provider, max_entries: usize) -> Self {
        Self {
            provider,
            max_entries,
            state: Mutex::new(State {
                entries: HashMap::new(),
                sweep_at: 1024,
            }),
        }
    }

    /// The number of entries currently held (including expired ones not yet swept).
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.entries.len()).unwrap_or(0)
    }

    /// Whether the guard holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, scope: &str, id: &str, ttl: Duration) -> Result<ReplayOutcome, WebhookError> {
        let now = self.provider.now();
        let mut state = self
            .state
            .lock()
            .map_err(|_| BackendError::other("replay.check_and_insert", Poisoned))?;
        let key = (scope.to_owned(), id.to_owned());
        if let Some(expires) = state.entries.get(&key) {
            if *expires > now {
                return Ok(ReplayOutcome::Duplicate);
            }
        }
        if state.entries.len() >= state.sweep_at || state.entries.len() >= self.max_entries {
            state.entries.retain(|_, expires| *expires > now);
            state.sweep_at = state.entries.len().saturating_mul(2).max(1024);
        }
        if state.entries.len() >= self.max_entries && !state.entries.contains_key(&key) {
            return Err(BackendError::other("replay.check_and_insert", Full).into());
        }
        state.entries.insert(key, now.saturating_add(ttl));
        Ok(ReplayOutcome::Fresh)
    }
}

#[async_trait::async_trait]
impl ReplayGuard for MemoryReplayGuard {
    async fn check_and_insert(
        &self,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<ReplayOutcome, WebhookError> {
        self.insert(scope, id, ttl)
    }
}
