//! The secret resolver: TTL, single-flight, environment fallback, serve-stale.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::{BackendError, Provider, SecretString, UnixTime};
use portcullis_keys::{
    EnvFallback, KeysError, ResolverConfig, SecretName, SecretResolver, SecretSource,
};
use portcullis_testkit::ManualClock;

#[derive(Debug, Default)]
struct Db {
    values: Mutex<HashMap<String, String>>,
    calls: AtomicU64,
    down: AtomicBool,
    delay_ms: u64,
}

#[async_trait]
impl SecretSource for Db {
    async fn fetch(&self, name: &SecretName) -> Result<Option<SecretString>, KeysError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(BackendError::unavailable(
                "fetch secret",
                std::io::Error::other("db down"),
            )
            .into());
        }
        Ok(self
            .values
            .lock()
            .unwrap()
            .get(name.as_str())
            .cloned()
            .map(SecretString::new))
    }
}

fn name(s: &str) -> SecretName {
    SecretName::new(s).unwrap()
}

fn setup(db: Arc<Db>, config: ResolverConfig) -> (SecretResolver, ManualClock) {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let env =
        EnvFallback::with_lookup(|var| (var == "APP_DB_PASSWORD").then(|| "from-env".to_owned()))
            .bootstrap(name("db.password"), "APP_DB_PASSWORD");
    (
        SecretResolver::new(
            db,
            env,
            Provider::with_clock(Arc::new(clock.clone())),
            config,
        ),
        clock,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_fetch_once() {
    let db = Arc::new(Db {
        delay_ms: 50,
        ..Db::default()
    });
    db.values
        .lock()
        .unwrap()
        .insert("stripe.key".into(), "sk_1".into());
    let (resolver, _clock) = setup(db.clone(), ResolverConfig::default());
    let resolver = Arc::new(resolver);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let r = resolver.clone();
            tokio::spawn(async move {
                r.get(&name("stripe.key"))
                    .await
                    .unwrap()
                    .expose_secret()
                    .to_owned()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "sk_1");
    }
    assert_eq!(
        db.calls.load(Ordering::SeqCst),
        1,
        "stampede: more than one fetch"
    );
    let st = resolver.stats();
    assert_eq!((st.fetches, st.hits), (1, 63));
}

#[tokio::test]
async fn ttl_defaults_to_five_minutes() {
    assert_eq!(ResolverConfig::default().ttl, Duration::from_secs(300));
    assert_eq!(ResolverConfig::default().serve_stale_for, None);
    let db = Arc::new(Db::default());
    db.values.lock().unwrap().insert("k".into(), "v1".into());
    let (r, clock) = setup(db.clone(), ResolverConfig::default());
    assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v1");
    db.values.lock().unwrap().insert("k".into(), "v2".into());
    clock.advance(Duration::from_secs(299));
    assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v1");
    clock.advance(Duration::from_secs(1));
    assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v2");
    assert_eq!(db.calls.load(Ordering::SeqCst), 2);
    db.values.lock().unwrap().insert("k".into(), "v3".into());
    r.invalidate(&name("k"));
    assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v3");
}

#[tokio::test]
async fn outage_fails_closed_by_default_and_serves_stale_when_enabled() {
    for stale in [None, Some(Duration::from_secs(600))] {
        let db = Arc::new(Db::default());
        db.values.lock().unwrap().insert("k".into(), "v1".into());
        let (r, clock) = setup(
            db.clone(),
            ResolverConfig {
                serve_stale_for: stale,
                ..ResolverConfig::default()
            },
        );
        r.get(&name("k")).await.unwrap();
        clock.advance(Duration::from_secs(301));
        db.down.store(true, Ordering::SeqCst);
        let got = r.get(&name("k")).await;
        match stale {
            None => assert!(matches!(got, Err(KeysError::Backend(_)))),
            Some(_) => {
                assert_eq!(got.unwrap().expose_secret(), "v1");
                assert_eq!(r.stats().stale_served, 1);
                // Past the stale window it fails closed too.
                clock.advance(Duration::from_secs(600));
                assert!(matches!(
                    r.get(&name("k")).await,
                    Err(KeysError::Backend(_))
                ));
            }
        }
        // Recovery, once the failure is no longer remembered (1 s by default).
        db.down.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(2));
        assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v1");
    }
}

#[tokio::test]
async fn environment_is_only_a_fallback_for_bootstrap_secrets() {
    let db = Arc::new(Db::default());
    let (r, _clock) = setup(db.clone(), ResolverConfig::default());
    // Not in the DB: bootstrap name comes from env; other names are not found.
    assert_eq!(
        r.get(&name("db.password")).await.unwrap().expose_secret(),
        "from-env"
    );
    assert!(
        matches!(r.get(&name("other")).await, Err(KeysError::SecretNotFound(n)) if n == "other")
    );
    assert_eq!(r.stats().env_fallbacks, 1);
    // The environment value is not cached: a value stored at the source takes over on
    // the next call, within what would have been the TTL.
    db.values
        .lock()
        .unwrap()
        .insert("db.password".into(), "from-db".into());
    assert_eq!(
        r.get(&name("db.password")).await.unwrap().expose_secret(),
        "from-db"
    );
    // DB down: the environment is never read on a source error; bootstrap names fail
    // closed like any other.
    let db2 = Arc::new(Db::default());
    db2.down.store(true, Ordering::SeqCst);
    let (r2, _c) = setup(db2.clone(), ResolverConfig::default());
    assert!(matches!(
        r2.get(&name("db.password")).await,
        Err(KeysError::Backend(_))
    ));
    assert!(matches!(
        r2.get(&name("api.key")).await,
        Err(KeysError::Backend(_))
    ));
    assert_eq!(r2.stats().env_fallbacks, 0);
    // The DB wins when it has a value.
    let db3 = Arc::new(Db::default());
    db3.values
        .lock()
        .unwrap()
        .insert("db.password".into(), "from-db".into());
    let (r3, _c) = setup(db3, ResolverConfig::default());
    assert_eq!(
        r3.get(&name("db.password")).await.unwrap().expose_secret(),
        "from-db"
    );
    assert!(!format!("{r3:?}").contains("from-db"));
}

#[tokio::test]
async fn secret_deleted_at_the_source_does_not_reappear_from_the_environment() {
    // Served from the environment while the source has no value, then the source fails:
    // the error must surface, not the environment value (nothing was cached from it).
    let db = Arc::new(Db::default());
    let (r, clock) = setup(db.clone(), ResolverConfig::default());
    assert_eq!(
        r.get(&name("db.password")).await.unwrap().expose_secret(),
        "from-env"
    );
    db.down.store(true, Ordering::SeqCst);
    assert!(matches!(
        r.get(&name("db.password")).await,
        Err(KeysError::Backend(_))
    ));
    // A source value that was deleted, with the source then down past the TTL and no
    // serve-stale: error, not the environment. (Past the remembered failure first.)
    db.down.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    db.values
        .lock()
        .unwrap()
        .insert("db.password".into(), "from-db".into());
    assert_eq!(
        r.get(&name("db.password")).await.unwrap().expose_secret(),
        "from-db"
    );
    db.values.lock().unwrap().remove("db.password");
    db.down.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(301));
    assert!(matches!(
        r.get(&name("db.password")).await,
        Err(KeysError::Backend(_))
    ));
    // With serve-stale on, an outage serves the last source value (bounded), never the
    // environment value.
    let db2 = Arc::new(Db::default());
    db2.values
        .lock()
        .unwrap()
        .insert("db.password".into(), "from-db".into());
    let config = ResolverConfig {
        serve_stale_for: Some(Duration::from_secs(60)),
        ..ResolverConfig::default()
    };
    let (r2, clock2) = setup(db2.clone(), config);
    r2.get(&name("db.password")).await.unwrap();
    db2.down.store(true, Ordering::SeqCst);
    clock2.advance(Duration::from_secs(330));
    assert_eq!(
        r2.get(&name("db.password")).await.unwrap().expose_secret(),
        "from-db"
    );
    clock2.advance(Duration::from_secs(60));
    assert!(matches!(
        r2.get(&name("db.password")).await,
        Err(KeysError::Backend(_))
    ));
    assert_eq!(r2.stats().env_fallbacks, 0);
}

