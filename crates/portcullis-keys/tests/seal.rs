//! Sealing and opening: round trips, every rejection path, derivation caching, usage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use portcullis_core::Provider;
use std::sync::Arc;

use common::{key, sealer, sealer_with, tenant, v};
use portcullis_keys::{
    KeysError, MasterKey, MasterKeys, Purpose, Sealer, SealerConfig, TenantSalt, UsagePolicy,
    UsageState, inspect,
};
use portcullis_testkit::SeededRandom;
use proptest::prelude::*;

const CTX: &[u8] = b"credential:42";

#[test]
fn round_trip_and_header() {
    let s = sealer();
    let t = tenant("acme");
    let blob = s.seal(&t, CTX, b"hunter2").unwrap();
    assert_eq!(blob.len(), 7 + portcullis_keys::OVERHEAD);
    assert_eq!((blob[0], blob[1]), (0x03, 0x01));
    assert_eq!(inspect(&blob).unwrap().key_version, v(1));
    assert!(inspect(&blob).unwrap().is_key_committing());
    assert_eq!(s.open(&t, CTX, &blob).unwrap().expose_secret(), b"hunter2");
    let empty = s.seal(&t, CTX, b"").unwrap();
    assert!(s.open(&t, CTX, &empty).unwrap().is_empty());
}

#[test]
fn wrong_tenant_context_or_purpose_fails_opaquely() {
    let s = sealer();
    let blob = s.seal(&tenant("acme"), CTX, b"secret").unwrap();
    assert!(matches!(
        s.open(&tenant("globex"), CTX, &blob),
        Err(KeysError::Decrypt)
    ));
    assert!(matches!(
        s.open(&tenant("acme"), b"credential:43", &blob),
        Err(KeysError::Decrypt)
    ));
    assert!(matches!(
        s.open(&tenant("acme"), b"", &blob),
        Err(KeysError::Decrypt)
    ));
    let other = Sealer::new(
        Purpose::new("oauth").unwrap(),
        MasterKeys::new(v(1), key(1)),
        Provider::from_parts(
            std::sync::Arc::new(portcullis_core::SystemClock),
            Arc::new(SeededRandom::new(1)),
        ),
    );
    assert!(matches!(
        other.open(&tenant("acme"), CTX, &blob),
        Err(KeysError::Decrypt)
    ));
}

#[test]
fn wrong_master_key_fails_opaquely() {
    let a = sealer_with(MasterKeys::new(v(1), key(1)), 1);
    let b = sealer_with(MasterKeys::new(v(1), key(2)), 1);
    let blob = a.seal(&tenant("acme"), CTX, b"secret").unwrap();
    assert!(matches!(
        b.open(&tenant("acme"), CTX, &blob),
        Err(KeysError::Decrypt)
    ));
}

#[test]
fn edited_key_version_fails() {
    let s = sealer();
    s.rotate(v(2), key(2)).unwrap();
    let t = tenant("acme");
    let mut blob = s.seal(&t, CTX, b"secret").unwrap();
    // Version 2 -> 1: the key exists but the commitment and key differ.
    blob[5] = 1;
    assert!(matches!(s.open(&t, CTX, &blob), Err(KeysError::Decrypt)));
    blob[5] = 9;
    assert!(matches!(s.open(&t, CTX, &blob), Err(KeysError::UnknownKeyVersion(x)) if x == v(9)));
    blob[5] = 0;
    assert!(matches!(
        s.open(&t, CTX, &blob),
        Err(KeysError::UnknownKeyVersion(_))
    ));
}

#[test]
fn retired_and_below_minimum_versions_are_refused() {
    let s = sealer();
    let t = tenant("acme");
    let old = s.seal(&t, CTX, b"v1").unwrap();
    s.rotate(v(2), key(2)).unwrap();
    assert_eq!(s.open(&t, CTX, &old).unwrap().expose_secret(), b"v1");
    s.set_min_decrypt_version(v(2)).unwrap();
    assert!(matches!(
        s.open(&t, CTX, &old),
        Err(KeysError::BelowMinimumVersion { version, minimum }) if version == v(1) && minimum == v(2)
    ));
    s.retire(v(1)).unwrap();
    assert!(matches!(s.open(&t, CTX, &old), Err(KeysError::RetiredKeyVersion(x)) if x == v(1)));
    assert!(matches!(s.retire(v(2)), Err(KeysError::MasterKeys(_))));
    assert!(matches!(
        s.rotate(v(1), key(1)),
        Err(KeysError::RetiredKeyVersion(_))
    ));
    assert!(matches!(
        s.rotate(v(2), key(9)),
        Err(KeysError::DuplicateKeyVersion(_))
    ));
    let status = s.keyring_status();
    assert_eq!(
        (
            status.primary,
            status.active.clone(),
            status.retired.clone()
        ),
        (v(2), vec![v(2)], vec![v(1)])
    );
}

