//! portcullis-keys against bare `ring`, bare RustCrypto `aes-gcm` and bare `aws-lc-rs` (our
//! backend), in the same run.
//!
//! Every seal includes drawing a 96-bit nonce from the OS generator (`OsRandom`), for the
//! bare peers too, so the comparison is like for like.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use portcullis_core::KeyId;
use portcullis_core::{OsRandom, Provider, SecureRandom, TenantId};
use portcullis_keys::{
    Envelope, EnvelopeConfig, KeyVersion, LocalKms, MasterKey, MasterKeys, Purpose, Sealer,
    SealerConfig,
};
use ring::aead::{AES_256_GCM, LessSafeKey, UnboundKey};

const SIZES: [(usize, &str); 2] = [(256, "256B"), (1 << 20, "1MiB")];
const CTX: &[u8] = b"credential:42";

fn sealer(capacity: usize) -> Sealer {
    Sealer::with_config(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(KeyVersion::new(1).unwrap(), MasterKey::new([7; 32])),
        Provider::system(),
        SealerConfig {
            cache_capacity: capacity,
            ..SealerConfig::default()
        },
    )
}

/// Bare seal and open with a ring-shaped AEAD API (`ring` and `aws-lc-rs` share it).
macro_rules! bare_gcm {
    ($seal:ident, $open:ident, $krate:ident) => {
        fn $seal(key: &$krate::aead::LessSafeKey, rng: &OsRandom, pt: &[u8]) -> Vec<u8> {
            use $krate::aead as a;
            let mut nonce = [0u8; 12];
            rng.fill(&mut nonce).unwrap();
            let mut out = Vec::with_capacity(12 + pt.len() + 16);
            out.extend_from_slice(&nonce);
            out.extend_from_slice(pt);
            let tag = key
                .seal_in_place_separate_tag(
                    a::Nonce::assume_unique_for_key(nonce),
                    a::Aad::from(CTX),
                    &mut out[12..],
                )
                .unwrap();
            out.extend_from_slice(tag.as_ref());
            out
        }

        fn $open(key: &$krate::aead::LessSafeKey, blob: &[u8]) -> Vec<u8> {
            use $krate::aead as a;
            let nonce = a::Nonce::try_assume_unique_for_key(&blob[..12]).unwrap();
            let mut buf = blob[12..].to_vec();
            let len = key
                .open_in_place(nonce, a::Aad::from(CTX), &mut buf)
                .unwrap()
                .len();
            buf.truncate(len);
            buf
        }
    };
}

bare_gcm!(ring_seal, ring_open, ring);
bare_gcm!(lc_seal, lc_open, aws_lc_rs);

fn rc_seal(key: &aes_gcm::Aes256Gcm, rng: &OsRandom, pt: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rng.fill(&mut nonce).unwrap();
    let mut out = Vec::with_capacity(12 + pt.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(pt);
    let tag = key
        .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&nonce), CTX, &mut out[12..])
        .unwrap();
    out.extend_from_slice(&tag);
    out
}

fn rc_open(key: &aes_gcm::Aes256Gcm, blob: &[u8]) -> Vec<u8> {
    let (body, tag) = blob[12..].split_at(blob.len() - 12 - 16);
    let mut buf = body.to_vec();
    key.decrypt_in_place_detached(
        aes_gcm::Nonce::from_slice(&blob[..12]),
        CTX,
        &mut buf,
        aes_gcm::Tag::from_slice(tag),
    )
    .unwrap();
    buf
}

