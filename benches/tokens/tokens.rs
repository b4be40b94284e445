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
//! Identity providers' tokens: `IdpVerifier::verify` (static keys: pinned key lookup,
//! signature, the profile's claim rules) against bare `jsonwebtoken::decode` of the same
//! RS256 and PS256 tokens (issuer, audience and expiry checked), signed with the bench-only
//! key `bench_rsa_private.der` (2048 bits, made by openssl for this bench; it signs nothing
//! else). A remote JWKS cache hit (`RemoteJwks::keys_for`, the set already fetched). A DPoP
//! proof verification (every RFC 9449 check and the in-memory replay store) against the bare
//! ES256 signature check of the same proof.
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

/// PKCS#1 DER of the bench-only RSA key (its public half is `bench_rsa_public.pem`).
const RSA_PRIVATE: &[u8] = include_bytes!("bench_rsa_private.der");
const RSA_PUBLIC: &str = include_str!("bench_rsa_public.pem");
const IDP: &str = "https://idp.example.test/";

fn idp(c: &mut Criterion) {
    use portcullis_tokens::{IdpVerifier, IssuerProfile};
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct IdpClaims {
        iss: String,
        aud: String,
        sub: String,
        exp: u64,
        iat: u64,
        scope: String,
    }
    let now = portcullis_core::Clock::now(&portcullis_core::SystemClock).as_secs();
    let claims = serde_json::json!({"iss": IDP, "aud": AUDIENCE, "sub": "auth0|abc123",
        "iat": now, "exp": now + 3600, "scope": "read:orders write:orders"});
    let encoding = jsonwebtoken::EncodingKey::from_rsa_der(RSA_PRIVATE);
    for (alg, jwt_alg) in [
        (Algorithm::Rs256, jsonwebtoken::Algorithm::RS256),
        (Algorithm::Ps256, jsonwebtoken::Algorithm::PS256),
    ] {
        let mut header = jsonwebtoken::Header::new(jwt_alg);
        header.kid = Some("idp-key".to_owned());
        header.typ = Some("at+jwt".to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
        let key = KeyMaterial::from_public_pem(alg, RSA_PUBLIC)
            .unwrap()
            .with_key_id(KeyId::new("idp-key").unwrap());
        let ring = SigningKeys::new();
        ring.insert(key, KeyState::VerifyOnly).unwrap();
        let published = ring.jwks().unwrap();
        let jwk = &published.keys[0];
        let decoding =
            DecodingKey::from_rsa_components(jwk.n.as_deref().unwrap(), jwk.e.as_deref().unwrap())
                .unwrap();
        let profile = IssuerProfile::new(IDP, &[AUDIENCE], &[alg], Arc::new(ring)).unwrap();
        let verifier = IdpVerifier::new(vec![profile], Provider::system()).unwrap();
        let mut validation = Validation::new(jwt_alg);
        validation.set_issuer(&[IDP]);
        validation.set_audience(&[AUDIENCE]);
        verifier.verify(&token).unwrap();
        jsonwebtoken::decode::<IdpClaims>(&token, &decoding, &validation).unwrap();
        let mut group = c.benchmark_group(format!("verify_idp_{}", alg.as_str()));
        group.bench_function("portcullis", |b| {
            b.iter(|| verifier.verify(black_box(&token)).unwrap())
        });
        group.bench_function("jsonwebtoken_bare", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<IdpClaims>(black_box(&token), &decoding, &validation)
                    .unwrap()
            })
        });
        group.finish();
    }
}

/// Serves one JWKS document from memory.
#[derive(Debug)]
struct Served(Vec<u8>);

#[async_trait::async_trait]
impl portcullis_tokens::HttpClient for Served {
    async fn get(
        &self,
        _: portcullis_tokens::HttpRequest<'_>,
    ) -> Result<portcullis_tokens::HttpResponse, portcullis_tokens::HttpError> {
        Ok(portcullis_tokens::HttpResponse::new(200, self.0.clone())
            .with_cache_control("max-age=86400"))
    }
}

/// Polls a future that completes without waiting (the cache hit path).
fn ready<T>(f: impl std::future::Future<Output = T>) -> T {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the cache hit waited"),
    }
}

fn jwks_cache(c: &mut Criterion) {
    use portcullis_tokens::{RemoteJwks, RemoteJwksConfig};
    let ring = SigningKeys::new();
    for seed in 1..=4u8 {
        let key = KeyMaterial::ed25519_from_seed(&SecretArray::new([seed; 32])).unwrap();
        ring.insert(key, KeyState::VerifyOnly).unwrap();
    }
    let doc = serde_json::to_vec(&ring.jwks().unwrap()).unwrap();
    let kid = ring.jwks().unwrap().keys[3].kid.clone();
    let jwks = RemoteJwks::from_jwks_uri(
        "https://idp.example.test/jwks",
        Arc::new(Served(doc)),
        Provider::system(),
        RemoteJwksConfig::default(),
    )
    .unwrap();
    block_on(jwks.refresh()).unwrap();
    let mut group = c.benchmark_group("jwks_cache_hit");
    group.bench_function("portcullis_keys_for", |b| {
        b.iter(|| ready(jwks.keys_for(black_box(Some(kid.as_str())))).unwrap())
    });
    group.finish();
}

fn dpop(c: &mut Criterion) {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::ecdsa::signature::Signer as _;
    use portcullis_tokens::{DpopConfig, DpopRequest, DpopVerifier, MemoryDpopReplayStore};
    const HTU: &str = "https://api.example.test/orders";
    let key = p256::ecdsa::SigningKey::from_bytes(&[5u8; 32].into()).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {
        "kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())}});
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let now = portcullis_core::Clock::now(&portcullis_core::SystemClock).as_secs();
    let counter = std::cell::Cell::new(0u64);
    let proof = || {
        counter.set(counter.get() + 1);
        let claims = serde_json::json!({"jti": format!("bench-{}", counter.get()),
            "htm": "GET", "htu": HTU, "iat": now});
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    };
    let verifier = DpopVerifier::new(
        DpopConfig::default(),
        Arc::new(MemoryDpopReplayStore::with_capacity(10_000_000)),
        Provider::system(),
    );
    let req = DpopRequest::new("GET", HTU);
    ready(verifier.verify(&proof(), &req)).unwrap();
    let bare_key = DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        &URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    )
    .unwrap();
    let mut group = c.benchmark_group("dpop_verify_ES256");
    group.bench_function("portcullis", |b| {
        b.iter_batched(
            &proof,
            |p| ready(verifier.verify(black_box(&p), &req)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    let fixed = proof();
    let (input, sig) = fixed.rsplit_once('.').unwrap();
    group.bench_function("bare_es256_signature", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(sig),
                input.as_bytes(),
                &bare_key,
                jsonwebtoken::Algorithm::ES256,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, verify, idp, jwks_cache, dpop);
criterion_main!(benches);
