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
//! The queues are behind one `std` mutex (never held across an `await`; lock order: lanes,
//! then a group's members). Each queued append waits on a `tokio::sync::oneshot` channel
//! that receives exactly one message: the leadership, or its group's outcome. Nothing here
//! panics; a poisoned mutex is entered anyway, since every critical section leaves the
//! state consistent before anything that could panic.
//!
//! [`PgAuditStore`]: super::PgAuditStore

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use portcullis_audit::{AppendReceipt, AuditError, PendingEntry};
use portcullis_core::{BackendError, BackendErrorKind, TenantId};
use tokio::sync::oneshot;

/// The most entries one group commit takes from its tenant's queue, counting the leader's
/// own request. A single request larger than this still commits, alone, in one group: a
/// request is never split.
pub const MAX_GROUP_ENTRIES: usize = 256;

/// What an append gets back.
pub(crate) type Outcome = Result<Vec<AppendReceipt>, AuditError>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The one message a queued append receives.
enum Message {
    /// The append's group finished.
    Done(Outcome),
    /// The lane's leadership was handed to this append.
    Lead,
}

/// A queued append.
struct Request {
    /// Its ticket's number within the committer.
    id: u64,
    batch: Vec<PendingEntry>,
    /// Taken when its one message is sent.
    reply: Option<oneshot::Sender<Message>>,
}

