//! The conformance suite against both stores, and the file store's crash safety.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;

use portcullis_audit::{
    AuditError, AuditStore, FileStore, MemoryStore, Metadata, NewEntry, PendingEntry,
};
use portcullis_core::{ActorId, TenantId, UnixTime};
use portcullis_testkit::conformance::audit;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    audit::run_all(
        || async { MemoryStore::new() },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_conforms() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let base = root.path().to_path_buf();
    audit::run_all(
        || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let dir = base.join(format!("store-{n}"));
            async move { FileStore::open(dir).unwrap() }
        },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

fn pending(n: u64) -> PendingEntry {
    PendingEntry {
        time: UnixTime::from_millis(1_700_000_000_000 + n),
        body: NewEntry::new(
            ActorId::new("alice").unwrap(),
            "doc.read",
            &format!("doc/{n}"),
        )
        .unwrap()
        .with_metadata(Metadata::parse(&format!(r#"{{"n":{n}}}"#)).unwrap()),
    }
}

#[test]
fn file_store_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t: TenantId = "acme".parse().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store
        .append_blocking(&t, vec![pending(0), pending(1)])
        .unwrap();
    let head = store.head_blocking(&t).unwrap();
    drop(store);
    let reopened = FileStore::open(dir.path()).unwrap();
    assert_eq!(reopened.head_blocking(&t).unwrap(), head);
    let r = reopened.append_blocking(&t, vec![pending(2)]).unwrap();
    assert_eq!(r[0].seq, 2);
    let entries = reopened.read_blocking(&t, 0, u64::MAX).unwrap();
    assert_eq!(entries[2].prev(), &head.hash);
}

#[test]
fn torn_last_line_is_reported_never_dropped_or_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let t: TenantId = "acme".parse().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store
        .append_blocking(&t, vec![pending(0), pending(1), pending(2)])
        .unwrap();
    let path = store.log_path(&t);
    drop(store);
    // Simulate a crash in the middle of writing entry 3: half a line, no newline.
    let line = {
        let other = tempfile::tempdir().unwrap();
        let s = FileStore::open(other.path()).unwrap();
        s.append_blocking(&t, vec![pending(0)]).unwrap();
        std::fs::read_to_string(s.log_path(&t)).unwrap()
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(f);

    let store = FileStore::open(dir.path()).unwrap();
    for res in [
        store.head_blocking(&t).map(|_| ()),
        store.read_blocking(&t, 0, 3).map(|_| ()),
        store.append_blocking(&t, vec![pending(3)]).map(|_| ()),
    ] {
        match res {
            Err(AuditError::TornWrite { line, .. }) => assert_eq!(line, 4),
            other => panic!("expected a torn write, got {other:?}"),
        }
    }
    // Nothing was appended after the torn line.
    let content = std::fs::read_to_string(&path).unwrap();
    assert_eq!(content.matches('\n').count(), 3);
    assert!(!content.ends_with('\n'));
}

#[test]
fn garbage_complete_last_line_is_a_torn_write_too() {
    let dir = tempfile::tempdir().unwrap();
    let t: TenantId = "acme".parse().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store.append_blocking(&t, vec![pending(0)]).unwrap();
    let path = store.log_path(&t);
    drop(store);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"\0\0\0\0\n")
        .unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    assert!(matches!(
        store.head_blocking(&t),
        Err(AuditError::TornWrite { line: 2, .. })
    ));
}

#[test]
fn tampered_file_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let t: TenantId = "acme".parse().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store
        .append_blocking(&t, vec![pending(0), pending(1), pending(2)])
        .unwrap();
    let path = store.log_path(&t);
    drop(store);
    let content = std::fs::read_to_string(&path)
        .unwrap()
        .replace("doc/1", "doc/9");
    std::fs::write(&path, content).unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    match store.append_blocking(&t, vec![pending(3)]) {
        Err(AuditError::Backend(e)) => {
            assert_eq!(e.kind(), portcullis_core::BackendErrorKind::Corrupt)
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn stores_are_dyn_compatible() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<std::sync::Arc<dyn AuditStore>> = vec![
        std::sync::Arc::new(MemoryStore::new()),
        std::sync::Arc::new(FileStore::open(dir.path()).unwrap()),
    ];
    for s in stores {
        let t: TenantId = "dyn".parse().unwrap();
        assert_eq!(s.append(&t, vec![pending(0)]).await.unwrap()[0].seq, 0);
    }
}

#[test]
fn a_second_writer_is_refused_not_forked() {
    let dir = tempfile::tempdir().unwrap();
    let t: TenantId = "acme".parse().unwrap();
    let a = FileStore::open(dir.path()).unwrap();
    let b = FileStore::open(dir.path()).unwrap();
    a.append_blocking(&t, vec![pending(0)]).unwrap();
    b.append_blocking(&t, vec![pending(1)]).unwrap(); // b loads after a's write: fine
    match a.append_blocking(&t, vec![pending(2)]) {
        Err(AuditError::Backend(e)) => {
            assert_eq!(e.kind(), portcullis_core::BackendErrorKind::Conflict)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // After the refusal `a` reloads and continues the one chain.
    assert_eq!(a.append_blocking(&t, vec![pending(2)]).unwrap()[0].seq, 2);
    let entries = a.read_blocking(&t, 0, u64::MAX).unwrap();
    portcullis_audit::verify_chain(&t, &entries).unwrap();
}
