//! Envelope encryption through the `Kms` seam: LocalKms, context binding, data-key cache.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{key, tenant, v};
use portcullis_core::{BackendError, KeyId, Provider, UnixTime};
use portcullis_keys::{
    DataKey, Envelope, EnvelopeConfig, GeneratedKey, KeysError, Kms, KmsContext, LocalKms,
    WrappedKey,
};
use portcullis_keys::{unwrap_master_key, wrap_master_key};
use portcullis_testkit::{ManualClock, SeededRandom};

fn kek() -> KeyId {
    KeyId::new("kek-main").unwrap()
}

fn local() -> LocalKms {
    LocalKms::new(Provider::from_parts(
        std::sync::Arc::new(portcullis_core::SystemClock),
        Arc::new(SeededRandom::new(9)),
    ))
    .with_kek(kek(), &key(0x42))
    .unwrap()
}

/// A KMS that can be switched off, to check fail-closed behaviour.
#[derive(Debug)]
struct Flaky {
    inner: LocalKms,
    down: AtomicBool,
}

#[async_trait]
impl Kms for Flaky {
    async fn generate_data_key(
        &self,
        kek: &KeyId,
        ctx: &KmsContext,
    ) -> Result<GeneratedKey, KeysError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::timeout("kms generate").into());
        }
        self.inner.generate_data_key(kek, ctx).await
    }
    async fn wrap(
        &self,
        kek: &KeyId,
        dk: &DataKey,
        ctx: &KmsContext,
    ) -> Result<WrappedKey, KeysError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::timeout("kms wrap").into());
        }
        self.inner.wrap(kek, dk, ctx).await
    }
    async fn unwrap(
        &self,
        kek: &KeyId,
        w: &WrappedKey,
        ctx: &KmsContext,
    ) -> Result<DataKey, KeysError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::timeout("kms unwrap").into());
        }
        self.inner.unwrap(kek, w, ctx).await
    }
}

fn envelope(kms: Arc<dyn Kms>, clock: &ManualClock, config: EnvelopeConfig) -> Envelope {
    Envelope::new(kms, kek(), clock.provider(4), config)
}

#[tokio::test]
async fn local_kms_wrap_unwrap_is_bound_to_kek_and_context() {
    let kms = local();
    let dk = DataKey::new([7; 32]);
    let ctx = KmsContext::new().with("tenant", "acme");
    let w = kms.wrap(&kek(), &dk, &ctx).await.unwrap();
    assert_eq!(w.as_bytes().len(), 61);
    assert_eq!(
        kms.unwrap(&kek(), &w, &ctx).await.unwrap().expose_secret(),
        &[7; 32]
    );
    let other = KmsContext::new().with("tenant", "globex");
    assert!(matches!(
        kms.unwrap(&kek(), &w, &other).await,
        Err(KeysError::Decrypt)
    ));
    assert!(matches!(
        kms.unwrap(&kek(), &w, &KmsContext::new()).await,
        Err(KeysError::Decrypt)
    ));
    let missing = KeyId::new("nope").unwrap();
    assert!(matches!(
        kms.unwrap(&missing, &w, &ctx).await,
        Err(KeysError::UnknownKek(_))
    ));
    let mut bad = w.as_bytes().to_vec();
    bad[20] ^= 1;
    assert!(
        kms.unwrap(&kek(), &WrappedKey::new(bad), &ctx)
            .await
            .is_err()
    );
    assert!(
        kms.unwrap(&kek(), &WrappedKey::new(vec![]), &ctx)
            .await
            .is_err()
    );
    // A KEK under another id cannot open it either.
    let twin = LocalKms::new(Provider::from_parts(
        std::sync::Arc::new(portcullis_core::SystemClock),
        Arc::new(SeededRandom::new(1)),
    ))
    .with_kek(KeyId::new("kek-b").unwrap(), &key(0x42))
    .unwrap();
    assert!(
        twin.unwrap(&KeyId::new("kek-b").unwrap(), &w, &ctx)
            .await
            .is_err()
    );
    assert!(format!("{dk:?} {kms:?}").find("7, 7").is_none());
}

