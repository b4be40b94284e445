//! Hash and verify with `portcullis-passwords` against the bare `argon2` crate at the same
//! parameters (OWASP: m = 19 MiB, t = 2, p = 1), in the same run. Ours adds NFKC, the
//! in-flight permit, parameter checks and PHC formatting; the ratio is the claim.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{Criterion, criterion_group, criterion_main};
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use portcullis_core::{Provider, SecretBytes};
use portcullis_passwords::{Passwords, Pepper, Peppers};

const PASSWORD: &str = "correct horse battery staple";

fn bench(c: &mut Criterion) {
    let ours = Passwords::new(Provider::system());
    let peppered = Passwords::builder(Provider::system())
        .peppers(Peppers::new(
            Pepper::new(1, SecretBytes::new(vec![7; 32])).unwrap(),
        ))
        .build()
        .unwrap();
    let bare = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, Some(32)).unwrap(),
    );
    let salt = SaltString::encode_b64(&[9u8; 16]).unwrap();

    let mut g = c.benchmark_group("hash_owasp");
    g.sample_size(20);
    g.bench_function("portcullis_passwords", |b| {
        b.iter(|| ours.hash(black_box(PASSWORD)).unwrap())
    });
    g.bench_function("portcullis_passwords_peppered", |b| {
        b.iter(|| peppered.hash(black_box(PASSWORD)).unwrap())
    });
    g.bench_function("argon2_bare", |b| {
        b.iter(|| {
            bare.hash_password(black_box(PASSWORD).as_bytes(), &salt)
                .unwrap()
                .to_string()
        })
    });
    g.finish();

    let stored = ours.hash(PASSWORD).unwrap();
    let stored_peppered = peppered.hash(PASSWORD).unwrap();
    let bare_stored = bare
        .hash_password(PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let mut g = c.benchmark_group("verify_owasp");
    g.sample_size(20);
    g.bench_function("portcullis_passwords", |b| {
        b.iter(|| ours.verify(black_box(PASSWORD), Some(&stored)).unwrap())
    });
    g.bench_function("portcullis_passwords_peppered", |b| {
        b.iter(|| {
            peppered
                .verify(black_box(PASSWORD), Some(&stored_peppered))
                .unwrap()
        })
    });
    g.bench_function("portcullis_passwords_unknown_user", |b| {
        b.iter(|| ours.verify(black_box(PASSWORD), None).unwrap())
    });
    g.bench_function("argon2_bare", |b| {
        b.iter(|| {
            let hash = PasswordHash::new(&bare_stored).unwrap();
            bare.verify_password(black_box(PASSWORD).as_bytes(), &hash)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
