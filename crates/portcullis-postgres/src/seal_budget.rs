//! The shared random-nonce budget of portcullis-keys in PostgreSQL.

use async_trait::async_trait;
use portcullis_keys::{KeyVersion, KeysError, Purpose, SealBudgetStore};
use tokio_postgres::Row;

use crate::PgPool;
use crate::blobs::version_i32;
use crate::error;
use crate::pool::Role;

/// Reserved seals per (purpose, master key version) in `seal_budget`, shared by every
/// process on the database: each reservation is one `INSERT … ON CONFLICT DO UPDATE`
/// that raises the total by at most the request and never past the limit, under the
/// row's lock, so concurrent reservations never overlap and the total only grows.
/// Runs as the schema's application role; no tenant row is involved.
#[derive(Debug, Clone)]
pub struct PgSealBudgetStore {
    pool: PgPool,
    reserve: String,
    reserved: String,
}

/// Requests and limits are clamped to 2^62 so the sum stays in a `bigint`.
const MAX: u64 = 1 << 62;

fn big(n: u64) -> i64 {
    i64::try_from(n.min(MAX)).unwrap_or(i64::MAX)
}

impl PgSealBudgetStore {
    /// A store over `pool` (run [`crate::migrate`] first).
    pub fn new(pool: PgPool) -> Self {
        let t = pool.schema().table("seal_budget");
        Self {
            reserve: format!(
                "INSERT INTO {t} AS b (purpose, key_version, reserved, last_grant)
                 VALUES ($1, $2, LEAST($3::bigint, $4::bigint), LEAST($3::bigint, $4::bigint))
                 ON CONFLICT (purpose, key_version) DO UPDATE
                 SET reserved = GREATEST(b.reserved, LEAST(b.reserved + $3::bigint, $4::bigint)),
                     last_grant = GREATEST(b.reserved, LEAST(b.reserved + $3::bigint, $4::bigint))
                                  - b.reserved,
                     updated_at = now()
                 RETURNING last_grant"
            ),
            reserved: format!("SELECT reserved FROM {t} WHERE purpose = $1 AND key_version = $2"),
            pool,
        }
    }
}

#[async_trait]
impl SealBudgetStore for PgSealBudgetStore {
    async fn reserve(
        &self,
        purpose: &Purpose,
        version: KeyVersion,
        want: u64,
        limit: u64,
    ) -> Result<u64, KeysError> {
        const OP: &str = "postgres.seal_budget.reserve";
        let v = version_i32(OP, version)?;
        let (want, limit) = (big(want), big(limit));
        self.pool
            .run(OP, || async {
                let row: Row = self
                    .pool
                    .single_statement(
                        OP,
                        Role::App,
                        None,
                        &self.reserve,
                        &[&purpose.as_str(), &v, &want, &limit],
                    )
                    .await?;
                let granted: i64 = row
                    .try_get(0)
                    .map_err(|e| KeysError::Backend(error::db(OP, e)))?;
                Ok(u64::try_from(granted).unwrap_or(0))
            })
            .await
    }

    async fn reserved(&self, purpose: &Purpose, version: KeyVersion) -> Result<u64, KeysError> {
        const OP: &str = "postgres.seal_budget.reserved";
        let v = version_i32(OP, version)?;
        self.pool
            .run(OP, || async {
                let row: Option<Row> = self
                    .pool
                    .single_statement(
                        OP,
                        Role::App,
                        None,
                        &self.reserved,
                        &[&purpose.as_str(), &v],
                    )
                    .await?;
                let Some(row) = row else { return Ok(0) };
                let total: i64 = row
                    .try_get(0)
                    .map_err(|e| KeysError::Backend(error::db(OP, e)))?;
                Ok(u64::try_from(total).unwrap_or(0))
            })
            .await
    }
}
