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
    DataKey, Envelope, EnvelopeConfig, KeysError, Kms, KmsContext, LocalKms, WrappedKey,
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
    assert_eq!(env.stats().unwraps, 2, "one unwrap per distinct data key");
    // Copied to another tenant, the wrapped key's KMS context no longer matches.
    assert!(matches!(
        env.open(&b, b"ctx", &blobs[0]).await,
        Err(KeysError::Decrypt)
    ));
    assert_eq!(env.stats().unwraps, 3);
    assert!(matches!(
        env.open(&a, b"other", &blobs[0]).await,
        Err(KeysError::Decrypt)
    ));
    // TTL: after it passes, sealing wraps a new key and opening unwraps again.
    clock.advance(Duration::from_secs(61));
    env.seal(&a, b"ctx", b"later").await.unwrap();
    assert_eq!(env.stats().wraps, 3);
    env.open(&a, b"ctx", &blobs[0]).await.unwrap();
    assert_eq!(env.stats().unwraps, 4);
    // Structure errors are typed; bit flips never open.
    assert!(matches!(
        env.open(&a, b"ctx", &[]).await,
        Err(KeysError::Truncated(0))
    ));
    assert!(matches!(
        env.open(&a, b"ctx", &[0x01, 0, 0]).await,
        Err(KeysError::UnknownFormat(1))
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
