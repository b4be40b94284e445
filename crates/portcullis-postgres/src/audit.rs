//! [`PgAuditStore`]: the append-only audit log in PostgreSQL.

mod group;

use std::sync::Arc;

use portcullis_audit::{
    AppendReceipt, AuditError, AuditStore, ChainHead, Entry, Hash, PendingEntry, StoredCheckpoint,
    seal_batch,
};
use portcullis_core::{BackendError, TenantId};
use tokio_postgres::Row;

use crate::error::{self, AuditIntegrityError, corrupt};
use crate::pool::{PgPool, Pipelined, Role};

use group::{Committer, Group, Turn};
pub use group::{GroupCommitError, MAX_GROUP_ENTRIES};

/// The audit store: `audit_heads`, `audit_entries` and `audit_checkpoints` in the pool's
/// schema, accessed as the schema's application role ([`SchemaName::app_role`](crate::SchemaName::app_role)) with row-level security scoped to one tenant per
/// transaction.
///
/// Appends are group-committed: concurrent appends to one tenant through one store (and
/// its clones) queue in the store, and one of them, the leader, commits a group of them in
/// one transaction: lock the tenant's head row (`SELECT ... FOR UPDATE`, created on first
/// use with `INSERT ... ON CONFLICT DO NOTHING`), take every append queued meanwhile (up to
/// [`MAX_GROUP_ENTRIES`] entries; a request is never split), seal them after the head in
/// queue order with [`seal_batch`] (exactly the chain that appending them one by one would
/// give), insert every entry and move the head in one statement, commit once. Each append
/// gets its own receipts; if the transaction fails, every append of the group fails with the
/// same error (a [`GroupCommitError`] as the source, for a group of two or more) and none of
/// the group is committed. Tenants have separate queues and never wait on each other here.
/// [`queued_appends`](Self::queued_appends) shows a tenant's queue.
///
/// A caller whose deadline passes while queued leaves the queue and nothing of its append is
/// written; once its append is in a running group's transaction, its outcome is the group's
/// (an error to the caller either way, as for any commit cut in flight: read the head).
/// Appenders in other processes or other stores serialize with a group on the head row lock.
/// `UNIQUE (tenant_id, seq)`
/// backs it up, and the consistency triggers of migration 4 refuse, at commit, any
/// transaction that leaves an entry beyond the head, a head not naming its last entry or
/// a checkpoint beyond the head (SQLSTATE `PC001`, `PC002`, `PC003`; kind
/// [`Corrupt`](portcullis_core::BackendErrorKind::Corrupt) here).
///
/// Every [`read`](AuditStore::read) first checks, in one statement, that the tables agree
/// with the head (the same three rules), and fails with an
/// [`AuditIntegrityError`](crate::AuditIntegrityError) as the source of a corrupt
/// [`BackendError`] if not. With [`verify_chain`](portcullis_audit::verify_chain) over the
/// entries (what [`AuditLog::verify`](portcullis_audit::AuditLog::verify) runs) this means
/// a passing verify recomputed exactly the stored head.
#[derive(Debug, Clone)]
pub struct PgAuditStore {
    pool: PgPool,
    sql: Sql,
    committer: Arc<Committer>,
}

#[derive(Debug, Clone)]
struct Sql {
    lock_head: String,
    create_head: String,
    read_head: String,
    checked_head: String,
    append: String,
    read: String,
    latest_checkpoint: String,
    insert_checkpoint: String,
}

