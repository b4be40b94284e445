#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Issue 14's review findings, each reproduced: every test here failed before its fix.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use portcullis_core::Clock;
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, ApiKeyStore, ApiKeys, CookiePolicy, Environment, KeyMaterial, KeyState,
    MemoryApiKeyStore, NoExtra, SigningKeys, TokenError,
};
use serde_json::json;

/// RFC 7515 section 4.1.11: a `crit` extension the verifier does not understand means
/// the token must be refused. Before: every `crit` was ignored and the token verified.
#[test]
fn unknown_crit_header_is_refused() {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::Hs256), &clock);
    let now = clock.now().as_secs();
    let plain = hs256(
        &json!({"alg": "HS256", "kid": "hs-1"}),
        &good_claims(now),
        HS_SECRET,
    );
    verify::<NoExtra>(&svc, &plain).unwrap();

    let unknown = hs256(
        &json!({"alg": "HS256", "kid": "hs-1", "crit": ["x-ext"], "x-ext": true}),
        &good_claims(now),
        HS_SECRET,
    );
    match verify::<NoExtra>(&svc, &unknown) {
        Err(TokenError::UnsupportedCritical { name }) => assert_eq!(name, "x-ext"),
        other => panic!("unknown crit extension: {other:?}"),
    }
    // RFC 7797's unencoded payload is an extension we do not process either.
    let b64_false = hs256(
        &json!({"alg": "HS256", "kid": "hs-1", "crit": ["b64"], "b64": false}),
        &good_claims(now),
        HS_SECRET,
    );
    assert!(matches!(
        verify::<NoExtra>(&svc, &b64_false),
        Err(TokenError::UnsupportedCritical { .. })
    ));
    // Malformed `crit`: empty, null, not strings, a registered name, an absent member.
    for crit in [
        json!([]),
        json!(null),
        json!("x-ext"),
        json!([1]),
        json!(["exp"]),
        json!(["kid"]),
        json!(["x-absent"]),
    ] {
        let t = hs256(
            &json!({"alg": "HS256", "kid": "hs-1", "crit": crit, "x-ext": 1}),
            &good_claims(now),
            HS_SECRET,
        );
        assert!(
            matches!(
                verify::<NoExtra>(&svc, &t),
                Err(TokenError::Malformed { .. })
            ),
            "crit {crit} must be refused as malformed"
        );
    }
}

/// ECDSA signatures are malleable: (r, s) and (r, n - s) both verify. Before: the second
/// form gave a second valid token string for the same claims. Only low-S is accepted now.
#[test]
fn high_s_es256_signature_is_refused() {
    let clock = ManualClock::new();
    let keys = ring(Algorithm::Es256);
    let svc = service(Arc::clone(&keys), &clock);
    // A verifier that opted in (by name) accepts the high form under the same public key.
    let jwk = serde_json::to_value(keys.jwks().unwrap().keys[0].clone()).unwrap();
    let coord = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
    let sec1 = [vec![4u8], coord("x"), coord("y")].concat();
    let lenient = SigningKeys::new();
    lenient
        .insert(
            KeyMaterial::es256_public(&sec1)
                .unwrap()
                .danger_accept_high_s(),
            KeyState::VerifyOnly,
        )
        .unwrap();
    let lenient = service(Arc::new(lenient), &clock);
    let mut tokens = 0;
    // Every token we issue is low-S (the signer's output is normalized).
    for i in 0..8 {
        let issued = svc
            .issue_access(&tenant(), &alice(), None, &json!({"n": i}))
            .unwrap();
        verify::<serde_json::Value>(&svc, &issued.token).unwrap();
        let (input, sig) = issued.token.rsplit_once('.').unwrap();
        let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(&raw).unwrap();
        assert!(sig.normalize_s().is_none(), "our signer must emit low-S");
        let (r, s) = sig.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        let forged = format!("{input}.{}", b64(&high.to_bytes()));
        // The curve accepts the other form: this is what made the token malleable.
        let jwk = keys.jwks().unwrap().keys.into_iter().next().unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_jwk(
            &serde_json::from_value(serde_json::to_value(&jwk).unwrap()).unwrap(),
        )
        .unwrap();
        let (fh, fs) = forged.rsplit_once('.').unwrap();
        assert!(
            jsonwebtoken::crypto::verify(
                fs,
                fh.as_bytes(),
                &decoding,
                jsonwebtoken::Algorithm::ES256
            )
            .unwrap(),
            "the high-S form verifies at the curve level"
        );
        assert!(matches!(
            verify::<serde_json::Value>(&svc, &forged),
            Err(TokenError::InvalidSignature)
        ));
        verify::<serde_json::Value>(&lenient, &forged).unwrap();
        verify::<serde_json::Value>(&lenient, &issued.token).unwrap();
        tokens += 1;
    }
    assert_eq!(tokens, 8);
}