#[test]
fn secret_names_are_validated() {
    for bad in ["", "-x", "a b", "a\nb", &"a".repeat(129)] {
        assert!(SecretName::new(bad).is_err(), "{bad:?}");
    }
    assert!(SecretName::new("integrations/stripe:live.key_1").is_ok());
}

/// Issue 15 finding: 64 concurrent callers on a failing source make one call (before:
/// 64 serialized calls), all get the failure, and the failure is remembered briefly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_a_failing_source_call_it_once() {
    let db = Arc::new(Db {
        delay_ms: 20,
        ..Db::default()
    });
    db.down.store(true, Ordering::SeqCst);
    let (r, clock) = setup(db.clone(), ResolverConfig::default());
    let r = Arc::new(r);
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (r, barrier) = (Arc::clone(&r), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                r.get(&name("k")).await
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(KeysError::Backend(_))));
    }
    assert_eq!(db.calls.load(Ordering::SeqCst), 1);
    // Within the failure TTL: the same answer without a call; after it, a new call.
    assert!(matches!(
        r.get(&name("k")).await,
        Err(KeysError::Backend(_))
    ));
    assert_eq!(db.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_millis(1001));
    db.down.store(false, Ordering::SeqCst);
    db.values.lock().unwrap().insert("k".into(), "v".into());
    assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v");
    assert_eq!(db.calls.load(Ordering::SeqCst), 2);
}

