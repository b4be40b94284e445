//! [`PgCredentialStore`]: sealed credentials (portcullis-keys blobs) per tenant, and the
//! [`BlobSource`]/[`BlobSink`] that let [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all)
//! run over the table.
//!
//! The store seals and opens with an AEAD context it derives from the credential id
//! ([`credential_context`]), never with one read from the row, so a blob copied onto
//! another credential's row (by anyone who can write the table) does not open there.

use std::fmt;
use std::sync::Arc;

use portcullis_core::{BackendError, SecretBytes, TenantId};
use portcullis_keys::{
    BlobId, BlobSink, BlobSource, KeyVersion, KeysError, ReplaceOutcome, Sealer, StoredBlob,
};
use tokio_postgres::Row;

use crate::blobs::{self, version_i32};
use crate::error::{self, corrupt};
use crate::pool::{PgPool, Role};

/// The id of a credential within its tenant: 1-256 bytes of printable ASCII other than
/// space (for example `stripe:acct_42` or `integration/7/refresh-token`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(String);

impl CredentialId {
    /// Validates an id.
    ///
    /// # Errors
    ///
    /// [`KeysError::InvalidInput`] if empty, longer than 256 bytes, or holding a byte
    /// outside `0x21..=0x7e`.
    pub fn new(id: impl Into<String>) -> Result<Self, KeysError> {
        let id = id.into();
        if id.is_empty() || id.len() > 256 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeysError::InvalidInput {
                what: "credential id",
                value: id,
            });
        }
        Ok(Self(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The [`BlobId`] of a credential row: `<tenant>/<credential id>`. Tenant ids hold no
/// `/`, so the first `/` splits it back ([`split_blob_id`]).
///
/// # Errors
///
/// [`KeysError::InvalidInput`] if the id would exceed [`BlobId`]'s 512 bytes (it cannot:
/// 64 + 1 + 256).
pub fn blob_id(tenant: &TenantId, id: &CredentialId) -> Result<BlobId, KeysError> {
    BlobId::new(format!("{}/{}", tenant.as_str(), id.as_str()))
}

/// Splits a [`blob_id`] back into tenant and credential id.
///
/// # Errors
///
/// [`KeysError::InvalidInput`] if it has no `/` or either half is invalid.
pub fn split_blob_id(id: &BlobId) -> Result<(TenantId, CredentialId), KeysError> {
    let bad = || KeysError::InvalidInput {
        what: "credential blob id",
        value: id.as_str().to_owned(),
    };
    let (tenant, cred) = id.as_str().split_once('/').ok_or_else(bad)?;
    let tenant = TenantId::new(tenant).map_err(|_| bad())?;
    let cred = CredentialId::new(cred).map_err(|_| bad())?;
    Ok((tenant, cred))
}

/// The AEAD context every credential blob is sealed with:
/// `portcullis-postgres/credential:<id>` (UTF-8 bytes). The tenant is bound separately
/// (it is part of the sealed format's associated data), so a blob opens only for the
/// tenant and credential id it was sealed for. [`PgCredentialStore`] derives it on every
/// seal, open and re-encryption; it is never stored or taken from the caller.
pub fn credential_context(id: &CredentialId) -> Vec<u8> {
    format!("portcullis-postgres/credential:{}", id.as_str()).into_bytes()
}

/// One stored credential (ciphertext only). Open it with [`PgCredentialStore::open`], or
/// by hand with [`Sealer::open`] and [`credential_context`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its id.
    pub id: CredentialId,
    /// The master key version named in its header.
    pub key_version: KeyVersion,
    /// The sealed blob.
    pub blob: Vec<u8>,
}

/// Sealed credentials in `sealed_credentials`: `(tenant_id, credential_id, key_version,
/// blob)`, no plaintext column. The store seals with its [`Sealer`] under the tenant and
/// [`credential_context`] of the id, and opens the same way, so a blob copied from one
/// row onto another (another id or tenant) fails to open with [`KeysError::Decrypt`].
///
/// Tenant-scoped operations run as the schema's application role under row-level
/// security; the [`BlobSource`]/[`BlobSink`] impls, which walk every tenant for
/// re-encryption, run as its rotator role
/// ([`SchemaName::rotator_role`](crate::SchemaName::rotator_role)), which may read rows
/// and swap `blob`/`key_version` only. Pass the
/// same [`Sealer`] (same purpose and keyring) to
/// [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all).
#[derive(Debug, Clone)]
pub struct PgCredentialStore {
    pool: PgPool,
    sealer: Arc<Sealer>,
    sql: Sql,
}

#[derive(Debug, Clone)]
struct Sql {
    put: String,
    get: String,
    delete: String,
    page: String,
    replace: String,
}

impl PgCredentialStore {
    /// A store over `pool` (run [`crate::migrate`] first) that seals and opens with
    /// `sealer`.
    pub fn new(pool: PgPool, sealer: Arc<Sealer>) -> Self {
        let t = pool.schema().table("sealed_credentials");
        let sql = Sql {
            put: format!(
                "INSERT INTO {t} (tenant_id, credential_id, key_version, blob)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, credential_id) DO UPDATE
                 SET key_version = EXCLUDED.key_version, blob = EXCLUDED.blob, updated_at = now()"
            ),
            get: format!(
                "SELECT key_version, blob FROM {t} WHERE tenant_id = $1 AND credential_id = $2"
            ),
            delete: format!("DELETE FROM {t} WHERE tenant_id = $1 AND credential_id = $2"),
            page: format!(
                "SELECT blob_id, blob FROM {t}
                 WHERE $1::text IS NULL OR blob_id > $1::text COLLATE \"C\"
                 ORDER BY blob_id LIMIT $2"
            ),
            replace: format!(
                "WITH upd AS (
                     UPDATE {t} SET blob = $3, key_version = $4, updated_at = now()
                     WHERE tenant_id = $1 AND credential_id = $2 AND blob = $5
                     RETURNING 1)
                 SELECT (SELECT count(*) FROM upd),
                        EXISTS (SELECT 1 FROM {t} WHERE tenant_id = $1 AND credential_id = $2)"
            ),
        };
        Self { pool, sealer, sql }
    }

    /// Seals `plaintext` for `tenant` under [`credential_context`]`(id)` and stores it as
    /// credential `id` (replacing any previous value). The key version column is read
    /// from the sealed blob's header.
    ///
    /// # Errors
    ///
    /// Sealing errors of [`Sealer::seal`]; [`KeysError::Backend`] if the database fails
    /// (nothing written then).
    pub async fn put(
        &self,
        tenant: &TenantId,
        id: &CredentialId,
        plaintext: &[u8],
    ) -> Result<(), KeysError> {
        const OP: &str = "postgres.credentials.put";
        let blob = self
            .sealer
            .seal(tenant, &credential_context(id), plaintext)?;
        let blob = blob.as_slice();
        let version = version_i32(OP, portcullis_keys::inspect(blob)?.key_version)?;
        self.pool
            .run(OP, || async {
                let _: u64 = self
                    .pool
                    .single_statement(
                        OP,
                        Role::App,
                        Some(tenant),
                        &self.sql.put,
                        &[&tenant.as_str(), &id.as_str(), &version, &blob],
                    )
                    .await?;
                Ok(())
            })
            .await
    }

    /// Opens credential `id` of `tenant`, if stored, with the tenant and
    /// [`credential_context`]`(id)`.
    ///
    /// # Errors
    ///
    /// [`KeysError::Decrypt`] if the stored blob was not sealed for this tenant and id (for
    /// example copied from another row) or was altered; other opening errors of
    /// [`Sealer::open`] (unknown key version, malformed blob); [`KeysError::Backend`] if
    /// the database fails.
    pub async fn open(
        &self,
        tenant: &TenantId,
        id: &CredentialId,
    ) -> Result<Option<SecretBytes>, KeysError> {
        let Some(stored) = self.get(tenant, id).await? else {
            return Ok(None);
        };
        self.sealer
            .open(tenant, &credential_context(id), &stored.blob)
            .map(Some)
    }

    /// Credential `id` of `tenant` as stored (ciphertext), if present.
    ///
    /// # Errors
    ///
    /// [`KeysError::Backend`] if the database fails or the row does not decode.
    pub async fn get(
        &self,
        tenant: &TenantId,
        id: &CredentialId,
    ) -> Result<Option<StoredCredential>, KeysError> {
        const OP: &str = "postgres.credentials.get";
        self.pool
            .run(OP, || async {
                let row: Option<Row> = self
                    .pool
                    .single_statement(
                        OP,
                        Role::App,
                        Some(tenant),
                        &self.sql.get,
                        &[&tenant.as_str(), &id.as_str()],
                    )
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let q = |e| KeysError::Backend(error::db(OP, e));
                let version: i32 = row.try_get(0).map_err(q)?;
                Ok(Some(StoredCredential {
                    tenant: tenant.clone(),
                    id: id.clone(),
                    key_version: version_of(OP, version)?,
                    blob: row.try_get(1).map_err(q)?,
                }))
            })
            .await
    }

    /// Deletes credential `id` of `tenant`; `true` if it existed.
    ///
    /// # Errors
    ///
    /// [`KeysError::Backend`] if the database fails.
    pub async fn delete(&self, tenant: &TenantId, id: &CredentialId) -> Result<bool, KeysError> {
        const OP: &str = "postgres.credentials.delete";
        self.pool
            .run(OP, || async {
                let n: u64 = self
                    .pool
                    .single_statement(
                        OP,
                        Role::App,
                        Some(tenant),
                        &self.sql.delete,
                        &[&tenant.as_str(), &id.as_str()],
                    )
                    .await?;
                Ok(n > 0)
            })
            .await
    }
}

