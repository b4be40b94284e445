//! The in-memory [`TicketStore`], for tests and single-process deployments. Its state
//! sits under one `Mutex`, so every trait method is atomic; a poisoned lock is reported as
//! a [`BackendError`](portcullis_core::BackendError) (fail closed).

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_core::{TenantId, UnixTime};

use super::TicketStore;
use crate::error::TokenError;
use crate::memory_lock::lock;

/// Redeemed tickets in memory.
#[derive(Debug, Default)]
pub struct MemoryTicketStore {
    used: Mutex<HashMap<(TenantId, String), UnixTime>>,
}

impl MemoryTicketStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl TicketStore for MemoryTicketStore {
    async fn consume(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError> {
        let mut used = lock(&self.used, "tickets.consume")?;
        used.retain(|_, until| *until > now);
        let key = (tenant.clone(), jti.to_owned());
        if used.contains_key(&key) {
            return Ok(false);
        }
        used.insert(key, keep_until);
        Ok(true)
    }
}
