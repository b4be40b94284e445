//! Group commit: concurrent appends to one tenant from one [`PgAuditStore`] join one
//! transaction.
//!
//! Every append queues its request in its tenant's lane. The first request of an idle lane
//! makes its caller the lane's leader; the others wait. A leader runs one transaction for
//! its group: its own request, plus every request queued behind it once it holds the head
//! row lock (up to [`MAX_GROUP_ENTRIES`] entries, and never part of a request). When the
//! transaction ends, each member gets its outcome (its own receipts, or the group's error)
//! and the leadership passes to the first request still queued, whose caller then leads the
//! next group.
//!
//! Cancellation is handled by guards: a queued request whose caller goes away leaves the
//! queue; a promoted caller that goes away before leading passes the leadership on; a
//! leader that goes away mid-transaction fails every member of its group (the outcome is
//! unknown to it, as for any commit cut in flight) and passes the leadership on. No lane is
//! ever left without a leader while requests wait in it.
//!
//! The state is behind `std` mutexes (never held across an `await`; lock order: lanes,
//! then a group's members, then a slot). Nothing here panics; a poisoned mutex is entered anyway, since every
//! critical section leaves the state consistent before anything that could panic.
//!
//! [`PgAuditStore`]: super::PgAuditStore

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use portcullis_audit::{AppendReceipt, AuditError, PendingEntry};
use portcullis_core::{BackendError, BackendErrorKind, TenantId};

/// The most entries one group commit takes from its tenant's queue, counting the leader's
/// own request. A single request larger than this still commits, alone, in one group: a
/// request is never split.
pub const MAX_GROUP_ENTRIES: usize = 256;

/// What an append gets back.
pub(crate) type Outcome = Result<Vec<AppendReceipt>, AuditError>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One waiting append's mailbox.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The append's outcome, once its group finished.
    outcome: Option<Outcome>,
    /// The lane's leadership was handed to this append and not yet taken up.
    promoted: bool,
    waker: Option<Waker>,
}

