//! [`PgSecretSource`]: runtime secrets for portcullis-keys'
//! [`SecretResolver`](portcullis_keys::SecretResolver), stored sealed, and the
//! [`BlobSource`]/[`BlobSink`] that let
//! [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all) run over the table.

use std::sync::Arc;

use portcullis_core::{SecretString, TenantId};
use portcullis_keys::{
    BlobId, BlobSink, BlobSource, KeysError, ReplaceOutcome, Sealer, SecretName, SecretSource,
    StoredBlob,
};

use crate::blobs;
use crate::blobs::version_i32;
use crate::error::{self, corrupt};
use crate::pool::{PgPool, Role};

/// Secrets in `sealed_secrets`, sealed with a [`Sealer`] under one deployment tenant and
/// the context `portcullis-postgres/secret:<name>`, so a blob moved to another name or
/// tenant fails to open. The table never holds plaintext.
///
/// Its [`BlobSource`]/[`BlobSink`] impls walk the whole table, every tenant's secrets,
/// not just this source's tenant: they run as the schema's rotator role
/// ([`SchemaName::rotator_role`](crate::SchemaName::rotator_role)), which may read rows
/// and swap `blob`/`key_version` only. The re-encryption [`BlobId`] of a secret is
/// `<tenant>/<name>`, ordered bytewise. Pass the [`Sealer`] the secrets were sealed
/// with to [`Sealer::reencrypt_all`](portcullis_keys::Sealer::reencrypt_all).
#[derive(Debug, Clone)]
pub struct PgSecretSource {
    pool: PgPool,
    sealer: Arc<Sealer>,
    tenant: TenantId,
    upsert: String,
    select: String,
    page: String,
    replace: String,
}

impl PgSecretSource {
    /// A source over `pool`, sealing under `tenant` (for example `deployment`).
    pub fn new(pool: PgPool, sealer: Arc<Sealer>, tenant: TenantId) -> Self {
        let t = pool.schema().table("sealed_secrets");
        Self {
            upsert: format!(
                "INSERT INTO {t} (tenant_id, name, key_version, blob) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, name) DO UPDATE
                 SET key_version = EXCLUDED.key_version, blob = EXCLUDED.blob, updated_at = now()"
            ),
            select: format!("SELECT blob FROM {t} WHERE tenant_id = $1 AND name = $2"),
            page: format!(
                "SELECT blob_id, blob FROM {t}
                 WHERE $1::text IS NULL OR blob_id > $1::text COLLATE \"C\"
                 ORDER BY blob_id LIMIT $2"
            ),
            replace: format!(
                "WITH upd AS (
                     UPDATE {t} SET blob = $3, key_version = $4, updated_at = now()
                     WHERE tenant_id = $1 AND name = $2 AND blob = $5
                     RETURNING 1)
                 SELECT (SELECT count(*) FROM upd),
                        EXISTS (SELECT 1 FROM {t} WHERE tenant_id = $1 AND name = $2)"
            ),
            pool,
            sealer,
            tenant,
        }
    }

    /// The AEAD context of secret `name`: `portcullis-postgres/secret:<name>`.
    fn context(name: &SecretName) -> Vec<u8> {
        format!("portcullis-postgres/secret:{}", name.as_str()).into_bytes()
    }

    /// Seals `value` and stores it as `name` (replacing any previous value).
    ///
    /// # Errors
    ///
    /// Sealing errors of [`Sealer::seal`]; [`KeysError::Backend`] if the database fails.
    pub async fn put(&self, name: &SecretName, value: &SecretString) -> Result<(), KeysError> {
        const OP: &str = "postgres.secrets.put";
        let blob = self.sealer.seal(
            &self.tenant,
            &Self::context(name),
            value.expose_secret().as_bytes(),
        )?;
        let version = version_i32(OP, portcullis_keys::inspect(&blob)?.key_version)?;
        self.pool
            .run(OP, || async {
                let mut client = self.pool.get(OP).await?;
                let tx = self
                    .pool
                    .begin(&mut client, OP, Role::App, Some(&self.tenant))
                    .await?;
                tx.execute(
                    &tx.prepare_cached(&self.upsert)
                        .await
                        .map_err(|e| error::db(OP, e))?,
                    &[&self.tenant.as_str(), &name.as_str(), &version, &blob],
                )
                .await
                .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
                Ok(())
            })
            .await
    }
}

#[async_trait::async_trait]
impl SecretSource for PgSecretSource {
    async fn fetch(&self, name: &SecretName) -> Result<Option<SecretString>, KeysError> {
        const OP: &str = "postgres.secrets.fetch";
        let blob: Option<Vec<u8>> = self
            .pool
            .run(OP, || async {
                let mut client = self.pool.get(OP).await?;
                let tx = self
                    .pool
                    .begin(&mut client, OP, Role::App, Some(&self.tenant))
                    .await?;
                let row = tx
                    .query_opt(
                        &tx.prepare_cached(&self.select)
                            .await
                            .map_err(|e| error::db(OP, e))?,
                        &[&self.tenant.as_str(), &name.as_str()],
                    )
                    .await
                    .map_err(|e| error::db(OP, e))?;
                tx.commit().await.map_err(|e| error::db(OP, e))?;
                match row {
                    Some(row) => {
                        Ok::<_, KeysError>(Some(row.try_get(0).map_err(|e| error::db(OP, e))?))
                    }
                    None => Ok(None),
                }
            })
            .await?;
        let Some(blob) = blob else { return Ok(None) };
        let plain = self
            .sealer
            .open(&self.tenant, &Self::context(name), &blob)?;
        let text = std::str::from_utf8(plain.expose_secret())
            .map_err(|_| corrupt(OP, "secret is not UTF-8"))?;
        Ok(Some(SecretString::new(text.to_owned())))
    }
}

/// Splits a secret's re-encryption id, `<tenant>/<name>`, at its first `/` (tenant ids
/// hold none; names may).
fn split_blob_id(id: &BlobId) -> Result<(TenantId, SecretName), KeysError> {
    let bad = || KeysError::InvalidInput {
        what: "secret blob id",
        value: id.as_str().to_owned(),
    };
    let (tenant, name) = id.as_str().split_once('/').ok_or_else(bad)?;
    let tenant = TenantId::new(tenant).map_err(|_| bad())?;
    let name = SecretName::new(name).map_err(|_| bad())?;
    Ok((tenant, name))
}

#[async_trait::async_trait]
impl BlobSource for PgSecretSource {
    async fn page(
        &self,
        after: Option<&BlobId>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, KeysError> {
        // Derived from the row's name, as on put and fetch.
        blobs::page(
            &self.pool,
            "postgres.secrets.page",
            &self.page,
            after,
            limit,
            |id| {
                let (tenant, name) = split_blob_id(id).ok()?;
                Some((tenant, Self::context(&name)))
            },
        )
        .await
    }
}

#[async_trait::async_trait]
impl BlobSink for PgSecretSource {
    async fn replace(
        &self,
        id: &BlobId,
        expected: &[u8],
        new: &[u8],
    ) -> Result<ReplaceOutcome, KeysError> {
        let (tenant, name) = split_blob_id(id)?;
        let op = "postgres.secrets.replace";
        blobs::replace(
            &self.pool,
            op,
            &self.replace,
            &tenant,
            name.as_str(),
            expected,
            new,
        )
        .await
    }
}
