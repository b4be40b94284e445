//! Conformance suite for [`AuditStore`] implementations (`portcullis-audit`).
//!
//! A backend's integration test calls [`run_all`] with a factory for fresh, empty stores and
//! a `spawn` function that runs a future on a real task of a multi-threaded runtime (for
//! tokio: `|f| Box::pin(async move { tokio::spawn(f).await.unwrap() })`).
//!
//! ```ignore
//! portcullis_testkit::conformance::audit::run_all(
//!     || async { MemoryStore::new() },
//!     |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
//! ).await;
//! ```

// Test helpers: a failed expectation panics with the suite and step named.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use portcullis_audit::{
    AppendReceipt, AuditError, AuditStore, ChainHead, Entry, Hash, Metadata, NewEntry,
    PendingEntry, RunStep, verify_chain,
};
use portcullis_core::{ActorId, TenantId, UnixTime};

/// A boxed, sendable future (what `spawn` receives and returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn tenant(s: &str) -> TenantId {
    TenantId::new(s).unwrap_or_else(|e| panic!("audit conformance: tenant `{s}`: {e}"))
}

fn pending(n: u64) -> PendingEntry {
    let actor = ActorId::new(format!("user-{}", n % 7))
        .unwrap_or_else(|e| panic!("audit conformance: {e}"));
    let body = NewEntry::new(actor, "doc.update", &format!("doc/{n}"))
        .unwrap_or_else(|e| panic!("audit conformance: {e}"))
        .with_metadata(
            Metadata::parse(&format!(r#"{{"n":{n},"note":"é\n\"q\""}}"#))
                .unwrap_or_else(|e| panic!("audit conformance: {e}")),
        );
    PendingEntry {
        time: UnixTime::from_millis(1_700_000_000_000 + n),
        body,
    }
}

async fn append(
    store: &dyn AuditStore,
    t: &TenantId,
    batch: Vec<PendingEntry>,
    step: &str,
) -> Vec<AppendReceipt> {
    match store.append(t, batch).await {
        Ok(r) => r,
        Err(e) => panic!("audit conformance: {step}: append failed: {e}"),
    }
}

async fn read_all(store: &dyn AuditStore, t: &TenantId, step: &str) -> Vec<Entry> {
    match store.read(t, 0, u64::MAX).await {
        Ok(r) => r,
        Err(e) => panic!("audit conformance: {step}: read failed: {e}"),
    }
}

async fn head(store: &dyn AuditStore, t: &TenantId, step: &str) -> ChainHead {
    match store.head(t).await {
        Ok(h) => h,
        Err(e) => panic!("audit conformance: {step}: head failed: {e}"),
    }
}

/// A new tenant has the genesis head, no entries and no checkpoint.
pub async fn empty_tenant(store: &dyn AuditStore) {
    let step = "empty_tenant";
    let t = tenant("empty");
    assert_eq!(
        head(store, &t, step).await,
        ChainHead::GENESIS,
        "{step}: head"
    );
    assert!(read_all(store, &t, step).await.is_empty(), "{step}: read");
    assert!(
        matches!(
            store.read(&t, 1, 2).await,
            Err(AuditError::OutOfRange { .. })
        ),
        "{step}: reading past the end is out of range"
    );
    assert!(
        matches!(store.latest_checkpoint(&t).await, Ok(None)),
        "{step}: no checkpoint"
    );
}

/// Appends get consecutive seqs from 0, each linked to the previous; what is read back is
/// exactly what `Entry::seal` produces, and the chain verifies.
pub async fn append_assigns_seq_and_links(store: &dyn AuditStore) {
    let step = "append_assigns_seq_and_links";
    let t = tenant("acme");
    let mut receipts = Vec::new();
    for n in 0..3 {
        receipts.extend(append(store, &t, vec![pending(n)], step).await);
    }
    assert_eq!(
        receipts.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "{step}: seqs"
    );
    let entries = read_all(store, &t, step).await;
    assert_eq!(entries.len(), 3, "{step}: count");
    let mut prev = Hash::ZERO;
    for (i, e) in entries.iter().enumerate() {
        let resealed = Entry::seal(t.clone(), i as u64, prev, e.time(), e.body().clone());
        assert_eq!(
            &resealed, e,
            "{step}: entry {i} is not Entry::seal's output"
        );
        assert_eq!(e.hash(), &receipts[i].hash, "{step}: receipt hash {i}");
        assert_eq!(
            e.body(),
            &pending(i as u64).body,
            "{step}: body {i} round trip"
        );
        prev = *e.hash();
    }
    let h = head(store, &t, step).await;
    assert_eq!(
        h,
        ChainHead {
            size: 3,
            hash: prev
        },
        "{step}: head"
    );
    let verified =
        verify_chain(&t, &entries).unwrap_or_else(|e| panic!("audit conformance: {step}: {e}"));
    assert_eq!(verified, h, "{step}: verify");
}

/// A batch is contiguous and atomic; an empty batch is refused and changes nothing.
pub async fn batch_append(store: &dyn AuditStore) {
    let step = "batch_append";
    let t = tenant("batch");
    append(store, &t, vec![pending(0)], step).await;
    let r = append(store, &t, (1..6).map(pending).collect(), step).await;
    assert_eq!(
        r.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5],
        "{step}: seqs"
    );
    let before = head(store, &t, step).await;
    assert!(
        store.append(&t, Vec::new()).await.is_err(),
        "{step}: empty batch refused"
    );
    assert_eq!(
        head(store, &t, step).await,
        before,
        "{step}: head unchanged"
    );
    let entries = read_all(store, &t, step).await;
    verify_chain(&t, &entries).unwrap_or_else(|e| panic!("audit conformance: {step}: {e}"));
}

/// Entries with every optional field survive a round trip byte for byte.
pub async fn round_trip_all_fields(store: &dyn AuditStore) {
    let step = "round_trip_all_fields";
    let t = tenant("fields");
    let ip: IpAddr = "2001:db8::7".parse().unwrap_or_else(|e| panic!("{e}"));
    let body = NewEntry::new(
        ActorId::new("svc:deployer@prod").unwrap_or_else(|e| panic!("{e}")),
        "workflow.step",
        "pipeline/ünïcode \"quoted\" \\ path",
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .with_ip(ip)
    .with_run(RunStep::new("run-42", 7).unwrap_or_else(|e| panic!("{e}")))
    .with_metadata(
        Metadata::parse(
            r#"{"z":[1,-2,18446744073709551615],"a":{"nested":true,"x":null},"ctl":"\u0001\t"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let r = append(
        store,
        &t,
        vec![PendingEntry {
            time: UnixTime::from_millis(42),
            body: body.clone(),
        }],
        step,
    )
    .await;
    let entries = read_all(store, &t, step).await;
    assert_eq!(entries.len(), 1, "{step}: count");
    assert_eq!(entries[0].body(), &body, "{step}: body");
    assert_eq!(entries[0].time(), UnixTime::from_millis(42), "{step}: time");
    assert_eq!(entries[0].hash(), &r[0].hash, "{step}: hash");
    verify_chain(&t, &entries).unwrap_or_else(|e| panic!("audit conformance: {step}: {e}"));
}

/// Tenants have separate chains, each from seq 0.
pub async fn tenants_are_independent(store: &dyn AuditStore) {
    let step = "tenants_are_independent";
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    append(store, &a, vec![pending(0), pending(1)], step).await;
    let rb = append(store, &b, vec![pending(0)], step).await;
    assert_eq!(rb[0].seq, 0, "{step}: b starts at 0");
    let ea = read_all(store, &a, step).await;
    let eb = read_all(store, &b, step).await;
    assert_eq!((ea.len(), eb.len()), (2, 1), "{step}: sizes");
    assert!(ea.iter().all(|e| e.tenant() == &a), "{step}: a's entries");
    assert!(eb.iter().all(|e| e.tenant() == &b), "{step}: b's entries");
    assert_ne!(ea[0].hash(), eb[0].hash(), "{step}: the tenant is hashed");
}

/// Ranges are half-open, `end` is clamped, and bad ranges are refused.
pub async fn read_ranges(store: &dyn AuditStore) {
    let step = "read_ranges";
    let t = tenant("ranges");
    append(store, &t, (0..5).map(pending).collect(), step).await;
    let mid = store
        .read(&t, 1, 3)
        .await
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    assert_eq!(
        mid.iter().map(Entry::seq).collect::<Vec<_>>(),
        vec![1, 2],
        "{step}: 1..3"
    );
    let tail = store
        .read(&t, 3, 100)
        .await
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    assert_eq!(
        tail.iter().map(Entry::seq).collect::<Vec<_>>(),
        vec![3, 4],
        "{step}: clamp"
    );
    assert!(
        store
            .read(&t, 5, 5)
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"))
            .is_empty(),
        "{step}: empty at end"
    );
    assert!(
        store.read(&t, 6, 7).await.is_err(),
        "{step}: start past end"
    );
    assert!(store.read(&t, 3, 2).await.is_err(), "{step}: start > end");
}

/// Checkpoints are stored and the latest returned; a smaller one or one beyond the log is
/// refused.
pub async fn checkpoints(store: &dyn AuditStore) {
    let step = "checkpoints";
    let t = tenant("cps");
    append(store, &t, (0..4).map(pending).collect(), step).await;
    store
        .store_checkpoint(&t, 2, "note-2\n")
        .await
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    store
        .store_checkpoint(&t, 4, "note-4\n")
        .await
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    let latest = store
        .latest_checkpoint(&t)
        .await
        .unwrap_or_else(|e| panic!("{step}: {e}"));
    let latest = latest.unwrap_or_else(|| panic!("{step}: missing checkpoint"));
    assert_eq!(
        (latest.size, latest.note.as_str()),
        (4, "note-4\n"),
        "{step}: latest"
    );
    assert!(
        matches!(
            store.store_checkpoint(&t, 3, "old\n").await,
            Err(AuditError::CheckpointRegression { .. })
        ),
        "{step}: regression refused"
    );
    assert!(
        store.store_checkpoint(&t, 5, "future\n").await.is_err(),
        "{step}: beyond the log refused"
    );
    let other = tenant("cps-other");
    assert!(
        matches!(store.latest_checkpoint(&other).await, Ok(None)),
        "{step}: checkpoints are per tenant"
    );
}

/// 16 tasks × 100 appends on one tenant: 1600 contiguous seqs, one chain, verify passes.
pub async fn concurrent_appends_never_fork<S>(store: Arc<dyn AuditStore>, spawn: &S)
where
    S: Fn(BoxFuture<Vec<AppendReceipt>>) -> BoxFuture<Vec<AppendReceipt>>,
{
    let step = "concurrent_appends_never_fork";
    let t = tenant("race");
    let handles: Vec<_> = (0..16u64)
        .map(|task| {
            let store = Arc::clone(&store);
            let t = t.clone();
            spawn(Box::pin(async move {
                let mut out = Vec::with_capacity(100);
                for i in 0..100u64 {
                    match store.append(&t, vec![pending(task * 1000 + i)]).await {
                        Ok(mut r) => out.append(&mut r),
                        Err(e) => panic!("audit conformance: {step}: {e}"),
                    }
                }
                out
            }))
        })
        .collect();
    let mut seqs = Vec::new();
    for h in handles {
        seqs.extend(h.await.into_iter().map(|r| r.seq));
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..1600).collect::<Vec<_>>(),
        "{step}: receipts are 0..1600, each once"
    );
    let entries = read_all(store.as_ref(), &t, step).await;
    assert_eq!(entries.len(), 1600, "{step}: count");
    let h = verify_chain(&t, &entries).unwrap_or_else(|e| panic!("audit conformance: {step}: {e}"));
    assert_eq!(
        h,
        head(store.as_ref(), &t, step).await,
        "{step}: head matches the verified chain"
    );
}

/// Runs every step, each on a fresh store.
pub async fn run_all<F, Fut, G, S>(factory: F, spawn: S)
where
    F: Fn() -> Fut,
    Fut: Future<Output = G>,
    G: AuditStore + 'static,
    S: Fn(BoxFuture<Vec<AppendReceipt>>) -> BoxFuture<Vec<AppendReceipt>>,
{
    empty_tenant(&factory().await).await;
    append_assigns_seq_and_links(&factory().await).await;
    batch_append(&factory().await).await;
    round_trip_all_fields(&factory().await).await;
    tenants_are_independent(&factory().await).await;
    read_ranges(&factory().await).await;
    checkpoints(&factory().await).await;
    concurrent_appends_never_fork(Arc::new(factory().await), &spawn).await;
}