#[tokio::test]
async fn master_keys_can_be_stored_wrapped_and_loaded_per_version() {
    let kms = local();
    let master = key(0x33);
    let wrapped = wrap_master_key(&kms, &kek(), v(3), &master).await.unwrap();
    let loaded = unwrap_master_key(&kms, &kek(), v(3), &wrapped)
        .await
        .unwrap();
    assert_eq!(loaded.expose_secret(), master.expose_secret());
    assert!(
        unwrap_master_key(&kms, &kek(), v(4), &wrapped)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn envelope_round_trip_binding_and_cache_limits() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let config = EnvelopeConfig {
        ttl: Duration::from_secs(60),
        max_uses: 3,
        max_cached: 8,
    };
    let env = envelope(Arc::new(local()), &clock, config);
    let (a, b) = (tenant("acme"), tenant("globex"));
    let blobs: Vec<_> = futures::future::join_all((0..5).map(|i| {
        let env = &env;
        let a = a.clone();
        async move {
            env.seal(&a, b"ctx", format!("m{i}").as_bytes())
                .await
                .unwrap()
        }
    }))
    .await;
    // 5 seals with max_uses = 3: two data keys.
    assert_eq!(env.stats().wraps, 2);
    for (i, blob) in blobs.iter().enumerate() {
        assert_eq!(
            env.open(&a, b"ctx", blob).await.unwrap().expose_secret(),
            format!("m{i}").as_bytes()
        );
    }
    assert_eq!(
        env.stats().unwraps,
        0,
        "blobs an envelope sealed open from its own cache"
    );
    let reader = envelope(Arc::new(local()), &clock, config);
    for (i, blob) in blobs.iter().enumerate() {
        assert_eq!(
            reader.open(&a, b"ctx", blob).await.unwrap().expose_secret(),
            format!("m{i}").as_bytes()
        );
    }
    assert_eq!(
        reader.stats().unwraps,
        2,
        "one unwrap per distinct data key"
    );
    // Copied to another tenant, the wrapped key's KMS context no longer matches.
    assert!(matches!(
        env.open(&b, b"ctx", &blobs[0]).await,
        Err(KeysError::Decrypt)
    ));
    assert_eq!(env.stats().unwraps, 1);
    assert!(matches!(
        env.open(&a, b"other", &blobs[0]).await,
        Err(KeysError::Decrypt)
    ));
    // TTL: after it passes, sealing wraps a new key and opening unwraps again.
    clock.advance(Duration::from_secs(61));
    env.seal(&a, b"ctx", b"later").await.unwrap();
    assert_eq!(env.stats().wraps, 3);
    env.open(&a, b"ctx", &blobs[0]).await.unwrap();
    assert_eq!(env.stats().unwraps, 2);
    // Structure errors are typed; bit flips never open.
    assert!(matches!(
        env.open(&a, b"ctx", &[]).await,
        Err(KeysError::Truncated(0))
    ));
    assert!(matches!(
        env.open(&a, b"ctx", &[0x09, 0, 0]).await,
        Err(KeysError::UnknownFormat(9))
    ));
    assert!(matches!(
        env.open(&a, b"ctx", &[0x03, 0x07, 0]).await,
        Err(KeysError::UnknownKeySource(7))
    ));
    // A sealer blob is not an envelope blob: said so, not "decryption failed".
    let sealed = common::sealer().seal(&a, b"ctx", b"m").unwrap();
    assert!(matches!(
        env.open(&a, b"ctx", &sealed).await,
        Err(KeysError::OtherKeySource("a sealed"))
    ));
    let blob = &blobs[1];
    for i in 0..blob.len() {
        let mut bad = blob.clone();
        bad[i] ^= 0x80;
        assert!(env.open(&a, b"ctx", &bad).await.is_err(), "byte {i}");
        assert!(
            env.open(&a, b"ctx", &blob[..i]).await.is_err(),
            "truncated to {i}"
        );
    }
}

#[tokio::test]
async fn envelope_fails_closed_when_the_kms_is_down() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let kms = Arc::new(Flaky {
        inner: local(),
        down: AtomicBool::new(false),
    });
    let env = envelope(kms.clone(), &clock, EnvelopeConfig::default());
    let t = tenant("acme");
    let blob = env.seal(&t, b"c", b"x").await.unwrap();
    env.clear_cache();
    kms.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        env.seal(&t, b"c", b"y").await,
        Err(KeysError::Backend(_))
    ));
    assert!(matches!(
        env.open(&t, b"c", &blob).await,
        Err(KeysError::Backend(_))
    ));
    kms.down.store(false, Ordering::SeqCst);
    assert_eq!(
        env.open(&t, b"c", &blob).await.unwrap().expose_secret(),
        b"x"
    );
}

#[test]
fn kms_trait_is_dyn_compatible() {
    let k: Arc<dyn Kms> = Arc::new(local());
    assert!(format!("{k:?}").contains("LocalKms"));
}

