//! The API-key store trait and record.

use std::fmt;

use portcullis_core::{ActorId, TenantId, UnixTime};

use crate::error::TokenError;

/// What is stored for one API key. It holds the key's hash, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The tenant the key belongs to.
    pub tenant: TenantId,
    /// The public id part of the key (16 base62 characters).
    pub id: String,
    /// Who the key acts as.
    pub owner: ActorId,
    /// A label for humans.
    pub name: String,
    /// The scopes granted (interpreted by the caller, for example by `portcullis-rbac`).
    pub scopes: Vec<String>,
    /// SHA-256 of the whole key.
    pub hash: [u8; 32],
    /// Creation time.
    pub created_at: UnixTime,
    /// Expiry, if any.
    pub expires_at: Option<UnixTime>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<UnixTime>,
}

impl fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// The most API-key records one owner may have in one tenant, revoked and expired ones
/// included (they stay listed, see [`ApiKeyStore::list`]). Every store refuses the insert
/// beyond it with [`TokenError::TooManyApiKeys`], which bounds `list` and the work a
/// backend does per owner.
pub const MAX_API_KEYS_PER_OWNER: usize = 1000;

/// Storage of API-key records, keyed by `(tenant, id)`. Each method is one atomic
/// operation.
#[async_trait::async_trait]
pub trait ApiKeyStore: Send + Sync + fmt::Debug {
    /// Inserts a new record.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`] with kind `Conflict` if `(tenant, id)` exists;
    /// [`TokenError::TooManyApiKeys`] if the owner already has
    /// [`MAX_API_KEYS_PER_OWNER`] records in the tenant (checked in the same atomic
    /// operation; nothing is written).
    async fn insert(&self, record: ApiKeyRecord) -> Result<(), TokenError>;

    /// The record for `(tenant, id)`, if any.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`]; callers then deny.
    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<ApiKeyRecord>, TokenError>;

    /// Marks the key revoked at `now` (idempotent: an earlier revocation time is kept).
    /// Returns whether the key exists.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn revoke(&self, tenant: &TenantId, id: &str, now: UnixTime) -> Result<bool, TokenError>;

    /// Every key of `owner` in `tenant` (revoked ones included), oldest first.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn list(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
    ) -> Result<Vec<ApiKeyRecord>, TokenError>;
}
