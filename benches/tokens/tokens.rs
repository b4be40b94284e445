#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn
//! Our access-token verification against bare `jsonwebtoken::decode` in the same run, for
//! HS256, EdDSA and ES256.
//!
//! "ours" = header pre-parse, key-ring lookup with algorithm pinning, `jsonwebtoken`
//! signature check, typed claim decoding and our claim policy (type, issuer, audience,
//! times against the injected clock). "bare" = `jsonwebtoken::decode` with a
//! `Validation` pinned to the algorithm, issuer and audience set (its own exp check).
//!
//! Run: `cargo bench -p portcullis-bench-tokens --bench tokens -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;

use futures::executor::block_on;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use portcullis_core::{ActorId, KeyId, Provider, SecretArray, SecretBytes, TenantId};
use portcullis_tokens::{
    Algorithm, KeyMaterial, KeyState, NoExtra, SigningKeys, TokenConfig, TokenService, TokenStores,
    TokenType, danger,
};
use serde::Deserialize;

const ISSUER: &str = "https://auth.example.test";
const AUDIENCE: &str = "api";

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct BareClaims {
    iss: String,
    aud: String,
    sub: String,
    tid: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    typ: String,
}

fn setup(alg: Algorithm) -> (TokenService, String, DecodingKey) {
    let ring = SigningKeys::new();
    let (key, bare_key) = match alg {
        Algorithm::Hs256 => {
            let secret = SecretBytes::from_slice(&[7u8; 32]);
            (
                KeyMaterial::hs256(KeyId::new("hs-1").unwrap(), &secret).unwrap(),
                DecodingKey::from_secret(&[7u8; 32]),
            )
        }
        Algorithm::EdDsa => {
            let key = KeyMaterial::ed25519_from_seed(&SecretArray::new([3u8; 32])).unwrap();
            (key, DecodingKey::from_secret(&[]))
        }
        _ => {
            let key = KeyMaterial::es256_from_scalar(&SecretArray::new([3u8; 32])).unwrap();
            (key, DecodingKey::from_secret(&[]))
        }
    };
    ring.insert(key, KeyState::Active).unwrap();
    let bare_key = match alg {
        Algorithm::Hs256 => bare_key,
        Algorithm::EdDsa => {
            let jwks = ring.jwks().unwrap();
            DecodingKey::from_ed_components(jwks.keys[0].x.as_deref().unwrap()).unwrap()
        }
        _ => {
            let jwks = ring.jwks().unwrap();
            let jwk = &jwks.keys[0];
            DecodingKey::from_ec_components(jwk.x.as_deref().unwrap(), jwk.y.as_deref().unwrap())
                .unwrap()
        }
    };
    let provider = Provider::system();
    let svc = TokenService::new(
        Arc::new(ring),
        TokenConfig::new(ISSUER, AUDIENCE).unwrap(),
        TokenStores::in_memory(&provider),
        provider,
    );
    let tenant: TenantId = "acme".parse().unwrap();
    let subject: ActorId = "alice@example.com".parse().unwrap();
    let token = svc
        .issue_access(&tenant, &subject, None, &NoExtra {})
        .unwrap()
        .token;
    (svc, token, bare_key)
}

fn verify(c: &mut Criterion) {
    for alg in [Algorithm::Hs256, Algorithm::EdDsa, Algorithm::Es256] {
        let (svc, token, bare_key) = setup(alg);
        let mut validation = Validation::new(match alg {
            Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            _ => jsonwebtoken::Algorithm::ES256,
        });
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        // Both sides must accept the token, or the comparison means nothing.
        let bare = |t: &str| {
            danger::verify_signature_and_claims_only::<NoExtra>(&svc, t, TokenType::Access)
        };
        bare(&token).unwrap();
        block_on(svc.verify_access::<NoExtra>(&token)).unwrap();
        jsonwebtoken::decode::<BareClaims>(&token, &bare_key, &validation).unwrap();
        let mut group = c.benchmark_group(format!("verify_{}", alg.as_str()));
        // The same work as jsonwebtoken's decode: signature and claims.
        group.bench_function("portcullis", |b| {
            b.iter(|| bare(black_box(&token)).unwrap())
        });
        // The complete check (plus revocation and session lookups in the in-memory stores).
        group.bench_function("portcullis_full_memory", |b| {
            b.iter(|| block_on(svc.verify_access::<NoExtra>(black_box(&token))).unwrap())
        });
        group.bench_function("jsonwebtoken_bare", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BareClaims>(black_box(&token), &bare_key, &validation)
                    .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, verify);
criterion_main!(benches);