/// `MalformedClaims` was documented to carry no claim values, yet quoted serde's message
/// (`invalid type: string "…"`). No rejection message may echo a claim value now.
#[test]
fn malformed_claims_never_quote_claim_values() {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::Hs256), &clock);
    let now = clock.now().as_secs();
    let secret = "SECRET-VALUE-7f3a";
    let mut cases = Vec::new();
    for (claim, value) in [
        ("exp", json!(secret)),
        ("iat", json!(secret)),
        ("sub", json!(format!("{secret} with spaces\n"))),
        ("tid", json!(format!("{secret}/../x"))),
        ("aud", json!([secret, 7])),
        ("jti", json!({ "v": secret })),
        ("sid", json!(secret)),
    ] {
        let mut c = good_claims(now);
        c[claim] = value;
        cases.push((claim, c));
    }
    let mut missing = good_claims(now);
    missing.as_object_mut().unwrap().remove("tid");
    for (claim, c) in cases {
        let t = hs256(&json!({"alg": "HS256", "kid": "hs-1"}), &c, HS_SECRET);
        match verify::<NoExtra>(&svc, &t) {
            Err(e @ TokenError::MalformedClaims { .. }) => {
                let text = format!("{e} {e:?}");
                assert!(!text.contains("SECRET"), "{claim}: {text}");
            }
            other => panic!("{claim}: expected MalformedClaims, got {other:?}"),
        }
    }
    // A missing claim is still named (the name is ours, not the token's).
    let t = hs256(&json!({"alg": "HS256", "kid": "hs-1"}), &missing, HS_SECRET);
    match verify::<NoExtra>(&svc, &t) {
        Err(TokenError::MalformedClaims { reason }) => {
            assert!(reason.contains("`tid`"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// `clear_cookie` passed `path` into the header unchecked: CRLF and `; Domain=` reached
/// it. It now validates exactly as the builders do.
#[test]
fn clear_cookie_validates_its_path() {
    let policy = CookiePolicy::new(Environment::Production);
    assert!(policy.clear_cookie("rt", "/auth/refresh").is_ok());
    for path in [
        "/x\r\nSet-Cookie: admin=1",
        "/; Domain=evil.example",
        "/a,b",
        "relative",
        "",
        "/with space",
    ] {
        assert!(
            matches!(
                policy.clear_cookie("rt", path),
                Err(TokenError::InvalidConfig { .. })
            ),
            "path {path:?} must be refused"
        );
    }
}

/// A replica whose clock lags the revoker's saw `revoked_at` in its future and accepted
/// the key (`revoked_at <= now`). Any revocation time now means revoked.
#[tokio::test]
async fn a_revocation_dated_in_the_verifiers_future_still_revokes() {
    let clock = ManualClock::new();
    let store = Arc::new(MemoryApiKeyStore::new());
    let keys = ApiKeys::new(store.clone(), "pc", clock.provider(3)).unwrap();
    let created = keys
        .create(&tenant(), &alice(), "ci", &["read"], None)
        .await
        .unwrap();
    keys.verify(&tenant(), created.key.expose_secret())
        .await
        .unwrap();
    // The revoker's clock is 30 s ahead of this verifier's.
    let ahead = clock.now().saturating_add(Duration::from_secs(30));
    assert!(
        store
            .revoke(&tenant(), &created.record.id, ahead)
            .await
            .unwrap()
    );
    assert!(matches!(
        keys.verify(&tenant(), created.key.expose_secret()).await,
        Err(TokenError::ApiKeyRevoked)
    ));
}

/// The per-owner cap counted revoked keys and nothing deleted them: an owner who had
/// rotated 1000 keys could never create another. Revoked keys no longer count, and
/// `purge` / `delete` remove records.
#[tokio::test]
async fn revoked_keys_free_their_slot_and_can_be_purged() {
    let clock = ManualClock::new();
    let keys = ApiKeys::new(Arc::new(MemoryApiKeyStore::new()), "pc", clock.provider(5)).unwrap();
    let mut ids = Vec::new();
    for _ in 0..portcullis_tokens::MAX_API_KEYS_PER_OWNER {
        ids.push(
            keys.create(&tenant(), &alice(), "k", &["read"], None)
                .await
                .unwrap()
                .record
                .id,
        );
    }
    assert!(matches!(
        keys.create(&tenant(), &alice(), "k", &["read"], None).await,
        Err(TokenError::TooManyApiKeys { .. })
    ));
    assert!(keys.revoke(&tenant(), &ids[0]).await.unwrap());
    keys.create(&tenant(), &alice(), "k", &["read"], None)
        .await
        .unwrap();
    assert_eq!(keys.purge(&tenant(), &alice()).await.unwrap(), 1);
    assert!(keys.delete(&tenant(), &ids[1]).await.unwrap());
    assert_eq!(
        keys.list(&tenant(), &alice()).await.unwrap().len(),
        portcullis_tokens::MAX_API_KEYS_PER_OWNER - 1
    );
}

/// `require_scope`: a verified key must also grant the scope the route needs.
#[tokio::test]
async fn api_keys_require_their_scope() {
    let clock = ManualClock::new();
    let keys = ApiKeys::new(Arc::new(MemoryApiKeyStore::new()), "pc", clock.provider(6)).unwrap();
    let created = keys
        .create(
            &tenant(),
            &alice(),
            "ci",
            &["runs:read", "runs:write"],
            None,
        )
        .await
        .unwrap();
    let key = created.key.expose_secret();
    keys.verify_scope(&tenant(), key, "runs:write")
        .await
        .unwrap();
    match keys.verify_scope(&tenant(), key, "admin").await {
        Err(TokenError::WrongScope { requested }) => assert_eq!(requested, "admin"),
        other => panic!("{other:?}"),
    }
    assert!(created.record.require_scope("runs:read").is_ok());
    assert!(
        created.record.require_scope("runs").is_err(),
        "exact match only"
    );
}