fn bench_seal_open(c: &mut Criterion) {
    let rng = OsRandom;
    let tenant = TenantId::new("acme").unwrap();
    let ours = sealer(1024);
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let rc_key = aes_gcm::Aes256Gcm::new_from_slice(&[7; 32]).unwrap();
    let lc_key = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &[7; 32]).unwrap(),
    );
    for (size, label) in SIZES {
        let pt = vec![0x5a; size];
        let mut g = c.benchmark_group(format!("seal_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("portcullis_keys", |b| {
            b.iter(|| ours.seal(&tenant, CTX, black_box(&pt)).unwrap())
        });
        g.bench_function("ring_bare", |b| {
            b.iter(|| ring_seal(&ring_key, &rng, black_box(&pt)))
        });
        g.bench_function("aes_gcm_bare", |b| {
            b.iter(|| rc_seal(&rc_key, &rng, black_box(&pt)))
        });
        g.bench_function("aws_lc_rs_bare", |b| {
            b.iter(|| lc_seal(&lc_key, &rng, black_box(&pt)))
        });
        g.finish();

        let blob = ours.seal(&tenant, CTX, &pt).unwrap();
        let ring_blob = ring_seal(&ring_key, &rng, &pt);
        let rc_blob = rc_seal(&rc_key, &rng, &pt);
        let lc_blob = lc_seal(&lc_key, &rng, &pt);
        let mut g = c.benchmark_group(format!("open_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("portcullis_keys", |b| {
            b.iter(|| ours.open(&tenant, CTX, black_box(&blob)).unwrap())
        });
        g.bench_function("ring_bare", |b| {
            b.iter(|| ring_open(&ring_key, black_box(&ring_blob)))
        });
        g.bench_function("aes_gcm_bare", |b| {
            b.iter(|| rc_open(&rc_key, black_box(&rc_blob)))
        });
        g.bench_function("aws_lc_rs_bare", |b| {
            b.iter(|| lc_open(&lc_key, black_box(&lc_blob)))
        });
        g.finish();
    }
}

fn bench_derivation(c: &mut Criterion) {
    let pt = [0x5a; 256];
    let tenants = [
        TenantId::new("acme").unwrap(),
        TenantId::new("globex").unwrap(),
    ];
    let mut g = c.benchmark_group("derive_seal_256B");
    // Cached: one tenant, its key stays in the cache.
    let cached = sealer(1024);
    g.bench_function(BenchmarkId::new("cached", "hit"), |b| {
        b.iter(|| cached.seal(&tenants[0], CTX, black_box(&pt)).unwrap())
    });
    // Cold: a one-entry cache and two alternating tenants, so every seal runs HKDF.
    let cold = sealer(1);
    let mut i = 0usize;
    g.bench_function(BenchmarkId::new("cold", "hkdf_every_seal"), |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            cold.seal(&tenants[i % 2], CTX, black_box(&pt)).unwrap()
        })
    });
    g.finish();
    assert!(cold.cache_stats().derivations > cold.cache_stats().hits);
}

/// Envelope seal with a cached data key (no KMS call after the first), against the format 3
/// sealer and bare ring / aes-gcm at 256 B. The future completes without waiting, so it is
/// polled to completion in place.
fn bench_envelope(c: &mut Criterion) {
    let pt = [0x5a; 256];
    let kek = KeyId::new("kek-bench").unwrap();
    let kms = LocalKms::new(Provider::system())
        .with_kek(kek.clone(), &MasterKey::new([9; 32]))
        .unwrap();
    let envelope = Envelope::new(
        std::sync::Arc::new(kms),
        kek,
        Provider::system(),
        EnvelopeConfig {
            max_uses: u64::MAX,
            ..EnvelopeConfig::default()
        },
    );
    let tenant = TenantId::new("acme").unwrap();
    futures::executor::block_on(envelope.seal(&tenant, CTX, &pt)).unwrap();
    let mut g = c.benchmark_group("envelope_seal_256B");
    g.bench_function("cached_data_key", |b| {
        b.iter(|| futures::executor::block_on(envelope.seal(&tenant, CTX, black_box(&pt))).unwrap())
    });
    g.finish();
    assert_eq!(envelope.stats().wraps, 1, "one KMS call for the whole run");
}

criterion_group!(benches, bench_seal_open, bench_derivation, bench_envelope);
criterion_main!(benches);