/// Issue 15 finding: a blob naming an unknown key-encryption key must not echo its bytes
/// (newlines included) into the error; a short hex prefix and the length are shown.
#[tokio::test]
async fn an_unknown_kek_in_a_blob_is_shown_as_a_short_hex_prefix() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let env = envelope(Arc::new(local()), &clock, EnvelopeConfig::default());
    let blob = env.seal(&tenant("acme"), b"ctx", b"m").await.unwrap();
    // Rewrite the KEK name field (after the format and source bytes and its 2-byte length).
    let old_len = usize::from(u16::from_be_bytes([blob[2], blob[3]]));
    let evil = b"evil\nkek: injected line\r\n\x1b[31m".to_vec();
    let mut forged = vec![blob[0], blob[1]];
    forged.extend_from_slice(&u16::try_from(evil.len()).unwrap().to_be_bytes());
    forged.extend_from_slice(&evil);
    forged.extend_from_slice(&blob[4 + old_len..]);
    let err = env
        .open(&tenant("acme"), b"ctx", &forged)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KeysError::UnknownKek(_)), "{err:?}");
    assert!(
        !text.contains('\n') && !text.contains('\r') && !text.contains('\x1b'),
        "{text:?}"
    );
    assert!(
        !text.contains("evil") && !text.contains("injected"),
        "{text:?}"
    );
    assert!(
        text.contains("6576696c0a6b656b") && text.contains(&format!("({} bytes)", evil.len())),
        "{text:?}"
    );
}

/// A KMS that counts its calls, answers after a delay, and can be switched off.
#[derive(Debug)]
struct Slow {
    inner: LocalKms,
    down: AtomicBool,
    wraps: std::sync::atomic::AtomicU64,
    unwraps: std::sync::atomic::AtomicU64,
}

impl Slow {
    fn new() -> Self {
        Self {
            inner: local(),
            down: AtomicBool::new(false),
            wraps: 0.into(),
            unwraps: 0.into(),
        }
    }
}

#[async_trait]
impl Kms for Slow {
    async fn generate_data_key(
        &self,
        kek: &KeyId,
        ctx: &KmsContext,
    ) -> Result<GeneratedKey, KeysError> {
        self.wraps.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::timeout("kms generate").into());
        }
        self.inner.generate_data_key(kek, ctx).await
    }
    async fn wrap(
        &self,
        kek: &KeyId,
        dk: &DataKey,
        ctx: &KmsContext,
    ) -> Result<WrappedKey, KeysError> {
        self.wraps.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::timeout("kms wrap").into());
        }
        self.inner.wrap(kek, dk, ctx).await
    }
    async fn unwrap(
        &self,
        kek: &KeyId,
        w: &WrappedKey,
        ctx: &KmsContext,
    ) -> Result<DataKey, KeysError> {
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::timeout("kms unwrap").into());
        }
        self.inner.unwrap(kek, w, ctx).await
    }
}

async fn all<T: Send + 'static>(
    n: usize,
    f: impl Fn() -> futures::future::BoxFuture<'static, T>,
) -> Vec<T> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let fut = f();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Issue 15 finding: on a cold cache, 64 concurrent seals make one KMS wrap (before: 64)
/// and 64 concurrent opens of blobs under one wrapped key make one unwrap (before: 64);
/// on a failing KMS, 64 seals make one call and all fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cold_cache_calls_the_kms_once_whatever_the_concurrency() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let kms = Arc::new(Slow::new());
    let env = Arc::new(envelope(kms.clone(), &clock, EnvelopeConfig::default()));
    let sealed = all(64, || {
        let env = Arc::clone(&env);
        Box::pin(async move { env.seal(&tenant("acme"), b"ctx", b"m").await.unwrap() })
    })
    .await;
    assert_eq!(kms.wraps.load(Ordering::SeqCst), 1);
    assert_eq!(env.stats().wraps, 1);
    // A fresh envelope (another process) opens them all with one unwrap.
    let reader = Arc::new(envelope(kms.clone(), &clock, EnvelopeConfig::default()));
    let sealed = Arc::new(sealed);
    let n = std::sync::atomic::AtomicUsize::new(0);
    let opened = all(64, || {
        let (reader, sealed) = (Arc::clone(&reader), Arc::clone(&sealed));
        let i = n.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { reader.open(&tenant("acme"), b"ctx", &sealed[i]).await })
    })
    .await;
    assert!(
        opened
            .iter()
            .all(|o| o.as_ref().unwrap().expose_secret() == b"m")
    );
    assert_eq!(kms.unwraps.load(Ordering::SeqCst), 1);
    // The KMS goes down: 64 cold seals for another tenant, one call, 64 typed errors.
    kms.down.store(true, Ordering::SeqCst);
    let failed = all(64, || {
        let env = Arc::clone(&env);
        Box::pin(async move { env.seal(&tenant("globex"), b"ctx", b"m").await })
    })
    .await;
    assert!(
        failed
            .iter()
            .all(|r| matches!(r, Err(KeysError::Backend(_))))
    );
    assert_eq!(kms.wraps.load(Ordering::SeqCst), 2);
    // And it recovers: the next seal calls again.
    kms.down.store(false, Ordering::SeqCst);
    env.seal(&tenant("globex"), b"ctx", b"m").await.unwrap();
    assert_eq!(kms.wraps.load(Ordering::SeqCst), 3);
}