#[test]
fn truncated_blobs_fail_structurally() {
    let s = sealer();
    let t = tenant("acme");
    let blob = s.seal(&t, CTX, b"secret").unwrap();
    for len in 0..blob.len() {
        let r = s.open(&t, CTX, &blob[..len]);
        match r {
            Err(KeysError::Truncated(n)) => {
                assert!(len < portcullis_keys::MIN_BLOB_LEN && n == len)
            }
            Err(KeysError::Decrypt) => assert!(len >= portcullis_keys::MIN_BLOB_LEN),
            other => panic!("len {len}: {other:?}"),
        }
    }
}

#[test]
fn flipping_any_bit_of_any_byte_fails() {
    let s = sealer();
    s.rotate(v(2), key(2)).unwrap();
    let t = tenant("acme");
    let blob = s.seal(&t, CTX, b"a credential of some length").unwrap();
    for i in 0..blob.len() {
        for bit in 0..8 {
            let mut bad = blob.clone();
            bad[i] ^= 1 << bit;
            let err = s.open(&t, CTX, &bad).expect_err("tampered blob opened");
            match i {
                // 0x03 becomes another format: unknown, format 1 (whose tag fails) or
                // format 2 (an envelope blob, refused by the sealer).
                0 => assert!(
                    matches!(
                        err,
                        KeysError::UnknownFormat(_)
                            | KeysError::Decrypt
                            | KeysError::UnknownKeyVersion(_)
                            | KeysError::OtherKeySource(_)
                            | KeysError::Truncated(_)
                    ),
                    "{err:?}"
                ),
                1 => assert!(matches!(err, KeysError::UnknownKeySource(_)), "{err:?}"),
                2..=5 => assert!(matches!(
                    err,
                    KeysError::UnknownKeyVersion(_) | KeysError::Decrypt
                )),
                _ => assert!(matches!(err, KeysError::Decrypt), "byte {i}: {err:?}"),
            }
        }
    }
}

#[test]
fn unknown_format_version_fails() {
    let s = sealer();
    let t = tenant("acme");
    let mut blob = s.seal(&t, CTX, b"secret").unwrap();
    for f in [0x00u8, 0x04, 0x7f, 0xff] {
        blob[0] = f;
        assert!(matches!(s.open(&t, CTX, &blob), Err(KeysError::UnknownFormat(x)) if x == f));
    }
    assert!(matches!(inspect(&[0x09]), Err(KeysError::UnknownFormat(9))));
}

#[test]
fn cache_hit_does_not_rederive() {
    let s = sealer();
    let (a, b) = (tenant("acme"), tenant("globex"));
    for _ in 0..10 {
        let blob = s.seal(&a, CTX, b"x").unwrap();
        s.open(&a, CTX, &blob).unwrap();
    }
    let st = s.cache_stats();
    assert_eq!((st.derivations, st.misses, st.hits), (1, 1, 19));
    s.seal(&b, CTX, b"x").unwrap();
    assert_eq!(s.cache_stats().derivations, 2);
    s.rotate(v(2), key(2)).unwrap();
    s.seal(&a, CTX, b"x").unwrap();
    s.seal(&a, CTX, b"x").unwrap();
    assert_eq!(s.cache_stats().derivations, 3);
    s.retire(v(1)).unwrap();
    let st = s.cache_stats();
    assert_eq!((st.entries, st.evictions), (1, 2));
}

#[test]
fn cache_is_bounded_and_evicts_least_recently_used() {
    let s = Sealer::with_config(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(v(1), key(1)),
        Provider::from_parts(
            std::sync::Arc::new(portcullis_core::SystemClock),
            Arc::new(SeededRandom::new(3)),
        ),
        SealerConfig {
            cache_capacity: 4,
            ..SealerConfig::default()
        },
    );
    let tenants: Vec<_> = (0..10).map(|i| tenant(&format!("t{i}"))).collect();
    let blobs: Vec<_> = tenants
        .iter()
        .map(|t| s.seal(t, CTX, b"x").unwrap())
        .collect();
    let st = s.cache_stats();
    assert_eq!((st.entries, st.evictions, st.derivations), (4, 6, 10));
    // Evicted keys are re-derived on demand and still open.
    for (t, blob) in tenants.iter().zip(&blobs) {
        assert_eq!(s.open(t, CTX, blob).unwrap().expose_secret(), b"x");
    }
    assert!(s.cache_stats().entries <= 4);
}

