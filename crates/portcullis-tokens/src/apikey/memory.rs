//! The in-memory [`ApiKeyStore`], for tests and single-process deployments. Its state
//! sits under one `Mutex`, so every trait method is atomic; a poisoned lock is reported as
//! a [`BackendError`] (fail closed).

use std::sync::Mutex;

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};

use super::store::{
    ApiKeyRecord, ApiKeyStore, MAX_API_KEY_RECORDS_PER_OWNER, MAX_API_KEYS_PER_OWNER, is_live,
};
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
        let now = record.created_at;
        let (mut owned, mut live) = (0usize, 0usize);
        for k in keys
            .iter()
            .filter(|k| k.tenant == record.tenant && k.owner == record.owner)
        {
            owned += 1;
            live += usize::from(is_live(k, now));
        }
        if is_live(&record, now) && live >= MAX_API_KEYS_PER_OWNER {
            return Err(TokenError::TooManyApiKeys {
                owner: record.owner,
                max: MAX_API_KEYS_PER_OWNER,
            });
        }
        if owned >= MAX_API_KEY_RECORDS_PER_OWNER {
            return Err(TokenError::TooManyApiKeyRecords {
                owner: record.owner,
                max: MAX_API_KEY_RECORDS_PER_OWNER,
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

    async fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, TokenError> {
        let mut keys = lock(&self.keys, "apikeys.delete")?;
        let before = keys.len();
        keys.retain(|k| !(&k.tenant == tenant && k.id == id));
        Ok(keys.len() < before)
    }

    async fn purge(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
        now: UnixTime,
    ) -> Result<u64, TokenError> {
        let mut keys = lock(&self.keys, "apikeys.purge")?;
        let before = keys.len();
        keys.retain(|k| !(&k.tenant == tenant && &k.owner == owner && !is_live(k, now)));
        Ok(u64::try_from(before - keys.len()).unwrap_or(u64::MAX))
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