/// Issue 15 finding: the sealing cache is bounded, and expired keys are swept out
/// without being touched.
#[tokio::test]
async fn both_caches_are_bounded_and_swept() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let config = EnvelopeConfig {
        ttl: Duration::from_secs(60),
        max_uses: 1000,
        max_cached: 8,
    };
    let env = envelope(Arc::new(local()), &clock, config);
    let mut blobs = Vec::new();
    for i in 0..50 {
        let t = tenant(&format!("t{i}"));
        blobs.push((t.clone(), env.seal(&t, b"c", b"m").await.unwrap()));
        assert!(env.cached_keys().0 <= 8, "{:?}", env.cached_keys());
    }
    let reader = envelope(Arc::new(local()), &clock, config);
    for (t, b) in &blobs {
        reader.open(t, b"c", b).await.unwrap();
        assert!(reader.cached_keys().1 <= 8);
    }
    assert_eq!(env.cached_keys().0, 8);
    assert_eq!(reader.cached_keys().1, 8);
    clock.advance(Duration::from_secs(61));
    // The sealer's 8 sealing keys and the 8 opening keys it kept for its own blobs.
    assert_eq!(env.sweep_expired(), 16);
    assert_eq!(reader.sweep_expired(), 8);
    assert_eq!((env.cached_keys(), reader.cached_keys()), ((0, 0), (0, 0)));
}

/// Waiters on a failing unwrap share it (one KMS call) and get the same typed error the
/// caller got: the backend's kind and operation, `Decrypt` for a wrapped key the KMS
/// refuses, `UnknownKek` for a KEK it does not hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiters_on_a_failing_kms_call_get_its_typed_error() {
    use portcullis_core::BackendErrorKind;
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let kms = Arc::new(Slow::new());
    let writer = envelope(kms.clone(), &clock, EnvelopeConfig::default());
    let blob = Arc::new(writer.seal(&tenant("acme"), b"ctx", b"m").await.unwrap());
    // The KMS is down: 64 cold opens, one unwrap, 64 timeouts naming the KMS operation.
    kms.down.store(true, Ordering::SeqCst);
    let reader = Arc::new(envelope(kms.clone(), &clock, EnvelopeConfig::default()));
    let before = kms.unwraps.load(Ordering::SeqCst);
    let got = all(64, || {
        let (reader, blob) = (Arc::clone(&reader), Arc::clone(&blob));
        Box::pin(async move { reader.open(&tenant("acme"), b"ctx", &blob).await })
    })
    .await;
    assert_eq!(kms.unwraps.load(Ordering::SeqCst), before + 1);
    for r in &got {
        match r {
            Err(KeysError::Backend(e)) => {
                assert_eq!(e.kind(), BackendErrorKind::Timeout);
                assert_eq!(e.operation(), "kms unwrap");
            }
            other => panic!("{other:?}"),
        }
    }
    // Up again: a blob of another tenant's context does not unwrap (the KMS context binds
    // the tenant): every waiter gets `Decrypt`, from one call.
    kms.down.store(false, Ordering::SeqCst);
    let before = kms.unwraps.load(Ordering::SeqCst);
    let got = all(16, || {
        let (reader, blob) = (Arc::clone(&reader), Arc::clone(&blob));
        Box::pin(async move { reader.open(&tenant("globex"), b"ctx", &blob).await })
    })
    .await;
    assert!(
        got.iter().all(|r| matches!(r, Err(KeysError::Decrypt))),
        "{got:?}"
    );
    assert_eq!(kms.unwraps.load(Ordering::SeqCst), before + 1);
    // A KEK the KMS lacks: `UnknownKek` for every waiter of the one wrap.
    let orphan = Arc::new(Envelope::new(
        kms.clone(),
        KeyId::new("kek-gone").unwrap(),
        clock.provider(5),
        EnvelopeConfig::default(),
    ));
    let got = all(16, || {
        let orphan = Arc::clone(&orphan);
        Box::pin(async move { orphan.seal(&tenant("acme"), b"ctx", b"m").await })
    })
    .await;
    assert!(
        got.iter()
            .all(|r| matches!(r, Err(KeysError::UnknownKek(_)))),
        "{got:?}"
    );
}

