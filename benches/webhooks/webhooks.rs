//! Verify a 1 KiB webhook: Standard Webhooks and Stripe through portcullis-webhooks, against
//! the bare HMAC-SHA256 of the same bytes (RustCrypto `hmac`+`sha2`, and `ring`) and the
//! `svix` crate's `Webhook::verify`, in the same run. Each bare HMAC keys per call (as a
//! verifier must) and MACs exactly the bytes the scheme signs; compare
//! `portcullis_standard*` with `bare_hmac_sha256_rustcrypto` and `portcullis_stripe` with
//! `bare_hmac_sha256_rustcrypto_stripe`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use portcullis_core::{Clock, Provider, SystemClock};
use portcullis_webhooks::{StandardWebhooks, Stripe, Verifier};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";

fn body_1k() -> Vec<u8> {
    let mut body = br#"{"type":"invoice.paid","data":{"note":""#.to_vec();
    while body.len() < 1024 - 3 {
        body.push(b'a' + (body.len() % 26) as u8);
    }
    body.extend_from_slice(br#""}}"#);
    assert_eq!(body.len(), 1024);
    body
}

fn verify_1k(c: &mut Criterion) {
    let body = body_1k();
    let ts = SystemClock.now().as_secs();
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    // The exact bytes each scheme MACs: `<id>.<ts>.<body>` under the decoded `whsec_` key
    // for Standard Webhooks, `<ts>.<body>` under the secret text's bytes for Stripe.
    let signed = [ID.as_bytes(), b".", ts.to_string().as_bytes(), b".", &body].concat();
    let stripe_signed = [ts.to_string().as_bytes(), b".", &body].concat();

    // Standard Webhooks headers, in an http::HeaderMap for both libraries.
    let std_headers = portcullis_webhooks::sign("standard", SECRET, ID, ts, &body).unwrap();
    let mut map = http::HeaderMap::new();
    for (n, v) in &std_headers {
        map.insert(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let stripe_headers = portcullis_webhooks::sign("stripe", SECRET, "", ts, &body).unwrap();
    let mut stripe_map = http::HeaderMap::new();
    stripe_map.insert("stripe-signature", stripe_headers[0].1.parse().unwrap());

    let ours_std = Verifier::new(StandardWebhooks::new(), [SECRET], Provider::system()).unwrap();
    let ours_stripe = Verifier::new(Stripe::new(), [SECRET], Provider::system()).unwrap();
    let svix = svix::webhooks::Webhook::new(SECRET).unwrap();
    assert!(ours_std.verify(&&map, &body).is_ok());
    assert!(ours_stripe.verify(&&stripe_map, &body).is_ok());
    assert!(svix.verify(&body, &map).is_ok());
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);

    let mut g = c.benchmark_group("webhook_verify_1KiB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("bare_hmac_sha256_rustcrypto", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(black_box(&key)).unwrap();
            mac.update(black_box(&signed));
            black_box(mac.finalize().into_bytes())
        })
    });
    g.bench_function("bare_hmac_sha256_rustcrypto_stripe", |b| {
        b.iter(|| {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(black_box(SECRET.as_bytes())).unwrap();
            mac.update(black_box(&stripe_signed));
            black_box(mac.finalize().into_bytes())
        })
    });
    g.bench_function("bare_hmac_sha256_ring", |b| {
        b.iter(|| {
            let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, black_box(&key));
            black_box(ring::hmac::sign(&k, black_box(&signed)))
        })
    });
    g.bench_function("bare_hmac_sha256_ring_prekeyed", |b| {
        b.iter(|| black_box(ring::hmac::sign(&ring_key, black_box(&signed))))
    });
    g.bench_function("portcullis_standard", |b| {
        b.iter(|| black_box(ours_std.verify(black_box(&&map), black_box(&body)).unwrap()))
    });
    let pairs: Vec<(String, String)> = std_headers.clone();
    g.bench_function("portcullis_standard_pairs", |b| {
        b.iter(|| {
            black_box(
                ours_std
                    .verify(black_box(&&pairs), black_box(&body))
                    .unwrap(),
            )
        })
    });
    g.bench_function("portcullis_stripe", |b| {
        b.iter(|| {
            black_box(
                ours_stripe
                    .verify(black_box(&&stripe_map), black_box(&body))
                    .unwrap(),
            )
        })
    });
    g.bench_function("svix_webhook_verify", |b| {
        b.iter(|| svix.verify(black_box(&body), black_box(&map)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, verify_1k);
criterion_main!(benches);
