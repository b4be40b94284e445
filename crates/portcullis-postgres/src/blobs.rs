//! The re-encryption walk shared by the two sealed tables (`credentials`,
//! `sealed_secrets`): a page of `(blob_id, blob)` rows in bytewise `blob_id` order, and the
//! compare-and-swap of one row's blob, both as the schema's rotator role.

use portcullis_core::{BackendError, TenantId};
use portcullis_keys::{BlobId, KeyVersion, KeysError, ReplaceOutcome, StoredBlob};
use tokio_postgres::Row;

use crate::error::{self, corrupt};
use crate::pool::{PgPool, Role};

/// Runs `sql` (parameters: the last id seen or NULL, the page size; columns: `blob_id`,
/// `blob`) and makes each row a [`StoredBlob`]. `locate` gives a row id's tenant and AEAD
/// context, derived from the id as on put and open, so a blob copied to another row fails to
/// open; `None` means the stored id is malformed.
pub(crate) async fn page<F>(
    pool: &PgPool,
    op: &'static str,
    sql: &str,
    after: Option<&BlobId>,
    limit: usize,
    locate: F,
) -> Result<Vec<StoredBlob>, KeysError>
where
    F: Fn(&BlobId) -> Option<(TenantId, Vec<u8>)> + Sync,
{
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let after = after.map(BlobId::as_str);
    pool.run(op, || async {
        let rows: Vec<Row> = pool
            .single_statement(op, Role::Rotator, None, sql, &[&after, &limit])
            .await?;
        let q = |e| KeysError::Backend(error::db(op, e));
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0).map_err(q)?;
            let id = BlobId::new(id).map_err(|_| corrupt(op, "bad blob id"))?;
            let (tenant, context) = locate(&id).ok_or_else(|| corrupt(op, "bad blob id"))?;
            out.push(StoredBlob {
                id,
                tenant,
                salt: None,
                context,
                blob: row.try_get(1).map_err(q)?,
            });
        }
        Ok(out)
    })
    .await
}

/// Runs `sql` (parameters: tenant, row key, new blob, its key version, expected blob;
/// columns: rows updated, whether the row exists) to swap one row's blob if it still holds
/// `expected`.
pub(crate) async fn replace(
    pool: &PgPool,
    op: &'static str,
    sql: &str,
    tenant: &TenantId,
    key: &str,
    expected: &[u8],
    new: &[u8],
) -> Result<ReplaceOutcome, KeysError> {
    let version = version_i32(op, portcullis_keys::inspect(new)?.key_version)?;
    pool.run(op, || async {
        let row: Row = pool
            .single_statement(
                op,
                Role::Rotator,
                None,
                sql,
                &[&tenant.as_str(), &key, &new, &version, &expected],
            )
            .await?;
        let q = |e| KeysError::Backend(error::db(op, e));
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

/// A key version as the `key_version` column holds it.
pub(crate) fn version_i32(op: &'static str, v: KeyVersion) -> Result<i32, BackendError> {
    i32::try_from(v.get()).map_err(|_| corrupt(op, "key version exceeds integer"))
}
