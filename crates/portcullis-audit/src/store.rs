//! The storage seam: [`AuditStore`] and its in-memory and file implementations.

mod file;
mod memory;

pub use file::FileStore;
pub use memory::MemoryStore;

use std::fmt::Debug;

use portcullis_core::{TenantId, UnixTime};

use crate::chain::ChainHead;
use crate::entry::{Entry, NewEntry};
use crate::error::AuditError;
use crate::hash::Hash;

/// An entry waiting to be sealed: redacted content and the time the log assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// When it happened (from the log's [`portcullis_core::Clock`]).
    pub time: UnixTime,
    /// The redacted content.
    pub body: NewEntry,
}

/// What an append returns for each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// The entry's seq.
    pub seq: u64,
    /// The entry's hash.
    pub hash: Hash,
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size it commits to.
    pub size: u64,
    /// The signed note.
    pub note: String,
}

/// Seals `batch` after `head` with [`Entry::seal`]: the one way every backend turns pending
/// entries into chained entries (seq `head.size`, `head.size + 1`, ...).
///
/// # Errors
///
/// [`AuditError::InvalidField`] if the batch is empty or the seq would overflow.
pub fn seal_batch(
    tenant: &TenantId,
    head: ChainHead,
    batch: Vec<PendingEntry>,
) -> Result<Vec<Entry>, AuditError> {
    if batch.is_empty() {
        return Err(AuditError::field("batch", "must not be empty"));
    }
    let mut out = Vec::with_capacity(batch.len());
    let (mut seq, mut prev) = (head.size, head.hash);
    for p in batch {
        let e = Entry::seal(tenant.clone(), seq, prev, p.time, p.body);
        prev = *e.hash();
        seq = seq
            .checked_add(1)
            .ok_or_else(|| AuditError::field("seq", "overflow"))?;
        out.push(e);
    }
    Ok(out)
}

/// Durable, append-only storage of every tenant's chain and checkpoints.
///
/// Each method is one atomic operation. A PostgreSQL backend implements
/// [`append`](AuditStore::append) in one transaction: `SELECT size, hash FROM audit_head
/// WHERE tenant = $1 FOR UPDATE` (inserting the genesis row if absent), [`seal_batch`],
/// `INSERT` the entries (with a unique `(tenant, seq)` key), `UPDATE` the head, `COMMIT`.
/// Concurrent appenders therefore serialize on the head row and never fork the chain.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync + Debug {
    /// Atomically appends `batch` (non-empty) to `tenant`'s chain: assigns consecutive seqs
    /// after the current head and links each entry to its predecessor, all or nothing.
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] (nothing appended), [`AuditError::TornWrite`] for a damaged
    /// file, [`AuditError::InvalidField`] for an empty batch.
    async fn append(
        &self,
        tenant: &TenantId,
        batch: Vec<PendingEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError>;

    /// Entries with `start <= seq < end` in seq order; `end` is clamped to the log size.
    ///
    /// # Errors
    ///
    /// [`AuditError::OutOfRange`] if `start` is above the log size or `start > end`;
    /// [`AuditError::Backend`].
    async fn read(&self, tenant: &TenantId, start: u64, end: u64)
    -> Result<Vec<Entry>, AuditError>;

    /// The current head (size and last hash) of `tenant`'s chain.
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`].
    async fn head(&self, tenant: &TenantId) -> Result<ChainHead, AuditError>;

    /// Stores a signed checkpoint of `tenant` at `size`.
    ///
    /// # Errors
    ///
    /// [`AuditError::CheckpointRegression`] if `size` is below the latest stored size;
    /// [`AuditError::OutOfRange`] if `size` is above the log size; [`AuditError::Backend`].
    async fn store_checkpoint(
        &self,
        tenant: &TenantId,
        size: u64,
        note: &str,
    ) -> Result<(), AuditError>;

    /// The latest (largest) stored checkpoint of `tenant`, if any.
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`].
    async fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<StoredCheckpoint>, AuditError>;
}

pub(crate) fn range_check(start: u64, end: u64, size: u64) -> Result<(usize, usize), AuditError> {
    let end_c = end.min(size);
    if start > size || start > end {
        return Err(AuditError::OutOfRange { start, end, size });
    }
    let s = usize::try_from(start).map_err(|_| AuditError::OutOfRange { start, end, size })?;
    let e = usize::try_from(end_c).map_err(|_| AuditError::OutOfRange { start, end, size })?;
    Ok((s, e))
}