/// Concurrent callers for a name the source lacks also share one call, and each gets
/// "not found" (or the bootstrap value).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_for_a_missing_secret_call_once() {
    let db = Arc::new(Db {
        delay_ms: 20,
        ..Db::default()
    });
    let (r, _clock) = setup(db.clone(), ResolverConfig::default());
    let r = Arc::new(r);
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (r, barrier) = (Arc::clone(&r), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let n = if i % 2 == 0 { "absent" } else { "db.password" };
                (i, r.get(&name(n)).await)
            })
        })
        .collect();
    for t in tasks {
        match t.await.unwrap() {
            (i, Err(KeysError::SecretNotFound(_))) if i % 2 == 0 => {}
            (i, Ok(v)) if i % 2 == 1 => assert_eq!(v.expose_secret(), "from-env"),
            (i, other) => panic!("{i}: {other:?}"),
        }
    }
    assert_eq!(db.calls.load(Ordering::SeqCst), 2, "one call per name");
    // Not cached: a later call asks again.
    r.get(&name("db.password")).await.unwrap();
    assert_eq!(db.calls.load(Ordering::SeqCst), 3);
}

/// Issue 15 finding: with serve-stale on, a secret deleted at the source must not come
/// back during a later outage.
#[tokio::test]
async fn a_secret_deleted_at_the_source_is_not_served_stale_later() {
    let db = Arc::new(Db::default());
    db.values.lock().unwrap().insert("k".into(), "v1".into());
    let (r, clock) = setup(
        db.clone(),
        ResolverConfig {
            serve_stale_for: Some(Duration::from_secs(3600)),
            ..ResolverConfig::default()
        },
    );
    assert_eq!(r.get(&name("k")).await.unwrap().expose_secret(), "v1");
    db.values.lock().unwrap().clear();
    clock.advance(Duration::from_secs(301));
    assert!(matches!(
        r.get(&name("k")).await,
        Err(KeysError::SecretNotFound(_))
    ));
    db.down.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(10));
    assert!(matches!(
        r.get(&name("k")).await,
        Err(KeysError::Backend(_))
    ));
    assert_eq!(r.stats().stale_served, 0);
}

/// A remembered failure keeps the source's kind and operation, and ends exactly at
/// `failure_ttl`.
#[tokio::test]
async fn a_remembered_failure_is_the_sources_and_ends_on_time() {
    use portcullis_core::BackendErrorKind;
    let db = Arc::new(Db::default());
    db.down.store(true, Ordering::SeqCst);
    let (r, clock) = setup(db.clone(), ResolverConfig::default());
    assert!(r.get(&name("k")).await.is_err());
    clock.advance(Duration::from_millis(999));
    match r.get(&name("k")).await {
        Err(KeysError::Backend(e)) => {
            assert_eq!(e.kind(), BackendErrorKind::Unavailable);
            assert_eq!(e.operation(), "fetch secret");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(db.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_millis(1));
    assert!(r.get(&name("k")).await.is_err());
    assert_eq!(db.calls.load(Ordering::SeqCst), 2, "asked again at 1 s");
}