#[test]
fn destroying_a_tenant_salt_shreds_only_that_tenant() {
    let s = sealer();
    let rng = SeededRandom::new(11);
    let (a, b) = (tenant("acme"), tenant("globex"));
    let salt_a = TenantSalt::generate(1, &rng).unwrap();
    let salt_b = TenantSalt::generate(1, &rng).unwrap();
    let blob_a = s.seal_salted(&a, &salt_a, CTX, b"a").unwrap();
    let blob_b = s.seal_salted(&b, &salt_b, CTX, b"b").unwrap();
    // The salt is part of the key: unsalted or wrongly salted opens fail.
    assert!(matches!(s.open(&a, CTX, &blob_a), Err(KeysError::Decrypt)));
    assert!(matches!(
        s.open_salted(&a, &salt_b, CTX, &blob_a),
        Err(KeysError::Decrypt)
    ));
    // Shred tenant A: its salt is gone; a new salt (new epoch) cannot open old data.
    drop(salt_a);
    let before = s.cache_stats();
    s.forget_tenant(&a);
    let after = s.cache_stats();
    // Its cached keys (salted, unsalted, wrongly salted: 3) are gone (zeroized); the other
    // tenant's one stays.
    assert_eq!(
        (before.entries, after.entries),
        (4, 1),
        "{before:?} -> {after:?}"
    );
    assert_eq!(after.evictions, before.evictions + 3);
    let new_a = TenantSalt::generate(2, &rng).unwrap();
    assert!(matches!(
        s.open_salted(&a, &new_a, CTX, &blob_a),
        Err(KeysError::Decrypt)
    ));
    assert_eq!(
        s.open_salted(&b, &salt_b, CTX, &blob_b)
            .unwrap()
            .expose_secret(),
        b"b"
    );
    // Same epoch, different bytes: the cache must not confuse them.
    let forged = TenantSalt::from_slice(1, &[0u8; 32]).unwrap();
    assert!(matches!(
        s.open_salted(&b, &forged, CTX, &blob_b),
        Err(KeysError::Decrypt)
    ));
    assert!(TenantSalt::generate(0, &rng).is_err());
}

#[test]
fn usage_counters_warn_and_then_refuse() {
    let s = Sealer::with_config(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(v(1), key(1)),
        Provider::from_parts(
            std::sync::Arc::new(portcullis_core::SystemClock),
            Arc::new(SeededRandom::new(3)),
        ),
        SealerConfig {
            usage: UsagePolicy {
                warn_after: 3,
                limit: 5,
            },
            ..SealerConfig::default()
        },
    );
    let t = tenant("acme");
    let state = |s: &Sealer| {
        s.usage()
            .iter()
            .find(|u| u.version == v(1))
            .map(|u| (u.seals, u.state))
            .unwrap()
    };
    s.seal(&t, CTX, b"x").unwrap();
    assert_eq!(state(&s), (1, UsageState::Ok));
    s.seal(&t, CTX, b"x").unwrap();
    s.seal(&t, CTX, b"x").unwrap();
    assert_eq!(state(&s), (3, UsageState::Warning));
    s.seal(&t, CTX, b"x").unwrap();
    s.seal(&t, CTX, b"x").unwrap();
    assert_eq!(state(&s), (5, UsageState::Exhausted));
    assert!(matches!(s.seal(&t, CTX, b"x"), Err(KeysError::SealLimitReached(x)) if x == v(1)));
    assert_eq!(state(&s).0, 5);
    // Rotation restores sealing; opening old blobs is not counted.
    s.rotate(v(2), key(2)).unwrap();
    let blob = s.seal(&t, CTX, b"x").unwrap();
    s.open(&t, CTX, &blob).unwrap();
    assert_eq!(
        s.usage().iter().find(|u| u.version == v(2)).unwrap().seals,
        1
    );
    s.restore_usage(v(2), 2).unwrap();
    assert_eq!(
        s.usage().iter().find(|u| u.version == v(2)).unwrap().state,
        UsageState::Warning
    );
    let d = UsagePolicy::default();
    assert_eq!((d.warn_after, d.limit), (1 << 31, 1 << 32));
}

#[test]
fn no_secret_in_debug_or_serde_output() {
    let master = MasterKey::new([0xAB; 32]);
    let s = sealer_with(MasterKeys::new(v(1), master.clone()), 1);
    let t = tenant("acme");
    let blob = s.seal(&t, CTX, b"PLAINTEXT-MARKER").unwrap();
    let opened = s.open(&t, CTX, &blob).unwrap();
    let salt = TenantSalt::from_slice(1, &[0xCD; 32]).unwrap();
    let dumps = [
        format!("{master:?}"),
        format!("{s:?}"),
        format!("{opened:?}"),
        format!("{salt:?}"),
        format!("{:?}", MasterKeys::new(v(1), master.clone())),
        serde_json::to_string(&s.keyring_status()).unwrap(),
        serde_json::to_string(&s.usage()).unwrap(),
        serde_json::to_string(&s.cache_stats()).unwrap(),
    ];
    for d in &dumps {
        let lower = d.to_lowercase();
        for needle in ["abab", "171, 171", "cdcd", "205, 205", "plaintext-marker"] {
            assert!(!lower.contains(needle), "secret leaked in {d}");
        }
    }
    assert!(dumps[0].contains("redacted"));
}

