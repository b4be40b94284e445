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
    /// Revocation time, if revoked. Any value means revoked, even one in the reader's
    /// future (the revoker's clock may run ahead).
    pub revoked_at: Option<UnixTime>,
}

impl ApiKeyRecord {
    /// Whether the key grants `scope` (exact match; scopes are opaque labels here).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Requires the key to grant `scope`.
    ///
    /// # Errors
    ///
    /// [`TokenError::WrongScope`] naming the scope asked for (the caller's, never the
    /// key's).
    pub fn require_scope(&self, scope: &str) -> Result<(), TokenError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(TokenError::WrongScope {
                requested: crate::error::escape_untrusted(scope, 64),
            })
        }
    }
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

/// The most live API keys (neither revoked nor expired) one owner may hold in one tenant.
/// Every store refuses an insert beyond it with [`TokenError::TooManyApiKeys`]; revoking
/// or expiring a key frees its slot.
pub const MAX_API_KEYS_PER_OWNER: usize = 1000;

/// The most API-key records, live, revoked and expired together, one owner may have in one
/// tenant (revoked and expired records stay listed until [`ApiKeyStore::delete`] or
/// [`ApiKeyStore::purge`]). Every store refuses an insert beyond it with
/// [`TokenError::TooManyApiKeyRecords`], which bounds `list`, `purge` and the work a
/// backend does per owner.
pub const MAX_API_KEY_RECORDS_PER_OWNER: usize = 2 * MAX_API_KEYS_PER_OWNER;

/// Whether `record` is live at `now`: not revoked (at any time) and not expired.
pub(crate) fn is_live(record: &ApiKeyRecord, now: UnixTime) -> bool {
    record.revoked_at.is_none() && record.expires_at.is_none_or(|at| now < at)
}

/// Storage of API-key records, keyed by `(tenant, id)`. Each method is one atomic
/// operation.
#[async_trait::async_trait]
pub trait ApiKeyStore: Send + Sync + fmt::Debug {
    /// Inserts a new record.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`] with kind `Conflict` if `(tenant, id)` exists;
    /// [`TokenError::TooManyApiKeys`] if the record is live and the owner already has
    /// [`MAX_API_KEYS_PER_OWNER`] live keys in the tenant at the record's `created_at`;
    /// [`TokenError::TooManyApiKeyRecords`] if the owner already has
    /// [`MAX_API_KEY_RECORDS_PER_OWNER`] records there. Both are checked in the same
    /// atomic operation; nothing is written.
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

    /// Deletes the record of `(tenant, id)`, live or not (a live key stops verifying at
    /// once: it is then unknown). Returns whether it existed.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, TokenError>;

    /// Deletes every record of `owner` in `tenant` that is revoked, or expired at `now`.
    /// Returns how many were deleted.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn purge(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
        now: UnixTime,
    ) -> Result<u64, TokenError>;

    /// Every key of `owner` in `tenant` (revoked and expired ones included until deleted),
    /// oldest first.
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
