//! Append-only file [`AuditStore`]: one JSON line per entry, fsync on every append.
//!
//! Layout: in the store's directory, `<tenant>.jsonl` holds the tenant's entries (line `n`
//! is seq `n - 1`), `<tenant>.checkpoints.jsonl` its signed checkpoints as
//! `{"size":N,"note":"..."}` lines. A batch is written with one `write` and one
//! `fsync`. On first use of a tenant the file is read and its chain verified; an
//! incomplete or unparsable last line (a write torn by a crash) is reported as
//! [`AuditError::TornWrite`] on every operation for that tenant until an operator
//! repairs the file: it is never silently dropped or accepted.
//!
//! One process may write a directory at a time: appends are serialized per tenant inside
//! the process, and an append that finds the file changed by someone else fails with a
//! `Conflict` backend error instead of forking the chain (the check is not a lock; run one
//! writer per directory).
//!
//! The I/O is blocking (`std::fs`) inside the async methods: this store suits the CLI,
//! tests and small single-process deployments. The synchronous `*_blocking` methods do the
//! same work without an executor.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use portcullis_core::{BackendError, BackendErrorKind, TenantId};
use serde::{Deserialize, Serialize};

use super::{AppendReceipt, AuditStore, PendingEntry, StoredCheckpoint, range_check, seal_batch};
use crate::chain::{ChainHead, ChainVerifier};
use crate::entry::Entry;
use crate::error::AuditError;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    size: u64,
    note: String,
}

#[derive(Debug)]
struct TenantFile {
    head: ChainHead,
    file: File,
    /// The file length after our last write: a different length means another writer.
    len: u64,
}

/// A directory of append-only JSON-lines files, one per tenant.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    tenants: Mutex<HashMap<TenantId, Arc<Mutex<TenantFile>>>>,
}

fn io_err(op: &'static str, e: std::io::Error) -> AuditError {
    AuditError::Backend(BackendError::unavailable(op, e))
}

fn lock_err(op: &'static str) -> AuditError {
    AuditError::Backend(BackendError::other(op, "lock poisoned"))
}

/// Lines of a JSON-lines file, checking that the last one is complete.
fn complete_lines<'a>(content: &'a str, path: &Path) -> Result<Vec<&'a str>, AuditError> {
    if content.is_empty() {
        return Ok(Vec::new());
    }
    let lines: Vec<&str> = content.split_terminator('\n').collect();
    if !content.ends_with('\n') {
        return Err(AuditError::TornWrite {
            path: path.display().to_string(),
            line: lines.len() as u64,
        });
    }
    Ok(lines)
}

fn read_to_string(path: &Path, op: &'static str) -> Result<String, AuditError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|e| AuditError::Backend(BackendError::corrupt(op, e)))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(io_err(op, e)),
    }
}

/// Reads and parses a log file strictly: a torn last line is [`AuditError::TornWrite`], an
/// unparsable line in the middle is a backend `Corrupt` error naming the line.
///
/// # Errors
///
/// As above, and [`AuditError::Backend`] if the file cannot be read.
pub(crate) fn read_entries(path: &Path) -> Result<Vec<Entry>, AuditError> {
    let content = read_to_string(path, "audit.read")?;
    let lines = complete_lines(&content, path)?;
    let n = lines.len();
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            Entry::from_json_line(line).map_err(|e| {
                if i + 1 == n {
                    AuditError::TornWrite {
                        path: path.display().to_string(),
                        line: n as u64,
                    }
                } else {
                    AuditError::Backend(BackendError::corrupt(
                        "audit.read",
                        format!("line {} of `{}`: {e}", i + 1, path.display()),
                    ))
                }
            })
        })
        .collect()
}