impl Request {
    fn send(&mut self, message: Message) {
        if let Some(reply) = self.reply.take() {
            // A ticket that went away no longer listens; nothing is owed to it.
            let _ = reply.send(message);
        }
    }
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
    next_id: AtomicU64,
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
    /// Queues `batch` for `tenant`. The ticket's [`wait`](Ticket::wait) says whether the
    /// caller leads.
    pub(crate) fn enqueue(self: &Arc<Self>, tenant: &TenantId, batch: Vec<PendingEntry>) -> Ticket {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, inbox) = oneshot::channel();
        let mut request = Request {
            id,
            batch,
            reply: Some(reply),
        };
        let mut lanes = lock(&self.lanes);
        let lane = lanes.entry(tenant.clone()).or_default();
        if !lane.led {
            lane.led = true;
            request.send(Message::Lead);
        }
        lane.queue.push_back(request);
        Ticket {
            committer: Arc::clone(self),
            tenant: tenant.clone(),
            id,
            inbox,
            promoted: false,
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
        match lane.queue.front_mut() {
            Some(next) => next.send(Message::Lead),
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
    id: u64,
    inbox: oneshot::Receiver<Message>,
    /// [`wait`](Self::wait) returned [`Turn::Lead`].
    promoted: bool,
    /// A [`Group`] owns the leadership now (and hands it off when it ends).
    leading: bool,
}

impl Ticket {
    /// Waits until the append's group has finished, or the caller is to lead.
    pub(crate) async fn wait(&mut self) -> Turn {
        match (&mut self.inbox).await {
            Ok(Message::Done(outcome)) => Turn::Done(outcome),
            Ok(Message::Lead) => {
                self.promoted = true;
                Turn::Lead
            }
            // Every request is answered before its sender is dropped, except one taken into
            // a group whose leader then went away without answering: impossible, since a
            // group answers every member when it drops. Said anyway, never a panic.
            Err(_) => Turn::Done(Err(AuditError::Backend(crate::error::corrupt(
                OP,
                "group commit dropped a queued append unanswered",
            )))),
        }
    }

    /// Takes up the leadership this ticket was handed ([`Turn::Lead`]): the returned
    /// group holds the caller's own request and hands the leadership on when dropped.
    pub(crate) fn lead(&mut self) -> Group<'_> {
        self.promoted = false;
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
                let own = group.ticket.id;
                if let Some(i) = lane.queue.iter().position(|r| r.id == own) {
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
        lane.queue.retain(|r| r.id != self.id);
        // Promotions are sent with the lanes locked, so none can arrive after this check.
        let promoted = self.promoted || matches!(self.inbox.try_recv(), Ok(Message::Lead));
        if promoted {
            Committer::hand_off(&mut lanes, &self.tenant);
        }
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
        let mut members = std::mem::take(&mut *lock(&self.members));
        let own = self.ticket.id;
        let mut mine = None;
        let mut give = |member: &mut Request, outcome: Outcome| {
            if member.id == own {
                mine = Some(outcome);
            } else {
                member.send(Message::Done(outcome));
            }
        };
        match result {
            Err(e) if members.len() == 1 => {
                if let Some(m) = members.first_mut() {
                    give(m, Err(e));
                }
            }
            Err(e) => {
                let shared = GroupCommitError::new(&members, e);
                for m in &mut members {
                    give(m, Err(shared.to_audit_error(op)));
                }
            }
            Ok(receipts)
                if receipts.len() == members.iter().map(|m| m.batch.len()).sum::<usize>() =>
            {
                let mut rest = receipts.into_iter();
                for m in &mut members {
                    let n = m.batch.len();
                    give(m, Ok(rest.by_ref().take(n).collect()));
                }
            }
            Ok(_) => {
                let e = AuditError::Backend(crate::error::corrupt(
                    op,
                    "group commit returned the wrong number of receipts",
                ));
                let shared = GroupCommitError::new(&members, e);
                for m in &mut members {
                    give(m, Err(shared.to_audit_error(op)));
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
        let mut members = std::mem::take(&mut *lock(&self.members));
        if !members.is_empty() {
            let cause =
                AuditError::Backend(BackendError::new(BackendErrorKind::Timeout, OP, LeaderGone));
            let shared = GroupCommitError::new(&members, cause);
            for m in &mut members {
                m.send(Message::Done(Err(shared.to_audit_error(OP))));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::error::Error as _;

    use portcullis_audit::NewEntry;
    use portcullis_core::{ActorId, UnixTime};

    use super::*;

    fn batch(n: usize) -> Vec<PendingEntry> {
        (0..n)
            .map(|i| PendingEntry {
                time: UnixTime::from_millis(1_000 + i as u64),
                body: NewEntry::new(ActorId::new("ann").unwrap(), "doc.read", "doc/1").unwrap(),
            })
            .collect()
    }

    fn tenant() -> TenantId {
        TenantId::new("acme").unwrap()
    }

    fn committer() -> Arc<Committer> {
        Arc::new(Committer::default())
    }

    async fn turn(ticket: &mut Ticket) -> &'static str {
        match tokio::time::timeout(std::time::Duration::from_secs(2), ticket.wait()).await {
            Ok(Turn::Lead) => "lead",
            Ok(Turn::Done(Ok(_))) => "done",
            Ok(Turn::Done(Err(_))) => "failed",
            Err(_) => "waiting",
        }
    }

    async fn still_waiting(ticket: &mut Ticket) -> bool {
        tokio::time::timeout(std::time::Duration::from_millis(20), ticket.wait())
            .await
            .is_err()
    }

    #[tokio::test]
    async fn a_promotion_never_taken_up_is_passed_on() {
        let c = committer();
        let mut first = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut first).await, "lead");
        let group = first.lead();
        let second = c.enqueue(&tenant(), batch(1));
        let mut third = c.enqueue(&tenant(), batch(1));
        // The group commits only its leader's entry; the leadership goes to `second`, whose
        // caller went away before reading it (the promotion sits unread in its inbox).
        drop(group.finish(OP, Err(AuditError::Backend(crate::error::corrupt(OP, "x")))));
        drop(first);
        drop(second);
        assert_eq!(turn(&mut third).await, "lead", "the lane passed on");
    }

    #[tokio::test]
    async fn a_promotion_read_but_not_taken_up_is_passed_on() {
        let c = committer();
        let mut first = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut first).await, "lead");
        let group = first.lead();
        let mut second = c.enqueue(&tenant(), batch(1));
        let mut third = c.enqueue(&tenant(), batch(1));
        assert!(still_waiting(&mut second).await);
        drop(group.finish(OP, Err(AuditError::Backend(crate::error::corrupt(OP, "x")))));
        drop(first);
        assert_eq!(turn(&mut second).await, "lead");
        assert!(still_waiting(&mut third).await, "one leader at a time");
        // Its caller is cancelled between learning it leads and leading.
        drop(second);
        assert_eq!(turn(&mut third).await, "lead", "the lane passed on");
        assert_eq!(c.queued(&tenant()), 1, "only third's own request is queued");
    }

    #[tokio::test]
    async fn a_group_of_one_returns_its_cause_unwrapped() {
        let c = committer();
        let mut t = c.enqueue(&tenant(), batch(2));
        assert_eq!(turn(&mut t).await, "lead");
        let group = t.lead();
        let cause = AuditError::Backend(BackendError::new(
            BackendErrorKind::Conflict,
            OP,
            LeaderGone,
        ));
        match group.finish(OP, Err(cause)) {
            Err(AuditError::Backend(b)) => {
                assert_eq!(b.kind(), BackendErrorKind::Conflict);
                let src = b.source().expect("a source");
                assert!(
                    src.downcast_ref::<GroupCommitError>().is_none(),
                    "not wrapped"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_group_with_the_wrong_number_of_receipts_fails_every_member() {
        let c = committer();
        let mut leader = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut leader).await, "lead");
        let mut member = c.enqueue(&tenant(), batch(1));
        let group = leader.lead();
        group.take_more();
        assert_eq!(group.batch().len(), 2);
        assert!(matches!(
            group.finish(OP, Ok(Vec::new())),
            Err(AuditError::Backend(_))
        ));
        match member.wait().await {
            Turn::Done(Err(AuditError::Backend(b))) => {
                let g = b
                    .source()
                    .and_then(|s| s.downcast_ref::<GroupCommitError>());
                let g = g.expect("a GroupCommitError");
                assert_eq!((g.appends, g.entries), (2, 2));
            }
            _ => panic!("the member must fail"),
        }
    }

    #[tokio::test]
    async fn a_leader_cancelled_mid_transaction_fails_its_members_as_a_timeout() {
        let c = committer();
        let mut leader = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut leader).await, "lead");
        let mut member = c.enqueue(&tenant(), batch(3));
        let mut later = c.enqueue(&tenant(), batch(1));
        {
            let group = leader.lead();
            group.take_more();
            assert_eq!(group.batch().len(), 5, "leader, member and later");
            // dropped without finish: the leader's future was cancelled
        }
        for t in [&mut member, &mut later] {
            match t.wait().await {
                Turn::Done(Err(AuditError::Backend(b))) => {
                    assert_eq!(b.kind(), BackendErrorKind::Timeout);
                    let g = b
                        .source()
                        .and_then(|s| s.downcast_ref::<GroupCommitError>());
                    let g = g.expect("a GroupCommitError");
                    assert_eq!(g.appends, 3);
                    let AuditError::Backend(cause) = g.cause() else {
                        panic!("{:?}", g.cause())
                    };
                    assert!(cause.source().is_some_and(|s| s.is::<LeaderGone>()));
                }
                _ => panic!("members must fail with the leader gone"),
            }
        }
        drop(leader);
        // The lane is idle again: the next append leads at once.
        let mut next = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut next).await, "lead");
    }

    #[tokio::test]
    async fn a_group_takes_whole_requests_up_to_the_bound() {
        let c = committer();
        let mut leader = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut leader).await, "lead");
        let _fits = c.enqueue(&tenant(), batch(MAX_GROUP_ENTRIES - 1));
        let _next = c.enqueue(&tenant(), batch(1));
        let _other = c.enqueue(&TenantId::new("other").unwrap(), batch(1));
        assert_eq!(
            c.queued(&tenant()),
            3,
            "the leader's own request is still queued"
        );
        let group = leader.lead();
        assert_eq!(c.queued(&tenant()), 2);
        group.take_more();
        assert_eq!(
            group.batch().len(),
            MAX_GROUP_ENTRIES,
            "exactly at the bound"
        );
        assert_eq!(
            c.queued(&tenant()),
            1,
            "the next request waits for the next group"
        );
        assert_eq!(c.queued(&TenantId::new("other").unwrap()), 1);
        assert_eq!(c.queued(&TenantId::new("idle").unwrap()), 0);
    }

    #[tokio::test]
    async fn a_failed_group_of_several_shares_one_cause() {
        let c = committer();
        let mut leader = c.enqueue(&tenant(), batch(1));
        assert_eq!(turn(&mut leader).await, "lead");
        let mut member = c.enqueue(&tenant(), batch(2));
        let group = leader.lead();
        group.take_more();
        let cause = AuditError::Backend(BackendError::new(
            BackendErrorKind::Conflict,
            OP,
            LeaderGone,
        ));
        for outcome in [
            group.finish(OP, Err(cause)),
            match member.wait().await {
                Turn::Done(o) => o,
                Turn::Lead => panic!("the member was in the group"),
            },
        ] {
            match outcome {
                Err(AuditError::Backend(b)) => {
                    assert_eq!(b.kind(), BackendErrorKind::Conflict, "the cause's kind");
                    let g = b
                        .source()
                        .and_then(|s| s.downcast_ref::<GroupCommitError>());
                    assert_eq!(g.map(|g| (g.appends, g.entries)), Some((2, 3)));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn debug_counts_busy_tenants_only() {
        let c = committer();
        let _t = c.enqueue(&tenant(), batch(1));
        let text = format!("{c:?}");
        assert!(text.contains("busy_tenants: 1"), "{text}");
    }
}
