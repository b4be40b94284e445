//! Creating, verifying and revoking API keys.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{ActorId, Provider, SecretString, TenantId};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::format::{self, ID_LEN, SECRET_LEN};
use super::store::{ApiKeyRecord, ApiKeyStore};
use crate::claims::check_label;
use crate::error::TokenError;

/// A key just created: the plaintext is in `key` and is never stored; show it once.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The full key.
    pub key: SecretString,
    /// What was stored.
    pub record: ApiKeyRecord,
}

/// Creates and verifies the API keys of one prefix.
///
/// The format is specified in [`api_key_format`](crate::api_key_format). Verification order: layout and checksum (no
/// store access, so typos and garbage cost nothing), then one store lookup by id, then a
/// constant-time comparison of SHA-256 hashes, then revocation and expiry (only for keys
/// whose secret matched, so a guesser learns nothing about a key's status).
#[derive(Debug, Clone)]
pub struct ApiKeys {
    store: Arc<dyn ApiKeyStore>,
    prefix: String,
    provider: Provider,
}

impl ApiKeys {
    /// A service for keys starting `<prefix>_`.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for a bad prefix.
    pub fn new(
        store: Arc<dyn ApiKeyStore>,
        prefix: &str,
        provider: Provider,
    ) -> Result<Self, TokenError> {
        format::check_prefix(prefix)?;
        Ok(Self {
            store,
            prefix: prefix.to_owned(),
            provider,
        })
    }

    /// Creates a key for `owner` with `scopes`, expiring after `ttl` if given.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for a bad name or scope, [`TokenError::Random`],
    /// [`TokenError::Backend`].
    pub async fn create(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
        name: &str,
        scopes: &[&str],
        ttl: Option<Duration>,
    ) -> Result<NewApiKey, TokenError> {
        if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
            return Err(TokenError::InvalidConfig {
                reason: "api key name must be 1 to 256 bytes without control characters".to_owned(),
            });
        }
        for scope in scopes {
            check_label("scope", scope)?;
        }
        let id = format::random_base62(&self.provider, ID_LEN)?;
        let secret = SecretString::new(format::random_base62(&self.provider, SECRET_LEN)?);
        let mut text = String::with_capacity(self.prefix.len() + 1 + 54);
        text.push_str(&self.prefix);
        text.push('_');
        text.push_str(&id);
        text.push_str(secret.expose_secret());
        let check = format::checksum(&text);
        text.extend(check.iter().map(|&b| char::from(b)));
        let key = SecretString::new(text);
        let now = self.provider.now();
        let record = ApiKeyRecord {
            tenant: tenant.clone(),
            id,
            owner: owner.clone(),
            name: name.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            hash: Sha256::digest(key.expose_secret().as_bytes()).into(),
            created_at: now,
            expires_at: ttl.map(|t| now.saturating_add(t)),
            revoked_at: None,
        };
        self.store.insert(record.clone()).await?;
        Ok(NewApiKey { key, record })
    }

    /// Verifies `presented` for `tenant`, returning its record (owner, scopes).
    ///
    /// # Errors
    ///
    /// [`TokenError::ApiKeyMalformed`] and [`TokenError::ApiKeyChecksum`] before any
    /// store access; [`TokenError::ApiKeyInvalid`] for an unknown id or a wrong secret;
    /// [`TokenError::ApiKeyRevoked`], [`TokenError::ApiKeyExpired`];
    /// [`TokenError::Backend`] (deny).
    pub async fn verify(
        &self,
        tenant: &TenantId,
        presented: &str,
    ) -> Result<ApiKeyRecord, TokenError> {
        let parsed = format::parse(&self.prefix, presented)?;
        let presented_hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let record = self
            .store
            .get(tenant, parsed.id)
            .await?
            .ok_or(TokenError::ApiKeyInvalid)?;
        let matches: bool = record.hash.ct_eq(&presented_hash).into();
        if !matches || record.tenant != *tenant || record.id != parsed.id {
            return Err(TokenError::ApiKeyInvalid);
        }
        // Any revocation time means revoked, even one in this verifier's future: the
        // revoker's clock may run ahead of this replica's.
        if record.revoked_at.is_some() {
            return Err(TokenError::ApiKeyRevoked);
        }
        let now = self.provider.now();
        if record.expires_at.is_some_and(|at| now >= at) {
            return Err(TokenError::ApiKeyExpired);
        }
        Ok(record)
    }

    /// [`ApiKeys::verify`], then requires the key to grant `scope`
    /// ([`ApiKeyRecord::require_scope`]).
    ///
    /// # Errors
    ///
    /// As [`ApiKeys::verify`], plus [`TokenError::WrongScope`].
    pub async fn verify_scope(
        &self,
        tenant: &TenantId,
        presented: &str,
        scope: &str,
    ) -> Result<ApiKeyRecord, TokenError> {
        let record = self.verify(tenant, presented).await?;
        record.require_scope(scope)?;
        Ok(record)
    }

    /// Deletes the key with lookup id `id`, live or not. Returns whether it existed.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, TokenError> {
        self.store.delete(tenant, id).await
    }

    /// Deletes every revoked or expired key of `owner`. Returns how many.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn purge(&self, tenant: &TenantId, owner: &ActorId) -> Result<u64, TokenError> {
        self.store.purge(tenant, owner, self.provider.now()).await
    }

    /// Revokes the key with lookup id `id`. Returns whether it exists.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke(&self, tenant: &TenantId, id: &str) -> Result<bool, TokenError> {
        self.store.revoke(tenant, id, self.provider.now()).await
    }

    /// The keys of `owner`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn list(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
    ) -> Result<Vec<ApiKeyRecord>, TokenError> {
        self.store.list(tenant, owner).await
    }
}
