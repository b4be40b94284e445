//! Streaming, resumable, idempotent re-encryption of stored blobs under the primary key.

use std::fmt;

use async_trait::async_trait;
use portcullis_core::TenantId;
use serde::{Deserialize, Serialize};

use crate::KeysError;
use crate::derive::TenantSalt;
use crate::sealer::Sealer;

/// The identifier of a stored blob (a row id, `table:column:pk`, ...): 1-512 bytes.
/// Sources list blobs in ascending byte order of this id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobId(String);

impl BlobId {
    /// Validates an id.
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] if empty or longer than 512 bytes.
    pub fn new(id: impl Into<String>) -> Result<Self, KeysError> {
        let id = id.into();
        if id.is_empty() || id.len() > 512 {
            return Err(KeysError::InvalidInput {
                what: "blob id",
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

impl TryFrom<String> for BlobId {
    type Error = KeysError;
    fn try_from(s: String) -> Result<Self, KeysError> {
        Self::new(s)
    }
}

impl From<BlobId> for String {
    fn from(id: BlobId) -> String {
        id.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stored sealed blob with what is needed to open it.
#[derive(Clone, Debug)]
pub struct StoredBlob {
    /// Its id.
    pub id: BlobId,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// The tenant's crypto-shredding salt, if the blob was sealed with one.
    pub salt: Option<TenantSalt>,
    /// The context it was sealed with.
    pub context: Vec<u8>,
    /// The sealed blob.
    pub blob: Vec<u8>,
}

/// Where re-encryption reads blobs from (a table scan, in pages).
#[async_trait]
pub trait BlobSource: Send + Sync + fmt::Debug {
    /// Up to `limit` blobs whose id is greater than `after` (all if `None`), in ascending
    /// id order. An empty page means the end.
    ///
    /// # Errors
    /// [`KeysError::Backend`] if the store fails.
    async fn page(
        &self,
        after: Option<&BlobId>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, KeysError>;
}

/// What happened to one compare-and-swap write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReplaceOutcome {
    /// The stored value equalled `expected` and is now `new`.
    Replaced,
    /// The stored value changed meanwhile (a concurrent write); nothing was written.
    Changed,
    /// The blob no longer exists; nothing was written.
    Missing,
}

/// Where re-encryption writes: one atomic compare-and-swap per blob (a single `UPDATE ...
/// WHERE id = $1 AND blob = $2`, or a Lua script), so the old value stays until the new
/// one is durably written and a concurrent update is never overwritten.
#[async_trait]
pub trait BlobSink: Send + Sync + fmt::Debug {
    /// Replaces blob `id` with `new` if and only if it still equals `expected`.
    ///
    /// # Errors
    /// [`KeysError::Backend`] if the store fails (the stored value must then be unchanged
    /// or fully replaced, never partial).
    async fn replace(
        &self,
        id: &BlobId,
        expected: &[u8],
        new: &[u8],
    ) -> Result<ReplaceOutcome, KeysError>;
}

/// Options of [`Sealer::reencrypt_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReencryptOptions {
    /// Blobs fetched per page. Default 500.
    pub page_size: usize,
    /// Resume after this id (the `cursor` of an earlier report).
    pub resume_after: Option<BlobId>,
    /// Stop after scanning this many blobs (for throttled runs); `None` = to the end.
    pub max_blobs: Option<u64>,
}

impl Default for ReencryptOptions {
    fn default() -> Self {
        Self {
            page_size: 500,
            resume_after: None,
            max_blobs: None,
        }
    }
}

/// Counts from a re-encryption run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReencryptReport {
    /// Blobs read.
    pub scanned: u64,
    /// Blobs re-sealed under the primary and written.
    pub reencrypted: u64,
    /// Blobs already under the primary (left alone).
    pub already_current: u64,
    /// Blobs changed or deleted concurrently (left alone; re-run to pick them up).
    pub conflicts: u64,
    /// Blobs that could not be opened (left alone), with the reason.
    pub failed: Vec<(BlobId, String)>,
    /// The last id processed; pass it as `resume_after` to continue.
    pub cursor: Option<BlobId>,
    /// Whether the source was read to the end.
    pub complete: bool,
}

/// A run stopped by a source or sink error; the report says how far it got.
#[derive(Debug, thiserror::Error)]
#[error("re-encryption interrupted after {} blobs: {error}", report.scanned)]
pub struct ReencryptInterrupted {
    /// Progress up to the error; `cursor` is the last blob fully handled.
    pub report: ReencryptReport,
    /// The error.
    #[source]
    pub error: KeysError,
}

impl Sealer {
    /// Re-encrypts every blob of `source` that is not under the primary version, writing
    /// through `sink` with compare-and-swap.
    ///
    /// Resumable (pass the report's `cursor` as `resume_after`) and idempotent (blobs
    /// already under the primary are skipped). A blob is never lost: its old value stays
    /// until the sink atomically replaces it, and a blob that fails to open is left as is
    /// and listed in `failed`.
    ///
    /// # Errors
    /// [`ReencryptInterrupted`] when the source or sink fails or sealing is refused.
    pub async fn reencrypt_all(
        &self,
        source: &dyn BlobSource,
        sink: &dyn BlobSink,
        options: ReencryptOptions,
    ) -> Result<ReencryptReport, ReencryptInterrupted> {
        let mut report = ReencryptReport {
            cursor: options.resume_after.clone(),
            ..ReencryptReport::default()
        };
        let page_size = options.page_size.max(1);
        loop {
            let page = match source.page(report.cursor.as_ref(), page_size).await {
                Ok(page) => page,
                Err(error) => return Err(ReencryptInterrupted { report, error }),
            };
            if page.is_empty() {
                report.complete = true;
                return Ok(report);
            }
            for stored in page {
                if report.cursor.as_ref().is_some_and(|c| stored.id <= *c) {
                    return Err(ReencryptInterrupted {
                        report,
                        error: KeysError::SourceCursorStuck,
                    });
                }
                if options.max_blobs.is_some_and(|max| report.scanned >= max) {
                    return Ok(report);
                }
                if let Err(error) = self.reencrypt_one(sink, &stored, &mut report).await {
                    return Err(ReencryptInterrupted { report, error });
                }
                report.scanned = report.scanned.saturating_add(1);
                report.cursor = Some(stored.id);
            }
        }
    }

    async fn reencrypt_one(
        &self,
        sink: &dyn BlobSink,
        stored: &StoredBlob,
        report: &mut ReencryptReport,
    ) -> Result<(), KeysError> {
        let outcome = self.reencrypt(
            &stored.tenant,
            stored.salt.as_ref(),
            &stored.context,
            &stored.blob,
        );
        let new = match outcome {
            Ok(r) if !r.changed => {
                report.already_current = report.already_current.saturating_add(1);
                return Ok(());
            }
            Ok(r) => r.blob,
            Err(e @ KeysError::SealLimitReached(_)) | Err(e @ KeysError::Random(_)) => {
                return Err(e);
            }
            Err(e) => {
                report.failed.push((stored.id.clone(), e.to_string()));
                return Ok(());
            }
        };
        match sink.replace(&stored.id, &stored.blob, &new).await? {
            ReplaceOutcome::Replaced => {
                report.reencrypted = report.reencrypted.saturating_add(1);
            }
            ReplaceOutcome::Changed | ReplaceOutcome::Missing => {
                report.conflicts = report.conflicts.saturating_add(1);
            }
        }
        Ok(())
    }
}