impl Slot {
    fn deliver(&self, outcome: Outcome) {
        let waker = {
            let mut s = lock(&self.state);
            s.outcome = Some(outcome);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Called with the lanes locked.
    fn promote(&self) {
        let waker = {
            let mut s = lock(&self.state);
            s.promoted = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A queued append.
struct Request {
    batch: Vec<PendingEntry>,
    slot: Arc<Slot>,
}

/// One tenant's queue.
#[derive(Default)]
struct Lane {
    /// Some caller leads (or has been promoted to lead) this lane.
    led: bool,
    queue: VecDeque<Request>,
}

/// The lanes of one store (shared by its clones).
#[derive(Default)]
pub(crate) struct Committer {
    lanes: Mutex<HashMap<TenantId, Lane>>,
}

impl fmt::Debug for Committer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lanes = lock(&self.lanes);
        f.debug_struct("Committer")
            .field("busy_tenants", &lanes.len())
            .finish_non_exhaustive()
    }
}

/// What [`Ticket::wait`] resolves to.
pub(crate) enum Turn {
    /// The append's group finished.
    Done(Outcome),
    /// The caller leads the next group.
    Lead,
}

impl Committer {
    /// Queues `batch` for `tenant`. The ticket says whether the caller leads at once.
    pub(crate) fn enqueue(self: &Arc<Self>, tenant: &TenantId, batch: Vec<PendingEntry>) -> Ticket {
        let slot = Arc::new(Slot::default());
        let mut lanes = lock(&self.lanes);
        let lane = lanes.entry(tenant.clone()).or_default();
        lane.queue.push_back(Request {
            batch,
            slot: Arc::clone(&slot),
        });
        if !lane.led {
            lane.led = true;
            slot.promote();
        }
        Ticket {
            committer: Arc::clone(self),
            tenant: tenant.clone(),
            slot,
            leading: false,
        }
    }

    /// Appends queued for `tenant` that no group has taken yet.
    pub(crate) fn queued(&self, tenant: &TenantId) -> usize {
        lock(&self.lanes).get(tenant).map_or(0, |l| l.queue.len())
    }

    /// Passes `tenant`'s leadership to the first queued request, or marks the lane idle
    /// (and forgets it) if none is queued. Called with the lanes locked, by the leader.
    fn hand_off(lanes: &mut HashMap<TenantId, Lane>, tenant: &TenantId) {
        let Some(lane) = lanes.get_mut(tenant) else {
            return;
        };
        match lane.queue.front() {
            Some(next) => next.slot.promote(),
            None => {
                lanes.remove(tenant);
            }
        }
    }
}

/// A caller's place in its tenant's lane; dropping it before its turn came withdraws the
/// request (or passes on a leadership it was handed but never took up).
pub(crate) struct Ticket {
    committer: Arc<Committer>,
    tenant: TenantId,
    slot: Arc<Slot>,
    /// A [`Group`] owns the leadership now (and hands it off when it ends).
    leading: bool,
}

impl Ticket {
    /// Waits until the append's group has finished, or the caller is to lead.
    pub(crate) fn wait(&self) -> impl Future<Output = Turn> + Send + '_ {
        Wait { slot: &self.slot }
    }

    /// Takes up the leadership this ticket was handed ([`Turn::Lead`]): the returned
    /// group holds the caller's own request and hands the leadership on when dropped.
    pub(crate) fn lead(&mut self) -> Group<'_> {
        lock(&self.slot.state).promoted = false;
        self.leading = true;
        let group = Group {
            ticket: self,
            members: Mutex::new(Vec::new()),
        };
        // The caller's own request is the group's first member. (It is the front of the
        // queue: it was queued into an idle lane or promoted as the front, and only
        // leaders take from the front; it is looked up anyway.)
        {
            let mut lanes = lock(&group.ticket.committer.lanes);
            if let Some(lane) = lanes.get_mut(&group.ticket.tenant) {
                let own = &group.ticket.slot;
                if let Some(i) = lane.queue.iter().position(|r| Arc::ptr_eq(&r.slot, own)) {
                    if let Some(r) = lane.queue.remove(i) {
                        lock(&group.members).push(r);
                    }
                }
            }
        }
        group
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.leading {
            return; // the group handed off
        }
        let mut lanes = lock(&self.committer.lanes);
        let Some(lane) = lanes.get_mut(&self.tenant) else {
            return;
        };
        lane.queue.retain(|r| !Arc::ptr_eq(&r.slot, &self.slot));
        let promoted = lock(&self.slot.state).promoted;
        if promoted {
            Committer::hand_off(&mut lanes, &self.tenant);
        }
    }
}

struct Wait<'a> {
    slot: &'a Slot,
}

impl Future for Wait<'_> {
    type Output = Turn;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Turn> {
        let mut s = lock(&self.slot.state);
        if let Some(outcome) = s.outcome.take() {
            return Poll::Ready(Turn::Done(outcome));
        }
        if s.promoted {
            return Poll::Ready(Turn::Lead);
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The requests one leader commits together. Dropping it without [`finish`](Self::finish)
/// (the leader was cancelled) fails every member and hands the leadership on.
pub(crate) struct Group<'t> {
    ticket: &'t mut Ticket,
    members: Mutex<Vec<Request>>,
}

impl Group<'_> {
    /// Moves queued requests of the tenant into the group, front first, while the group
    /// stays within [`MAX_GROUP_ENTRIES`] (an empty group takes its first request whatever
    /// its size).
    pub(crate) fn take_more(&self) {
        let mut lanes = lock(&self.ticket.committer.lanes);
        let mut members = lock(&self.members);
        let Some(lane) = lanes.get_mut(&self.ticket.tenant) else {
            return;
        };
        let mut entries: usize = members.iter().map(|m| m.batch.len()).sum();
        while let Some(len) = lane.queue.front().map(|r| r.batch.len()) {
            if !members.is_empty() && entries.saturating_add(len) > MAX_GROUP_ENTRIES {
                break;
            }
            let Some(next) = lane.queue.pop_front() else {
                break;
            };
            entries = entries.saturating_add(len);
            members.push(next);
        }
    }

    /// Every member's entries, in member order.
    pub(crate) fn batch(&self) -> Vec<PendingEntry> {
        lock(&self.members)
            .iter()
            .flat_map(|m| m.batch.iter().cloned())
            .collect()
    }

    /// Gives each member its outcome: its own receipts from `result` (which covers
    /// [`batch`](Self::batch) in order), or the group's error. Then hands the leadership on
    /// and returns the leader's own outcome.
    pub(crate) fn finish(self, op: &'static str, result: Outcome) -> Outcome {
        let members = std::mem::take(&mut *lock(&self.members));
        let own = &self.ticket.slot;
        let mut mine = None;
        let mut give = |slot: &Arc<Slot>, outcome: Outcome| {
            if Arc::ptr_eq(slot, own) {
                mine = Some(outcome);
            } else {
                slot.deliver(outcome);
            }
        };
        match result {
            Err(e) if members.len() == 1 => {
                if let Some(m) = members.first() {
                    give(&m.slot, Err(e));
                }
            }
            Err(e) => {
                let shared = GroupCommitError::new(&members, e);
                for m in &members {
                    give(&m.slot, Err(shared.to_audit_error(op)));
                }
            }
            Ok(receipts)
                if receipts.len() == members.iter().map(|m| m.batch.len()).sum::<usize>() =>
            {
                let mut rest = receipts.into_iter();
                for m in &members {
                    give(&m.slot, Ok(rest.by_ref().take(m.batch.len()).collect()));
                }
            }
            Ok(_) => {
                let e = AuditError::Backend(crate::error::corrupt(
                    op,
                    "group commit returned the wrong number of receipts",
                ));
                let shared = GroupCommitError::new(&members, e);
                for m in &members {
                    give(&m.slot, Err(shared.to_audit_error(op)));
                }
            }
        }
        // `self` drops here: its members are empty, so it only hands the leadership on.
        mine.unwrap_or_else(|| {
            Err(AuditError::Backend(crate::error::corrupt(
                op,
                "group commit lost the leader's own append",
            )))
        })
    }
}