impl FileStore {
    /// A store in `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] if the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, AuditError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| io_err("audit.open", e))?;
        Ok(Self {
            dir,
            tenants: Mutex::new(HashMap::new()),
        })
    }

    /// The entries file of `tenant`.
    pub fn log_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.jsonl"))
    }

    /// The checkpoints file of `tenant`.
    pub fn checkpoint_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.checkpoints.jsonl"))
    }

    fn tenant(&self, tenant: &TenantId) -> Result<Arc<Mutex<TenantFile>>, AuditError> {
        let mut map = self.tenants.lock().map_err(|_| lock_err("audit.open"))?;
        if let Some(t) = map.get(tenant) {
            return Ok(Arc::clone(t));
        }
        let path = self.log_path(tenant);
        let entries = read_entries(&path)?;
        let mut v = ChainVerifier::new(tenant.clone());
        for e in &entries {
            v.push(e)
                .map_err(|err| AuditError::Backend(BackendError::corrupt("audit.open", err)))?;
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err("audit.open", e))?;
        if !existed {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_err("audit.open", e))?;
        }
        let len = file.metadata().map_err(|e| io_err("audit.open", e))?.len();
        let t = Arc::new(Mutex::new(TenantFile {
            head: v.head(),
            file,
            len,
        }));
        map.insert(tenant.clone(), Arc::clone(&t));
        Ok(t)
    }

    fn forget(&self, tenant: &TenantId) {
        if let Ok(mut map) = self.tenants.lock() {
            map.remove(tenant);
        }
    }

    /// [`AuditStore::append`] without an executor.
    ///
    /// # Errors
    ///
    /// As [`AuditStore::append`].
    pub fn append_blocking(
        &self,
        tenant: &TenantId,
        batch: Vec<PendingEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        let t = self.tenant(tenant)?;
        let mut t = t.lock().map_err(|_| lock_err("audit.append"))?;
        let sealed = seal_batch(tenant, t.head, batch)?;
        let mut buf = String::new();
        for e in &sealed {
            buf.push_str(&e.to_json_line()?);
            buf.push('\n');
        }
        let current = t
            .file
            .metadata()
            .map_err(|e| io_err("audit.append", e))?
            .len();
        if current != t.len {
            // Another process appended behind our back: refuse rather than fork the chain.
            drop(t);
            self.forget(tenant);
            return Err(AuditError::Backend(BackendError::new(
                BackendErrorKind::Conflict,
                "audit.append",
                "the log file was changed by another writer",
            )));
        }
        let written = t
            .file
            .write_all(buf.as_bytes())
            .and_then(|()| t.file.sync_data());
        if let Err(e) = written {
            // The file may now end in a partial line: reload (and report) on next use.
            drop(t);
            self.forget(tenant);
            return Err(io_err("audit.append", e));
        }
        let receipts: Vec<AppendReceipt> = sealed
            .iter()
            .map(|e| AppendReceipt {
                seq: e.seq(),
                hash: *e.hash(),
            })
            .collect();
        t.len = t.len.saturating_add(buf.len() as u64);
        if let Some(last) = sealed.last() {
            t.head = ChainHead {
                size: last.seq().saturating_add(1),
                hash: *last.hash(),
            };
        }
        Ok(receipts)
    }

    /// [`AuditStore::read`] without an executor.
    ///
    /// # Errors
    ///
    /// As [`AuditStore::read`].
    pub fn read_blocking(
        &self,
        tenant: &TenantId,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, AuditError> {
        let t = self.tenant(tenant)?;
        let _guard = t.lock().map_err(|_| lock_err("audit.read"))?;
        let entries = read_entries(&self.log_path(tenant))?;
        let (s, e) = range_check(start, end, entries.len() as u64)?;
        Ok(entries.get(s..e).unwrap_or_default().to_vec())
    }

    /// [`AuditStore::head`] without an executor.
    ///
    /// # Errors
    ///
    /// As [`AuditStore::head`].
    pub fn head_blocking(&self, tenant: &TenantId) -> Result<ChainHead, AuditError> {
        let t = self.tenant(tenant)?;
        let guard: MutexGuard<'_, TenantFile> = t.lock().map_err(|_| lock_err("audit.head"))?;
        Ok(guard.head)
    }

    fn read_checkpoints(&self, tenant: &TenantId) -> Result<Vec<StoredCheckpoint>, AuditError> {
        let path = self.checkpoint_path(tenant);
        let content = read_to_string(&path, "audit.checkpoints")?;
        complete_lines(&content, &path)?
            .into_iter()
            .map(|l| {
                serde_json::from_str::<CheckpointLine>(l)
                    .map(|c| StoredCheckpoint {
                        size: c.size,
                        note: c.note,
                    })
                    .map_err(|e| AuditError::Backend(BackendError::corrupt("audit.checkpoints", e)))
            })
            .collect()
    }

    /// [`AuditStore::store_checkpoint`] without an executor.
    ///
    /// # Errors
    ///
    /// As [`AuditStore::store_checkpoint`].
    pub fn store_checkpoint_blocking(
        &self,
        tenant: &TenantId,
        size: u64,
        note: &str,
    ) -> Result<(), AuditError> {
        let t = self.tenant(tenant)?;
        let guard = t.lock().map_err(|_| lock_err("audit.store_checkpoint"))?;
        if size > guard.head.size {
            return Err(AuditError::OutOfRange {
                start: size,
                end: size,
                size: guard.head.size,
            });
        }
        if let Some(last) = self.read_checkpoints(tenant)?.last() {
            if size < last.size {
                return Err(AuditError::CheckpointRegression {
                    stored: last.size,
                    new: size,
                });
            }
        }
        let line = serde_json::to_string(&CheckpointLine {
            size,
            note: note.to_owned(),
        })
        .map_err(|e| AuditError::Backend(BackendError::other("audit.store_checkpoint", e)))?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.checkpoint_path(tenant))
            .map_err(|e| io_err("audit.store_checkpoint", e))?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|e| io_err("audit.store_checkpoint", e))?;
        Ok(())
    }

    /// [`AuditStore::latest_checkpoint`] without an executor.
    ///
    /// # Errors
    ///
    /// As [`AuditStore::latest_checkpoint`].
    pub fn latest_checkpoint_blocking(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<StoredCheckpoint>, AuditError> {
        Ok(self.read_checkpoints(tenant)?.pop())
    }
}

#[async_trait::async_trait]
impl AuditStore for FileStore {
    async fn append(
        &self,
        tenant: &TenantId,
        batch: Vec<PendingEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        self.append_blocking(tenant, batch)
    }
    async fn read(
        &self,
        tenant: &TenantId,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, AuditError> {
        self.read_blocking(tenant, start, end)
    }
    async fn head(&self, tenant: &TenantId) -> Result<ChainHead, AuditError> {
        self.head_blocking(tenant)
    }
    async fn store_checkpoint(
        &self,
        tenant: &TenantId,
        size: u64,
        note: &str,
    ) -> Result<(), AuditError> {
        self.store_checkpoint_blocking(tenant, size, note)
    }
    async fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<StoredCheckpoint>, AuditError> {
        self.latest_checkpoint_blocking(tenant)
    }
}
