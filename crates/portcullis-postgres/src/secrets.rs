//! [`PgSecretSource`]: runtime secrets for portcullis-keys'
//! [`SecretResolver`](portcullis_keys::SecretResolver), stored sealed.

use std::sync::Arc;

use portcullis_core::{SecretString, TenantId};
use portcullis_keys::{KeysError, Sealer, SecretName, SecretSource};

use crate::credentials::version_i32;
use crate::error::{self, corrupt};
use crate::pool::{PgPool, Role};

/// Secrets in `sealed_secrets`, sealed with a [`Sealer`] under one deployment tenant and
/// the context `portcullis-postgres/secret:<name>`, so a blob moved to another name or
/// tenant fails to open. The table never holds plaintext.
#[derive(Debug, Clone)]
pub struct PgSecretSource {
    pool: PgPool,
    sealer: Arc<Sealer>,
    tenant: TenantId,
    upsert: String,
    select: String,
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
            pool,
            sealer,
            tenant,
        }
    }

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
