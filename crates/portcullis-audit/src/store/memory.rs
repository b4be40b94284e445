//! In-memory [`AuditStore`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use portcullis_core::{BackendError, TenantId};

use super::{AppendReceipt, AuditStore, PendingEntry, StoredCheckpoint, range_check, seal_batch};
use crate::chain::ChainHead;
use crate::entry::Entry;
use crate::error::AuditError;

#[derive(Debug, Default)]
struct TenantLog {
    entries: Vec<Entry>,
    checkpoints: Vec<StoredCheckpoint>,
}

impl TenantLog {
    fn head(&self) -> ChainHead {
        self.entries
            .last()
            .map_or(ChainHead::GENESIS, |e| ChainHead {
                size: e.seq().saturating_add(1),
                hash: *e.hash(),
            })
    }
}

/// An in-memory store: one mutex over all tenants, each append a single critical section.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: Mutex<HashMap<TenantId, TenantLog>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(
        &self,
        op: &'static str,
    ) -> Result<MutexGuard<'_, HashMap<TenantId, TenantLog>>, AuditError> {
        self.tenants
            .lock()
            .map_err(|_| AuditError::Backend(BackendError::other(op, "lock poisoned")))
    }
}

#[async_trait::async_trait]
impl AuditStore for MemoryStore {
    async fn append(
        &self,
        tenant: &TenantId,
        batch: Vec<PendingEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        let mut map = self.lock("audit.append")?;
        let log = map.entry(tenant.clone()).or_default();
        let sealed = seal_batch(tenant, log.head(), batch)?;
        let receipts = sealed
            .iter()
            .map(|e| AppendReceipt {
                seq: e.seq(),
                hash: *e.hash(),
            })
            .collect();
        log.entries.extend(sealed);
        Ok(receipts)
    }

    async fn read(
        &self,
        tenant: &TenantId,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, AuditError> {
        let map = self.lock("audit.read")?;
        let entries = map.get(tenant).map_or(&[][..], |l| &l.entries[..]);
        let (s, e) = range_check(start, end, entries.len() as u64)?;
        Ok(entries.get(s..e).unwrap_or_default().to_vec())
    }

    async fn head(&self, tenant: &TenantId) -> Result<ChainHead, AuditError> {
        Ok(self
            .lock("audit.head")?
            .get(tenant)
            .map_or(ChainHead::GENESIS, TenantLog::head))
    }

    async fn store_checkpoint(
        &self,
        tenant: &TenantId,
        size: u64,
        note: &str,
    ) -> Result<(), AuditError> {
        let mut map = self.lock("audit.store_checkpoint")?;
        let log = map.entry(tenant.clone()).or_default();
        let log_size = log.head().size;
        if size > log_size {
            return Err(AuditError::OutOfRange {
                start: size,
                end: size,
                size: log_size,
            });
        }
        if let Some(last) = log.checkpoints.last() {
            if size < last.size {
                return Err(AuditError::CheckpointRegression {
                    stored: last.size,
                    new: size,
                });
            }
        }
        log.checkpoints.push(StoredCheckpoint {
            size,
            note: note.to_owned(),
        });
        Ok(())
    }

    async fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<StoredCheckpoint>, AuditError> {
        Ok(self
            .lock("audit.latest_checkpoint")?
            .get(tenant)
            .and_then(|l| l.checkpoints.last().cloned()))
    }
}
