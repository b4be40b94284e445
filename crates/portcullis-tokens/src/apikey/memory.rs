//! The in-memory [`ApiKeyStore`], for tests and single-process deployments. Its state
//! sits under one `Mutex`, so every trait method is atomic; a poisoned lock is reported as
//! a [`BackendError`] (fail closed).

use std::sync::Mutex;

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};

use super::store::{ApiKeyRecord, ApiKeyStore, MAX_API_KEYS_PER_OWNER};
use crate::error::TokenError;
use crate::memory_lock::lock;

/// API-key records in memory.
#[derive(Debug, Default)]
pub struct MemoryApiKeyStore {
    keys: Mutex<Vec<ApiKeyRecord>>,
}

impl MemoryApiKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ApiKeyStore for MemoryApiKeyStore {
    async fn insert(&self, record: ApiKeyRecord) -> Result<(), TokenError> {
        let mut keys = lock(&self.keys, "apikeys.insert")?;
        if keys
            .iter()
            .any(|k| k.tenant == record.tenant && k.id == record.id)
        {
            return Err(TokenError::Backend(BackendError::new(
                BackendErrorKind::Conflict,
                "apikeys.insert",
                "api key id already exists",
            )));
        }
        let owned = keys
            .iter()
            .filter(|k| k.tenant == record.tenant && k.owner == record.owner)
            .count();
        if owned >= MAX_API_KEYS_PER_OWNER {
            return Err(TokenError::TooManyApiKeys {
                owner: record.owner,
                max: MAX_API_KEYS_PER_OWNER,
            });
        }
        keys.push(record);
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<ApiKeyRecord>, TokenError> {
        let keys = lock(&self.keys, "apikeys.get")?;
        Ok(keys
            .iter()
            .find(|k| &k.tenant == tenant && k.id == id)
            .cloned())
    }

    async fn revoke(&self, tenant: &TenantId, id: &str, now: UnixTime) -> Result<bool, TokenError> {
        let mut keys = lock(&self.keys, "apikeys.revoke")?;
        match keys.iter_mut().find(|k| &k.tenant == tenant && k.id == id) {
            Some(k) => {
                k.revoked_at = Some(k.revoked_at.map_or(now, |at| at.min(now)));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn list(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
    ) -> Result<Vec<ApiKeyRecord>, TokenError> {
        let keys = lock(&self.keys, "apikeys.list")?;
        Ok(keys
            .iter()
            .filter(|k| &k.tenant == tenant && &k.owner == owner)
            .cloned()
            .collect())
    }
}
