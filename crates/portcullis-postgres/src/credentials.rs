//! [`PgCredentialStore`]: sealed credentials (portcullis-keys blobs) per tenant, and the
//! [`BlobSource`]/[`BlobSink`] that let [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all)
//! run over the table.

use std::fmt;

use portcullis_core::{BackendError, TenantId};
use portcullis_keys::{
    BlobId, BlobSink, BlobSource, KeyVersion, KeysError, ReplaceOutcome, StoredBlob,
};

use crate::error::{self, corrupt};
use crate::pool::{APP_ROLE, PgPool, ROTATOR_ROLE};

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

/// One stored credential (ciphertext only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its id.
    pub id: CredentialId,
    /// The context it was sealed with.
    pub context: Vec<u8>,
    /// The master key version named in its header.
    pub key_version: KeyVersion,
    /// The sealed blob.
    pub blob: Vec<u8>,
}

/// Sealed credentials in `sealed_credentials`: `(tenant_id, credential_id, context,
/// key_version, blob)`, no plaintext column. Tenant-scoped operations run as
/// `portcullis_app` under row-level security; the [`BlobSource`]/[`BlobSink`] impls,
/// which walk every tenant for re-encryption, run as `portcullis_rotator`, which may read
/// rows and swap `blob`/`key_version` only.
#[derive(Debug, Clone)]
pub struct PgCredentialStore {
    pool: PgPool,
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
    /// A store over `pool` (run [`crate::migrate`] first).
    pub fn new(pool: PgPool) -> Self {
        let t = pool.schema().table("sealed_credentials");
        let sql = Sql {
            put: format!(
                "INSERT INTO {t} (tenant_id, credential_id, context, key_version, blob)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, credential_id) DO UPDATE
                 SET context = EXCLUDED.context, key_version = EXCLUDED.key_version,
                     blob = EXCLUDED.blob, updated_at = now()"
            ),
            get: format!(
                "SELECT context, key_version, blob FROM {t} WHERE tenant_id = $1 AND credential_id = $2"
            ),
            delete: format!("DELETE FROM {t} WHERE tenant_id = $1 AND credential_id = $2"),
            page: format!(
                "SELECT blob_id, context, blob FROM {t}
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
        Self { pool, sql }
    }

    /// Stores (or replaces) credential `id` of `tenant`: `blob` sealed by
    /// [`Sealer::seal`](portcullis_keys::Sealer::seal) with `context`. The key version
    /// column is read from the blob's header.
    ///
    /// # Errors
    ///
    /// [`KeysError::Truncated`]/[`KeysError::UnknownFormat`] if `blob` is not a sealed
    /// blob; [`KeysError::Backend`] if the database fails (nothing written then).
    pub async fn put(
        &self,
        tenant: &TenantId,
        id: &CredentialId,
        context: &[u8],
        blob: &[u8],
    ) -> Result<(), KeysError> {
        const OP: &str = "postgres.credentials.put";
        let version = version_i32(OP, portcullis_keys::inspect(blob)?.key_version)?;
        self.pool
            .run(OP, || async {
                let mut client = self.pool.get(OP).await?;
                let tx = self
                    .pool
                    .begin(&mut client, OP, APP_ROLE, Some(tenant))
                    .await?;
                tx.execute(
                    &tx.prepare_cached(&self.sql.put)
                        .await
                        .map_err(|e| error::db(OP, e))?,
                    &[&tenant.as_str(), &id.as_str(), &context, &version, &blob],
                )
                .await
                .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
                Ok(())
            })
            .await
    }

    /// Credential `id` of `tenant`, if stored.
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
                let mut client = self.pool.get(OP).await?;
                let tx = self
                    .pool
                    .begin(&mut client, OP, APP_ROLE, Some(tenant))
                    .await?;
                let row = tx
                    .query_opt(
                        &tx.prepare_cached(&self.sql.get)
                            .await
                            .map_err(|e| error::db(OP, e))?,
                        &[&tenant.as_str(), &id.as_str()],
                    )
                    .await
                    .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
                let Some(row) = row else { return Ok(None) };
                let q = |e| KeysError::Backend(error::db(OP, e));
                let version: i32 = row.try_get(1).map_err(q)?;
                Ok(Some(StoredCredential {
                    tenant: tenant.clone(),
                    id: id.clone(),
                    context: row.try_get(0).map_err(q)?,
                    key_version: version_of(OP, version)?,
                    blob: row.try_get(2).map_err(q)?,
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
                let mut client = self.pool.get(OP).await?;
                let tx = self
                    .pool
                    .begin(&mut client, OP, APP_ROLE, Some(tenant))
                    .await?;
                let n = tx
                    .execute(
                        &tx.prepare_cached(&self.sql.delete)
                            .await
                            .map_err(|e| error::db(OP, e))?,
                        &[&tenant.as_str(), &id.as_str()],
                    )
                    .await
                    .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
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
        const OP: &str = "postgres.credentials.page";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.map(BlobId::as_str);
        self.pool
            .run(OP, || async {
                let mut client = self.pool.get(OP).await?;
                let tx = self.pool.begin(&mut client, OP, ROTATOR_ROLE, None).await?;
                let rows = tx
                    .query(
                        &tx.prepare_cached(&self.sql.page)
                            .await
                            .map_err(|e| error::db(OP, e))?,
                        &[&after, &limit],
                    )
                    .await
                    .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
                let q = |e| KeysError::Backend(error::db(OP, e));
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let id: String = row.try_get(0).map_err(q)?;
                    let id = BlobId::new(id).map_err(|_| corrupt(OP, "bad blob id"))?;
                    let (tenant, _) = split_blob_id(&id).map_err(|_| corrupt(OP, "bad blob id"))?;
                    out.push(StoredBlob {
                        id,
                        tenant,
                        salt: None,
                        context: row.try_get(1).map_err(q)?,
                        blob: row.try_get(2).map_err(q)?,
                    });
                }
                Ok(out)
            })
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
        const OP: &str = "postgres.credentials.replace";
        let (tenant, cred) = split_blob_id(id)?;
        let version = version_i32(OP, portcullis_keys::inspect(new)?.key_version)?;
        self.pool
            .run(OP, || async {
                let mut client = self.pool.get(OP).await?;
                let tx = self.pool.begin(&mut client, OP, ROTATOR_ROLE, None).await?;
                let row = tx
                    .query_one(
                        &tx.prepare_cached(&self.sql.replace)
                            .await
                            .map_err(|e| error::db(OP, e))?,
                        &[&tenant.as_str(), &cred.as_str(), &new, &version, &expected],
                    )
                    .await
                    .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
                let q = |e| KeysError::Backend(error::db(OP, e));
                let updated: i64 = row.try_get(0).map_err(q)?;
                let exists: bool = row.try_get(1).map_err(q)?;
                Ok(match (updated, exists) {
                    (1, _) => ReplaceOutcome::Replaced,
                    (_, true) => ReplaceOutcome::Changed,
                    (_, false) => ReplaceOutcome::Missing,
                })
            })
            .await
    }
}

pub(crate) fn version_i32(op: &'static str, v: KeyVersion) -> Result<i32, BackendError> {
    i32::try_from(v.get()).map_err(|_| corrupt(op, "key version exceeds integer"))
}

pub(crate) fn version_of(op: &'static str, v: i32) -> Result<KeyVersion, BackendError> {
    u32::try_from(v)
        .ok()
        .and_then(|v| KeyVersion::new(v).ok())
        .ok_or_else(|| corrupt(op, format!("bad key version {v}")))
}