#[test]
fn keyring_rules() {
    let mut ring = MasterKeys::new(v(2), key(2));
    ring.insert(v(1), key(1)).unwrap();
    assert!(matches!(
        ring.insert(v(1), key(1)),
        Err(KeysError::DuplicateKeyVersion(_))
    ));
    assert!(matches!(
        ring.rotate(v(2), key(3)),
        Err(KeysError::DuplicateKeyVersion(_))
    ));
    ring.rotate(v(5), key(5)).unwrap();
    assert!(matches!(
        ring.rotate(v(4), key(4)),
        Err(KeysError::MasterKeys(_))
    ));
    assert!(matches!(
        ring.set_min_decrypt_version(v(6)),
        Err(KeysError::MasterKeys(_))
    ));
    ring.set_primary(v(2)).unwrap();
    assert_eq!(ring.primary(), v(2));
    assert!(KeyVersion_zero_is_rejected());
    assert!(MasterKey::from_slice(&[0u8; 31]).is_err());
}

#[allow(non_snake_case)]
fn KeyVersion_zero_is_rejected() -> bool {
    portcullis_keys::KeyVersion::new(0).is_err()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn prop_round_trip_and_binding(
        pt in proptest::collection::vec(any::<u8>(), 0..512),
        ctx in proptest::collection::vec(any::<u8>(), 0..64),
        other_ctx in proptest::collection::vec(any::<u8>(), 0..64),
        t in "[a-z][a-z0-9-]{0,20}",
    ) {
        let s = sealer();
        let tid = tenant(&t);
        let blob = s.seal(&tid, &ctx, &pt).unwrap();
        let opened = s.open(&tid, &ctx, &blob).unwrap();
        prop_assert_eq!(opened.expose_secret(), pt.as_slice());
        if other_ctx != ctx {
            prop_assert!(matches!(s.open(&tid, &other_ctx, &blob), Err(KeysError::Decrypt)));
        }
    }

    #[test]
    fn prop_arbitrary_blobs_never_open(blob in proptest::collection::vec(any::<u8>(), 0..128)) {
        let s = sealer();
        prop_assert!(s.open(&tenant("acme"), CTX, &blob).is_err());
    }
}

#[test]
fn sealing_and_opening_stay_correct_while_keys_rotate_concurrently() {
    let s = sealer();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let s = &s;
                scope.spawn(move || {
                    let t = tenant(&format!("t{w}"));
                    let mut versions = std::collections::BTreeSet::new();
                    for i in 0..2_000u32 {
                        let ctx = i.to_be_bytes();
                        let blob = s.seal(&t, &ctx, &ctx).unwrap();
                        versions.insert(inspect(&blob).unwrap().key_version);
                        assert_eq!(s.open(&t, &ctx, &blob).unwrap().expose_secret(), &ctx);
                    }
                    versions
                })
            })
            .collect();
        for n in 2..=20 {
            s.rotate(v(n), key(n as u8)).unwrap();
            std::thread::yield_now();
        }
        let seen: std::collections::BTreeSet<_> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        assert!(seen.contains(&v(1)) || seen.contains(&v(20)));
    });
    assert_eq!(s.keyring_status().primary, v(20));
    let total: u64 = s.usage().iter().map(|u| u.seals).sum();
    assert_eq!(total, 8_000);
}

#[test]
fn the_least_recently_used_key_is_the_one_evicted() {
    let s = Sealer::with_config(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(v(1), key(1)),
        Provider::from_parts(
            std::sync::Arc::new(portcullis_core::SystemClock),
            Arc::new(SeededRandom::new(3)),
        ),
        SealerConfig {
            cache_capacity: 3,
            ..SealerConfig::default()
        },
    );
    let t: Vec<_> = (0..4).map(|i| tenant(&format!("t{i}"))).collect();
    for x in &t[..3] {
        s.seal(x, CTX, b"x").unwrap();
    }
    s.seal(&t[0], CTX, b"x").unwrap(); // t0 is now the most recent; t1 the least
    s.seal(&t[3], CTX, b"x").unwrap(); // evicts t1
    assert_eq!(s.cache_stats().derivations, 4);
    s.seal(&t[0], CTX, b"x").unwrap();
    s.seal(&t[2], CTX, b"x").unwrap();
    assert_eq!(
        s.cache_stats().derivations,
        4,
        "t0 and t2 must still be cached"
    );
    s.seal(&t[1], CTX, b"x").unwrap();
    assert_eq!(s.cache_stats().derivations, 5, "t1 was evicted");
}