impl Drop for Group<'_> {
    fn drop(&mut self) {
        let members = std::mem::take(&mut *lock(&self.members));
        if !members.is_empty() {
            let cause =
                AuditError::Backend(BackendError::new(BackendErrorKind::Timeout, OP, LeaderGone));
            let shared = GroupCommitError::new(&members, cause);
            for m in &members {
                m.slot.deliver(Err(shared.to_audit_error(OP)));
            }
        }
        let mut lanes = lock(&self.ticket.committer.lanes);
        Committer::hand_off(&mut lanes, &self.ticket.tenant);
    }
}

const OP: &str = "postgres.audit.append";

/// The append leading a group commit was cancelled (its caller's deadline passed, or its
/// future was dropped) before the group's outcome was known.
#[derive(Debug, thiserror::Error)]
#[error(
    "the append leading this group commit was cancelled before its outcome was known; \
     the group's entries may or may not have been committed (read the head)"
)]
struct LeaderGone;

/// Why an append that shared a group commit with others failed: the group's transaction
/// failed, so none of its entries was committed (or, if the cause is a timeout or a lost
/// connection during `COMMIT`, all or none of them were, as for any commit cut in flight).
///
/// Every append of a failed group of two or more gets an
/// [`AuditError::Backend`] whose [`BackendError::kind`] is the cause's kind (or
/// [`BackendErrorKind::Other`] if the cause was not a backend error) and whose
/// [`source`](std::error::Error::source) is this error; all of them share the one
/// [`cause`](Self::cause). A group of one returns its cause unwrapped.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "a group commit of {appends} audit appends ({entries} entries) failed; none of it was committed"
)]
#[non_exhaustive]
pub struct GroupCommitError {
    /// Appends in the group.
    pub appends: usize,
    /// Entries in the group.
    pub entries: usize,
    #[source]
    cause: Arc<AuditError>,
}

impl GroupCommitError {
    fn new(members: &[Request], cause: AuditError) -> Self {
        Self {
            appends: members.len(),
            entries: members.iter().map(|m| m.batch.len()).sum(),
            cause: Arc::new(cause),
        }
    }

    /// The failure of the group's transaction, shared by every append of the group.
    pub fn cause(&self) -> &AuditError {
        &self.cause
    }

    fn to_audit_error(&self, op: &'static str) -> AuditError {
        let kind = match &*self.cause {
            AuditError::Backend(b) => b.kind(),
            _ => BackendErrorKind::Other,
        };
        AuditError::Backend(BackendError::new(kind, op, self.clone()))
    }
}
