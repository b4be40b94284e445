//! Rotation and batch re-encryption: 10 000 blobs, an interrupted run, a resume, idempotence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use common::{key, sealer, tenant, v};
use portcullis_core::BackendError;
use portcullis_keys::{
    BlobId, BlobSink, BlobSource, KeysError, ReencryptOptions, ReplaceOutcome, StoredBlob,
    TenantSalt, inspect,
};
use portcullis_testkit::SeededRandom;

#[derive(Debug, Default)]
struct MemStore {
    rows: Mutex<BTreeMap<BlobId, StoredBlob>>,
    /// Fail the write with this 1-based index (0 = never).
    fail_write_at: AtomicU64,
    writes: AtomicU64,
    /// Fail the next page read.
    fail_page: AtomicU64,
}

#[async_trait]
impl BlobSource for MemStore {
    async fn page(
        &self,
        after: Option<&BlobId>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, KeysError> {
        if self.fail_page.swap(0, Ordering::SeqCst) == 1 {
            return Err(BackendError::timeout("page").into());
        }
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .values()
            .filter(|r| after.is_none_or(|a| &r.id > a))
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl BlobSink for MemStore {
    async fn replace(
        &self,
        id: &BlobId,
        expected: &[u8],
        new: &[u8],
    ) -> Result<ReplaceOutcome, KeysError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_write_at.load(Ordering::SeqCst) {
            return Err(BackendError::unavailable("replace", std::io::Error::other("down")).into());
        }
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(id) {
            None => Ok(ReplaceOutcome::Missing),
            Some(row) if row.blob != expected => Ok(ReplaceOutcome::Changed),
            Some(row) => {
                row.blob = new.to_vec();
                Ok(ReplaceOutcome::Replaced)
            }
        }
    }
}

fn id(i: usize) -> BlobId {
    BlobId::new(format!("row-{i:06}")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_blobs_survive_rotation_with_an_interruption() {
    const N: usize = 10_000;
    let s = sealer();
    let rng = SeededRandom::new(5);
    let salt = TenantSalt::generate(1, &rng).unwrap();
    let store = MemStore::default();
    {
        let mut rows = store.rows.lock().unwrap();
        for i in 0..N {
            let t = tenant(&format!("tenant-{}", i % 37));
            let ctx = format!("credential:{i}").into_bytes();
            let salted = i % 5 == 0;
            let pt = format!("secret-{i}");
            let blob = if salted {
                s.seal_salted(&t, &salt, &ctx, pt.as_bytes()).unwrap()
            } else {
                s.seal(&t, &ctx, pt.as_bytes()).unwrap()
            };
            rows.insert(
                id(i),
                StoredBlob {
                    id: id(i),
                    tenant: t,
                    salt: salted.then(|| salt.clone()),
                    context: ctx,
                    blob,
                },
            );
        }
    }
    s.rotate(v(2), key(2)).unwrap();
    // One row was re-encrypted by someone else already; one is corrupt.
    {
        let mut rows = store.rows.lock().unwrap();
        let r = rows.get_mut(&id(10)).unwrap();
        r.blob = s
            .reencrypt(&r.tenant, r.salt.as_ref(), &r.context, &r.blob)
            .unwrap()
            .blob;
        let last = rows.get_mut(&id(20)).unwrap().blob.len() - 1;
        rows.get_mut(&id(20)).unwrap().blob[last] ^= 1;
    }
    let corrupt_before = store.rows.lock().unwrap()[&id(20)].blob.clone();

    // First run: the sink fails on its 4 000th write.
    store.fail_write_at.store(4_000, Ordering::SeqCst);
    let opts = ReencryptOptions {
        page_size: 256,
        ..ReencryptOptions::default()
    };
    let err = s
        .reencrypt_all(&store, &store, opts.clone())
        .await
        .unwrap_err();
    assert!(matches!(err.error, KeysError::Backend(_)));
    let first = err.report;
    assert!(!first.complete);
    assert_eq!(first.reencrypted, 3_999);
    let cursor = first.cursor.clone().unwrap();

    // The blob whose write failed still holds its old, openable value.
    {
        let rows = store.rows.lock().unwrap();
        let failed_row = rows.values().find(|r| r.id > cursor).unwrap();
        assert_eq!(inspect(&failed_row.blob).unwrap().key_version, v(1));
    }

    // A page read failing also interrupts cleanly.
    store.fail_page.store(1, Ordering::SeqCst);
    let resume = ReencryptOptions {
        resume_after: Some(cursor.clone()),
        ..opts.clone()
    };
    let err = s
        .reencrypt_all(&store, &store, resume.clone())
        .await
        .unwrap_err();
    assert_eq!(err.report.scanned, 0);
    assert_eq!(err.report.cursor, Some(cursor.clone()));

    // Resume from the cursor.
    let second = s.reencrypt_all(&store, &store, resume).await.unwrap();
    assert!(second.complete);
    assert_eq!(first.scanned + second.scanned, N as u64);
    assert_eq!(first.reencrypted + second.reencrypted, (N - 2) as u64);
    assert_eq!(first.already_current + second.already_current, 1);
    let failed: Vec<_> = first
        .failed
        .iter()
        .chain(&second.failed)
        .map(|(i, _)| i.clone())
        .collect();
    assert_eq!(failed, vec![id(20)]);

    // Nothing lost: every row opens under version 2 with its original plaintext, except
    // the corrupt one, which is untouched.
    s.set_min_decrypt_version(v(2)).unwrap();
    let rows = store.rows.lock().unwrap().clone();
    assert_eq!(rows.len(), N);
    for (i, row) in rows.values().enumerate() {
        if i == 20 {
            assert_eq!(row.blob, corrupt_before);
            continue;
        }
        assert_eq!(inspect(&row.blob).unwrap().key_version, v(2), "row {i}");
        let pt = match &row.salt {
            Some(salt) => s.open_salted(&row.tenant, salt, &row.context, &row.blob),
            None => s.open(&row.tenant, &row.context, &row.blob),
        }
        .unwrap();
        assert_eq!(pt.expose_secret(), format!("secret-{i}").as_bytes());
    }
    drop(rows);

    // Idempotent: a second full run changes nothing.
    let again = s.reencrypt_all(&store, &store, opts).await.unwrap();
    assert_eq!(
        (again.scanned, again.reencrypted, again.already_current),
        (N as u64, 0, (N - 1) as u64)
    );
}

#[tokio::test]
async fn concurrent_change_is_not_overwritten_and_max_blobs_limits_a_run() {
    let s = sealer();
    let store = MemStore::default();
    let t = tenant("acme");
    for i in 0..3 {
        let blob = s.seal(&t, b"c", b"old").unwrap();
        store.rows.lock().unwrap().insert(
            id(i),
            StoredBlob {
                id: id(i),
                tenant: t.clone(),
                salt: None,
                context: b"c".to_vec(),
                blob,
            },
        );
    }
    s.rotate(v(2), key(2)).unwrap();
    let limited = s
        .reencrypt_all(
            &store,
            &store,
            ReencryptOptions {
                max_blobs: Some(2),
                ..ReencryptOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (limited.scanned, limited.reencrypted, limited.complete),
        (2, 2, false)
    );
    assert_eq!(limited.cursor, Some(id(1)));

    /// A sink whose row changes between read and write.
    #[derive(Debug)]
    struct Racing<'a>(&'a MemStore);
    #[async_trait]
    impl BlobSink for Racing<'_> {
        async fn replace(
            &self,
            id: &BlobId,
            expected: &[u8],
            new: &[u8],
        ) -> Result<ReplaceOutcome, KeysError> {
            self.0.rows.lock().unwrap().get_mut(id).unwrap().blob =
                b"written-by-someone-else".to_vec();
            self.0.replace(id, expected, new).await
        }
    }
    let report = s
        .reencrypt_all(
            &store,
            &Racing(&store),
            ReencryptOptions {
                resume_after: limited.cursor,
                ..ReencryptOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (report.scanned, report.conflicts, report.reencrypted),
        (1, 1, 0)
    );
    assert_eq!(
        store.rows.lock().unwrap()[&id(2)].blob,
        b"written-by-someone-else"
    );
}

/// Issue 15 finding: `reencrypt` must leave a blob sealed under a version newer than the
/// primary alone (a replica that rotated first sealed it), not move it to an older key.
#[test]
fn reencrypt_never_downgrades_a_blob_newer_than_the_primary() {
    use portcullis_keys::MasterKeys;
    let behind = common::sealer_with(MasterKeys::new(v(1), key(1)), 3);
    let ahead = common::sealer_with(MasterKeys::new(v(1), key(1)), 4);
    ahead.rotate(v(2), key(2)).unwrap();
    behind.insert_key(v(2), key(2)).unwrap(); // can open v2, still seals under v1
    let t = tenant("acme");
    let blob = ahead.seal(&t, b"ctx", b"secret").unwrap();
    assert_eq!(inspect(&blob).unwrap().key_version, v(2));
    let r = behind.reencrypt(&t, None, b"ctx", &blob).unwrap();
    assert!(!r.changed);
    assert_eq!(r.blob, blob);
    assert_eq!((r.from, r.to), (v(2), v(1)));
    // An older blob is still brought up to the primary.
    let old = behind.seal(&t, b"ctx", b"secret").unwrap();
    let r = ahead.reencrypt(&t, None, b"ctx", &old).unwrap();
    assert!(r.changed);
    assert_eq!(inspect(&r.blob).unwrap().key_version, v(2));
}

/// A source that ignores the cursor (always the first page).
#[derive(Debug, Default)]
struct StuckSource {
    inner: MemStore,
    calls: AtomicU64,
}

#[async_trait]
impl BlobSource for StuckSource {
    async fn page(
        &self,
        _after: Option<&BlobId>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, KeysError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.page(None, limit).await
    }
}

/// Issue 15 finding: `reencrypt_all` must stop, with a typed error, on a source whose
/// pages do not advance past the cursor (before: 1001 page calls and counting).
#[tokio::test]
async fn reencrypt_all_stops_on_a_cursor_that_does_not_advance() {
    let s = sealer();
    let t = tenant("acme");
    let source = StuckSource::default();
    {
        let mut rows = source.inner.rows.lock().unwrap();
        for i in 0..3 {
            let blob = s.seal(&t, b"ctx", b"x").unwrap();
            rows.insert(
                id(i),
                StoredBlob {
                    id: id(i),
                    tenant: t.clone(),
                    salt: None,
                    context: b"ctx".to_vec(),
                    blob,
                },
            );
        }
    }
    s.rotate(v(2), key(2)).unwrap();
    let opts = ReencryptOptions {
        page_size: 2,
        ..ReencryptOptions::default()
    };
    let err = s
        .reencrypt_all(&source, &source.inner, opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err.error, KeysError::SourceCursorStuck),
        "{:?}",
        err.error
    );
    assert_eq!(source.calls.load(Ordering::SeqCst), 2);
    assert_eq!(err.report.scanned, 2);
    assert_eq!(err.report.cursor, Some(id(1)));
    // A resume cursor the source answers at or before is refused the same way.
    let opts = ReencryptOptions {
        page_size: 2,
        resume_after: Some(id(5)),
        ..ReencryptOptions::default()
    };
    let err = s
        .reencrypt_all(&source, &source.inner, opts)
        .await
        .unwrap_err();
    assert!(matches!(err.error, KeysError::SourceCursorStuck));
    assert_eq!(err.report.scanned, 0);
}