/// A sweep drops keys that expired or used up their seals, and only those.
#[tokio::test]
async fn a_sweep_drops_exactly_the_spent_keys() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let config = EnvelopeConfig {
        ttl: Duration::from_secs(60),
        max_uses: 2,
        max_cached: 100,
    };
    let env = envelope(Arc::new(local()), &clock, config);
    for i in 0..3 {
        env.seal(&tenant(&format!("old{i}")), b"c", b"m")
            .await
            .unwrap();
    }
    clock.advance(Duration::from_secs(30));
    env.seal(&tenant("used"), b"c", b"m").await.unwrap();
    env.seal(&tenant("used"), b"c", b"m").await.unwrap(); // its 2 uses are spent
    env.seal(&tenant("fresh"), b"c", b"m").await.unwrap();
    assert_eq!(env.sweep_expired(), 1, "only the spent key");
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        env.sweep_expired(),
        6,
        "the three old keys, for sealing and for opening"
    );
    assert_eq!(env.cached_keys().0, 1);
}

/// Short KEK names are shown whole in hex, without an ellipsis.
#[tokio::test]
async fn short_unknown_kek_names_are_shown_whole() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let env = envelope(Arc::new(local()), &clock, EnvelopeConfig::default());
    let blob = env.seal(&tenant("acme"), b"ctx", b"m").await.unwrap();
    let old_len = usize::from(u16::from_be_bytes([blob[2], blob[3]]));
    for (name, shown) in [
        (&b"abc"[..], "616263 (3 bytes)"),
        (&b"12345678"[..], "3132333435363738 (8 bytes)"),
        (&b"123456789"[..], "3132333435363738… (9 bytes)"),
    ] {
        let mut forged = vec![blob[0], blob[1]];
        forged.extend_from_slice(&u16::try_from(name.len()).unwrap().to_be_bytes());
        forged.extend_from_slice(name);
        forged.extend_from_slice(&blob[4 + old_len..]);
        let text = env
            .open(&tenant("acme"), b"ctx", &forged)
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains(&format!("`{shown}`")), "{text}");
    }
}

/// A full sealing cache drops spent keys before evicting the oldest live one, and a sweep
/// of the opening cache counts only what it dropped.
#[tokio::test]
async fn a_full_cache_drops_spent_keys_first_and_sweeps_count_exactly() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let config = EnvelopeConfig {
        ttl: Duration::from_secs(60),
        max_uses: 2,
        max_cached: 2,
    };
    let env = envelope(Arc::new(local()), &clock, config);
    let b1 = env.seal(&tenant("b"), b"c", b"m").await.unwrap(); // oldest, 1 use
    clock.advance(Duration::from_secs(1));
    env.seal(&tenant("a"), b"c", b"m").await.unwrap();
    env.seal(&tenant("a"), b"c", b"m").await.unwrap(); // spent
    clock.advance(Duration::from_secs(1));
    env.seal(&tenant("c"), b"c", b"m").await.unwrap(); // full: `a` goes, `b` stays
    let wraps = env.stats().wraps;
    env.seal(&tenant("b"), b"c", b"m").await.unwrap();
    assert_eq!(env.stats().wraps, wraps, "b's key was kept");
    // Opening cache: one key expired of two.
    let reader = envelope(Arc::new(local()), &clock, config);
    reader.open(&tenant("b"), b"c", &b1).await.unwrap();
    clock.advance(Duration::from_secs(30));
    let c2 = env.seal(&tenant("c"), b"c", b"m").await.unwrap();
    reader.open(&tenant("c"), b"c", &c2).await.unwrap();
    clock.advance(Duration::from_secs(31));
    assert_eq!(reader.sweep_expired(), 1);
    assert_eq!(reader.cached_keys().1, 1);
}