impl PgAuditStore {
    /// A store over `pool` (run [`crate::migrate`] first).
    pub fn new(pool: PgPool) -> Self {
        let s = pool.schema();
        let (heads, entries, cps) = (
            s.table("audit_heads"),
            s.table("audit_entries"),
            s.table("audit_checkpoints"),
        );
        let sql = Sql {
            lock_head: format!(
                "SELECT size, head_hash FROM {heads} WHERE tenant_id = $1 FOR UPDATE"
            ),
            create_head: format!(
                "INSERT INTO {heads} (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING"
            ),
            read_head: format!("SELECT size, head_hash FROM {heads} WHERE tenant_id = $1"),
            // One statement, so one snapshot: the head and what the tables hold around it.
            checked_head: format!(
                "SELECT h.size, h.head_hash,
                        (SELECT min(e.seq) FROM {entries} e
                         WHERE e.tenant_id = $1 AND e.seq >= coalesce(h.size, 0)),
                        (SELECT e.entry_hash FROM {entries} e
                         WHERE e.tenant_id = $1 AND e.seq = h.size - 1),
                        (SELECT max(c.size) FROM {cps} c WHERE c.tenant_id = $1)
                 FROM (VALUES (1)) AS one (x) LEFT JOIN {heads} h ON h.tenant_id = $1"
            ),
            append: format!(
                "WITH ins AS (
                     INSERT INTO {entries}
                         (tenant_id, seq, prev_hash, entry_hash, time_ms, actor, action, resource, record)
                     SELECT $1, * FROM unnest($2::int8[], $3::bytea[], $4::bytea[], $5::int8[],
                                              $6::text[], $7::text[], $8::text[], $9::text[])
                     RETURNING 1)
                 , upd AS (
                     UPDATE {heads} SET size = $10, head_hash = $11
                     WHERE tenant_id = $1 AND size = $12 AND (SELECT count(*) FROM ins) = $13
                     RETURNING 1)
                 SELECT 1 / (SELECT count(*) FROM upd)::int4"
            ),
            read: format!(
                "SELECT record FROM {entries} WHERE tenant_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq"
            ),
            latest_checkpoint: format!(
                "SELECT size, note FROM {cps} WHERE tenant_id = $1 ORDER BY size DESC, stored_at DESC LIMIT 1"
            ),
            insert_checkpoint: format!(
                "INSERT INTO {cps} (tenant_id, size, note) VALUES ($1, $2, $3)"
            ),
        };
        Self {
            pool,
            sql,
            committer: Arc::default(),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How many appends to `tenant` wait in this store's group-commit queue (not yet taken
    /// into a group's transaction). Shared by the store's clones; other stores and other
    /// processes have their own queues.
    pub fn queued_appends(&self, tenant: &TenantId) -> usize {
        self.committer.queued(tenant)
    }

    /// One append: queue, then either receive the outcome from the group's leader or
    /// lead a group.
    async fn append_grouped(
        &self,
        tenant: &TenantId,
        batch: Vec<PendingEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        let mut ticket = self.committer.enqueue(tenant, batch);
        if let Turn::Done(outcome) = ticket.wait().await {
            return outcome;
        }
        let group = ticket.lead();
        let result = self
            .pool
            .run(APPEND, || self.append_group(tenant, &group))
            .await;
        group.finish(APPEND, result)
    }

    /// One group's transaction: lock the head, take every queued append that fits, seal
    /// them all after the head in queue order, insert them and move the head in one
    /// statement, commit.
    async fn append_group(
        &self,
        tenant: &TenantId,
        group: &Group<'_>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        const OP: &str = APPEND;
        // Round trip 1: BEGIN, the session setup and the head lock.
        let (tx, head) = Pipelined::begin_then::<Option<Row>>(
            &self.pool,
            OP,
            tenant,
            &self.sql.lock_head,
            &[&tenant.as_str()],
        )
        .await?;
        let row = match head {
            Some(row) => row,
            None => {
                // The tenant's first append: create its head, then lock it.
                tx.fetch::<u64>(OP, &self.sql.create_head, &[&tenant.as_str()])
                    .await?;
                tx.fetch::<Row>(OP, &self.sql.lock_head, &[&tenant.as_str()])
                    .await?
            }
        };
        let head = head_of(OP, &row)?;
        // Appends that queued while this transaction began and waited for the lock join it.
        group.take_more();
        let entries = seal_batch(tenant, head, group.batch())?;
        let n = entries.len();
        let mut seqs = Vec::with_capacity(n);
        let mut prevs = Vec::with_capacity(n);
        let mut hashes = Vec::with_capacity(n);
        let mut times = Vec::with_capacity(n);
        let mut actors = Vec::with_capacity(n);
        let mut actions = Vec::with_capacity(n);
        let mut resources = Vec::with_capacity(n);
        let mut records = Vec::with_capacity(n);
        let mut receipts = Vec::with_capacity(n);
        for e in &entries {
            seqs.push(to_i64(OP, e.seq())?);
            prevs.push(e.prev().as_bytes().to_vec());
            hashes.push(e.hash().as_bytes().to_vec());
            times.push(to_i64(OP, e.time().as_millis())?);
            actors.push(e.body().actor().as_str().to_owned());
            actions.push(e.body().action().to_owned());
            resources.push(e.body().resource().to_owned());
            records.push(e.to_json_line()?);
            receipts.push(AppendReceipt {
                seq: e.seq(),
                hash: *e.hash(),
            });
        }
        let Some(last) = entries.last() else {
            return Err(corrupt(OP, "empty sealed batch").into());
        };
        let new_size = to_i64(OP, last.seq().saturating_add(1))?;
        let old_size = to_i64(OP, head.size)?;
        let count = to_i64(OP, n as u64)?;
        // Round trip 2: the inserts with the head move, and COMMIT. The statement fails
        // (division by zero, SQLSTATE 22012) unless it moved the head, so a head that
        // moved under our lock rolls everything back rather than committing entries.
        let moved = tx
            .run_and_commit::<Row>(
                OP,
                &self.sql.append,
                &[
                    &tenant.as_str(),
                    &seqs,
                    &prevs,
                    &hashes,
                    &times,
                    &actors,
                    &actions,
                    &resources,
                    &records,
                    &new_size,
                    &last.hash().as_bytes().as_slice(),
                    &old_size,
                    &count,
                ],
            )
            .await;
        match moved {
            Ok(_) => Ok(receipts),
            Err(e)
                if error::sqlstate(&e)
                    == Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO) =>
            {
                // The head moved under a lock we hold: something outside this store wrote.
                Err(BackendError::new(
                    portcullis_core::BackendErrorKind::Conflict,
                    OP,
                    error::corrupt(OP, "audit head changed during append"),
                )
                .into())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn read_inner(
        &self,
        tenant: &TenantId,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, AuditError> {
        const OP: &str = "postgres.audit.read";
        let mut client = self.pool.get(OP).await?;
        let tx = self.pool.begin_tenant(&mut client, OP, tenant).await?;
        let row: Row = self
            .pool
            .fetch(&tx, OP, &self.sql.checked_head, &[&tenant.as_str()])
            .await?;
        let size = checked_head(OP, &row)?.size;
        if start > size || start > end {
            return Err(AuditError::OutOfRange { start, end, size });
        }
        let end_c = end.min(size);
        let rows: Vec<Row> = self
            .pool
            .fetch(
                &tx,
                OP,
                &self.sql.read,
                &[&tenant.as_str(), &to_i64(OP, start)?, &to_i64(OP, end_c)?],
            )
            .await?;
        self.pool.commit(tx, OP).await?;
        let q = |e| AuditError::Backend(error::db(OP, e));
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let record: String = row.try_get(0).map_err(q)?;
            // A row that does not parse is reported, never skipped: verification then
            // sees the gap. Content checks (hashes, links) are verify_chain's job.
            let entry = Entry::from_json_line(&record).map_err(|e| BackendError::corrupt(OP, e))?;
            out.push(entry);
        }
        Ok(out)
    }

    async fn head_inner(&self, tenant: &TenantId) -> Result<ChainHead, AuditError> {
        const OP: &str = "postgres.audit.head";
        let row: Option<Row> = self
            .pool
            .single_statement(
                OP,
                Role::App,
                Some(tenant),
                &self.sql.read_head,
                &[&tenant.as_str()],
            )
            .await?;
        head_or_genesis(OP, row.as_ref())
    }

    async fn store_checkpoint_inner(
        &self,
        tenant: &TenantId,
        size: u64,
        note: &str,
    ) -> Result<(), AuditError> {
        const OP: &str = "postgres.audit.store_checkpoint";
        let mut client = self.pool.get(OP).await?;
        let tx = self.pool.begin_tenant(&mut client, OP, tenant).await?;
        // Locking the head serializes checkpoint writers of the tenant (and appends), so
        // the regression check below cannot race.
        let row: Option<Row> = self
            .pool
            .fetch(&tx, OP, &self.sql.lock_head, &[&tenant.as_str()])
            .await?;
        let log_size = head_or_genesis(OP, row.as_ref())?.size;
        if size > log_size {
            return Err(AuditError::OutOfRange {
                start: size,
                end: size,
                size: log_size,
            });
        }
        if let Some(row) = self
            .pool
            .fetch::<Option<Row>>(&tx, OP, &self.sql.latest_checkpoint, &[&tenant.as_str()])
            .await?
        {
            let stored = from_i64(OP, row.try_get(0).map_err(|e| error::db(OP, e))?)?;
            if size < stored {
                return Err(AuditError::CheckpointRegression { stored, new: size });
            }
        }
        self.pool
            .fetch::<u64>(
                &tx,
                OP,
                &self.sql.insert_checkpoint,
                &[&tenant.as_str(), &to_i64(OP, size)?, &note],
            )
            .await?;
        self.pool.commit(tx, OP).await?;
        Ok(())
    }

    async fn latest_checkpoint_inner(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<StoredCheckpoint>, AuditError> {
        const OP: &str = "postgres.audit.latest_checkpoint";
        let row: Option<Row> = self
            .pool
            .single_statement(
                OP,
                Role::App,
                Some(tenant),
                &self.sql.latest_checkpoint,
                &[&tenant.as_str()],
            )
            .await?;
        let q = |e| AuditError::Backend(error::db(OP, e));
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(StoredCheckpoint {
                size: from_i64(OP, row.try_get(0).map_err(q)?)?,
                note: row.try_get(1).map_err(q)?,
            })),
        }
    }
}

#[async_trait::async_trait]
impl AuditStore for PgAuditStore {
    async fn append(
        &self,
        tenant: &TenantId,
        batch: Vec<PendingEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        if batch.is_empty() {
            // The audit crate's own refusal, before any round trip.
            return seal_batch(tenant, ChainHead::GENESIS, batch).map(|_| Vec::new());
        }
        self.pool
            .deadline(APPEND, self.append_grouped(tenant, batch))
            .await
    }

    async fn read(
        &self,
        tenant: &TenantId,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, AuditError> {
        self.pool
            .run("postgres.audit.read", || {
                self.read_inner(tenant, start, end)
            })
            .await
    }

    async fn head(&self, tenant: &TenantId) -> Result<ChainHead, AuditError> {
        self.pool
            .run("postgres.audit.head", || self.head_inner(tenant))
            .await
    }

    async fn store_checkpoint(
        &self,
        tenant: &TenantId,
        size: u64,
        note: &str,
    ) -> Result<(), AuditError> {
        self.pool
            .run("postgres.audit.store_checkpoint", || {
                self.store_checkpoint_inner(tenant, size, note)
            })
            .await
    }

    async fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<StoredCheckpoint>, AuditError> {
        self.pool
            .run("postgres.audit.latest_checkpoint", || {
                self.latest_checkpoint_inner(tenant)
            })
            .await
    }
}

const APPEND: &str = "postgres.audit.append";

/// The head in a `checked_head` row, after checking that the tables agree with it: no
/// entry at or beyond its size, its hash that of the entry at `size - 1` (or zero for
/// size 0), no checkpoint above it.
fn checked_head(op: &'static str, row: &Row) -> Result<ChainHead, AuditError> {
    let q = |e| AuditError::Backend(error::db(op, e));
    let size: Option<i64> = row.try_get(0).map_err(q)?;
    let head = match size {
        Some(_) => head_of(op, row)?,
        None => ChainHead::GENESIS,
    };
    let fail = |e: AuditIntegrityError| AuditError::Backend(BackendError::corrupt(op, e));
    if let Some(seq) = row.try_get::<_, Option<i64>>(2).map_err(q)? {
        return Err(fail(AuditIntegrityError::EntryBeyondHead {
            seq: from_i64(op, seq)?,
            head_size: head.size,
        }));
    }
    let last: Option<Vec<u8>> = row.try_get(3).map_err(q)?;
    let names_last = match last {
        Some(last) => last.as_slice() == head.hash.as_bytes().as_slice(),
        None => head.size == 0 && head.hash == Hash::ZERO,
    };
    if !names_last {
        return Err(fail(AuditIntegrityError::HeadMismatch {
            head_size: head.size,
        }));
    }
    if let Some(cp) = row.try_get::<_, Option<i64>>(4).map_err(q)? {
        let checkpoint_size = from_i64(op, cp)?;
        if checkpoint_size > head.size {
            return Err(fail(AuditIntegrityError::CheckpointBeyondHead {
                checkpoint_size,
                head_size: head.size,
            }));
        }
    }
    Ok(head)
}

/// The head in `row`, or the genesis head (size 0) if the tenant has no head row yet.
fn head_or_genesis(op: &'static str, row: Option<&Row>) -> Result<ChainHead, AuditError> {
    match row {
        Some(row) => head_of(op, row),
        None => Ok(ChainHead::GENESIS),
    }
}

fn head_of(op: &'static str, row: &Row) -> Result<ChainHead, AuditError> {
    let size: i64 = row.try_get(0).map_err(|e| error::db(op, e))?;
    let hash: Vec<u8> = row.try_get(1).map_err(|e| error::db(op, e))?;
    let hash = Hash::from_slice(&hash).map_err(|_| corrupt(op, "head hash is not 32 bytes"))?;
    Ok(ChainHead {
        size: from_i64(op, size)?,
        hash,
    })
}

pub(crate) fn to_i64(op: &'static str, v: u64) -> Result<i64, BackendError> {
    i64::try_from(v).map_err(|_| corrupt(op, format!("{v} exceeds bigint")))
}

pub(crate) fn from_i64(op: &'static str, v: i64) -> Result<u64, BackendError> {
    u64::try_from(v).map_err(|_| corrupt(op, format!("negative value {v}")))
}