#[async_trait::async_trait]
impl BlobSource for PgCredentialStore {
    async fn page(
        &self,
        after: Option<&BlobId>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, KeysError> {
        // Contexts derive from the row's id, as on put and open: re-encryption opens a
        // copied blob with its new row's context and fails.
        blobs::page(
            &self.pool,
            "postgres.credentials.page",
            &self.sql.page,
            after,
            limit,
            |id| {
                let (tenant, cred) = split_blob_id(id).ok()?;
                Some((tenant, credential_context(&cred)))
            },
        )
        .await
    }
}

#[async_trait::async_trait]
impl BlobSink for PgCredentialStore {
    async fn replace(
        &self,
        id: &BlobId,
        expected: &[u8],
        new: &[u8],
    ) -> Result<ReplaceOutcome, KeysError> {
        let (tenant, cred) = split_blob_id(id)?;
        let op = "postgres.credentials.replace";
        blobs::replace(
            &self.pool,
            op,
            &self.sql.replace,
            &tenant,
            cred.as_str(),
            expected,
            new,
        )
        .await
    }
}

pub(crate) fn version_of(op: &'static str, v: i32) -> Result<KeyVersion, BackendError> {
    u32::try_from(v)
        .ok()
        .and_then(|v| KeyVersion::new(v).ok())
        .ok_or_else(|| corrupt(op, format!("bad key version {v}")))
}
