#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Issue 14, build items 1 and 4: the algorithms identity providers sign with, keys from
//! JWK / JWKS / PEM documents pinned per key, and kid-less HS256 tokens on request.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use p384::pkcs8::EncodePrivateKey as _;
use portcullis_core::{Clock, KeyId, SecretBytes};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, KeyMaterial, KeyState, MAX_JWKS_KEYS, NoExtra, SigningKeys, TokenConfig, TokenError,
    TokenService, TokenStores, parse_jwks,
};
use serde_json::json;

fn service_with_config(
    ring: SigningKeys,
    clock: &ManualClock,
    config: TokenConfig,
) -> TokenService {
    let provider = clock.provider(3);
    TokenService::new(
        Arc::new(ring),
        config,
        TokenStores::in_memory(&provider),
        provider,
    )
}

/// A fixed P-384 signing key (the scalar is any value below the group order).
fn p384_key() -> p384::SecretKey {
    p384::SecretKey::from_slice(&[0x42; 48]).unwrap()
}

fn es384_token(kid: &str, claims: &serde_json::Value) -> String {
    let der = p384_key().to_pkcs8_der().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES384);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
    )
    .unwrap()
}

/// The token with its ES384 signature in low-S (or, with `high`, high-S) form.
fn with_s_form(token: &str, high: bool) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = p384::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let low = sig.normalize_s().unwrap_or(sig);
    let out = if high {
        let (r, s) = low.split_scalars();
        p384::ecdsa::Signature::from_scalars(r, -*s).unwrap()
    } else {
        low
    };
    format!("{input}.{}", b64(&out.to_bytes()))
}

#[test]
fn es384_tokens_verify_low_s_only() {
    let clock = ManualClock::new();
    let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
        &p384_key().public_key(),
        false,
    );
    let key = KeyMaterial::es384_public(point.as_bytes()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Es384);
    let kid = key.kid().to_string();
    let ring = SigningKeys::new();
    ring.insert(key, KeyState::VerifyOnly).unwrap();
    let svc = service(Arc::new(ring), &clock);
    let token = es384_token(&kid, &good_claims(clock.now().as_secs()));
    verify::<NoExtra>(&svc, &with_s_form(&token, false)).unwrap();
    let high = verify::<NoExtra>(&svc, &with_s_form(&token, true));
    assert!(
        matches!(high, Err(TokenError::InvalidSignature)),
        "{high:?}"
    );
    // The JWKS export names the curve and both coordinates.
    let jwks = svc.ring().jwks().unwrap();
    let jwk = serde_json::to_value(&jwks.keys[0]).unwrap();
    assert_eq!(jwk["crv"], "P-384");
    assert_eq!(jwk["alg"], "ES384");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().unwrap())
            .unwrap()
            .len(),
        48
    );
}

#[test]
fn rsa_keys_outside_the_bounds_are_refused() {
    let two_k = [vec![0xC1u8], vec![0x55; 254], vec![0x01]].concat(); // 2048 bits, odd
    assert!(KeyMaterial::rsa_public(Algorithm::Rs256, &two_k, &[1, 0, 1]).is_ok());
    // The same with leading zero bytes is the same key.
    let padded = [vec![0u8, 0], two_k.clone()].concat();
    assert_eq!(
        KeyMaterial::rsa_public(Algorithm::Rs256, &padded, &[0, 1, 0, 1])
            .unwrap()
            .kid(),
        KeyMaterial::rsa_public(Algorithm::Rs256, &two_k, &[1, 0, 1])
            .unwrap()
            .kid()
    );
    let short = [vec![0x7Fu8], vec![0x55; 254], vec![0x01]].concat(); // 2047 bits
    let long = [vec![0x01u8], vec![0x55; 512], vec![0x01]].concat(); // 4097 bits
    let even = [vec![0xC1u8], vec![0x55; 254], vec![0x54]].concat();
    for (n, e, what) in [
        (&short, &[1u8, 0, 1][..], "2047 bits"),
        (&long, &[1, 0, 1][..], "4097 bits"),
        (&even, &[1, 0, 1][..], "even modulus"),
        (&two_k, &[1][..], "e = 1"),
        (&two_k, &[2][..], "even e"),
        (&two_k, &[1, 0, 0, 0, 1][..], "e of 33 bits"),
    ] {
        assert!(
            matches!(
                KeyMaterial::rsa_public(Algorithm::Rs256, n, e),
                Err(TokenError::SigningKeys { .. })
            ),
            "{what}"
        );
    }
    assert!(KeyMaterial::rsa_public(Algorithm::Es256, &two_k, &[1, 0, 1]).is_err());
}

#[test]
fn pem_public_keys_load_for_their_own_algorithm_only() {
    use p256::pkcs8::EncodePublicKey as _;
    let p384_pem = p384_key()
        .public_key()
        .to_public_key_pem(Default::default())
        .unwrap();
    let key = KeyMaterial::from_public_pem(Algorithm::Es384, &p384_pem).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Es384);
    assert!(KeyMaterial::from_public_pem(Algorithm::Es256, &p384_pem).is_err());
    assert!(KeyMaterial::from_public_pem(Algorithm::Rs256, &p384_pem).is_err());
    assert!(KeyMaterial::from_public_pem(Algorithm::Hs256, &p384_pem).is_err());
    assert!(KeyMaterial::from_public_pem(Algorithm::Es384, "not a pem").is_err());
    let ed =
        KeyMaterial::generate(Algorithm::EdDsa, &portcullis_testkit::SeededRandom::new(1)).unwrap();
    let jwk = serde_json::to_value(&{
        let r = SigningKeys::new();
        r.insert(ed, KeyState::Active).unwrap();
        r.jwks().unwrap().keys[0].clone()
    })
    .unwrap();
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let pem = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap())
        .unwrap()
        .to_public_key_pem(Default::default())
        .unwrap();
    let from_pem = KeyMaterial::from_public_pem(Algorithm::EdDsa, &pem).unwrap();
    assert_eq!(from_pem.kid().as_str(), jwk["kid"].as_str().unwrap());
}

#[test]
fn a_jwks_imports_usable_keys_by_their_own_kid_and_says_why_it_skips_others() {
    let p384 = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
        &p384_key().public_key(),
        false,
    );
    let x = b64(p384.x().unwrap());
    let y = b64(p384.y().unwrap());
    let n = b64(&[vec![0xC1u8], vec![0x55; 254], vec![0x01]].concat());
    let doc = json!({"keys": [
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "kid": "idp-2026-1", "use": "sig"},
        {"kty": "RSA", "n": n, "e": "AQAB", "alg": "PS256", "kid": "rsa-pss"},
        {"kty": "RSA", "n": n, "e": "AQAB", "kid": "rsa-no-alg"},
        {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RSA-OAEP", "use": "enc", "kid": "enc"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "kid": "idp-2026-1"},
        {"kty": "EC", "crv": "P-521", "x": x, "y": y, "kid": "p521"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "alg": "ES256", "kid": "mismatch"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "d": "AAAA", "kid": "private"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "key_ops": ["encrypt"], "kid": "ops"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "RS256", "kid": "tiny"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "kid": "bad kid with spaces"},
        "not an object"
    ]});
    let out = parse_jwks(doc.to_string().as_bytes(), None).unwrap();
    let kids: Vec<&str> = out.keys.iter().map(|k| k.kid().as_str()).collect();
    assert_eq!(kids, ["idp-2026-1", "rsa-pss"]);
    assert_eq!(out.keys[1].algorithm(), Algorithm::Ps256);
    let skipped: Vec<(Option<&str>, &str)> = out
        .skipped
        .iter()
        .map(|s| (s.kid.as_deref(), s.reason))
        .collect();
    assert_eq!(skipped.len(), 11, "{skipped:?}");
    assert!(skipped.iter().all(|(_, reason)| !reason.is_empty()));
    assert_eq!(skipped[0].0, Some("rsa-no-alg"));
    assert_eq!(skipped[2].1, "its kid repeats an earlier key's");
    // With a default RSA algorithm, the RSA key without `alg` is taken, pinned to it.
    let out = parse_jwks(doc.to_string().as_bytes(), Some(Algorithm::Rs256)).unwrap();
    assert_eq!(out.keys.len(), 3);
    assert_eq!(out.keys[2].algorithm(), Algorithm::Rs256);
    // Malformed documents are refused whole.
    for bad in [
        "[]".to_owned(),
        "{\"keys\": {}}".to_owned(),
        "not json".to_owned(),
        json!({"keys": vec![json!({"kty": "oct"}); MAX_JWKS_KEYS + 1]}).to_string(),
    ] {
        assert!(matches!(
            parse_jwks(bad.as_bytes(), None),
            Err(TokenError::SigningKeys { .. })
        ));
    }
}

#[test]
fn kidless_hs256_verifies_only_when_enabled_trying_current_then_previous() {
    let clock = ManualClock::new();
    let (cur, prev, other) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let ring = || {
        SigningKeys::hs256(
            (KeyId::new("cur").unwrap(), &SecretBytes::from_slice(&cur)),
            Some((KeyId::new("prev").unwrap(), &SecretBytes::from_slice(&prev))),
        )
        .unwrap()
    };
    let config = TokenConfig::new(ISSUER, AUDIENCE).unwrap();
    let strict = service_with_config(ring(), &clock, config.clone());
    let lenient = service_with_config(ring(), &clock, config.accept_hs256_without_kid());
    let now = clock.now().as_secs();
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let by_cur = hs256(&header, &good_claims(now), &cur);
    let by_prev = hs256(&header, &good_claims(now), &prev);
    let by_other = hs256(&header, &good_claims(now), &other);
    assert!(matches!(
        verify::<NoExtra>(&strict, &by_cur),
        Err(TokenError::MissingKeyId)
    ));
    assert_eq!(
        verify::<NoExtra>(&lenient, &by_cur).unwrap().kid.as_str(),
        "cur"
    );
    assert_eq!(
        verify::<NoExtra>(&lenient, &by_prev).unwrap().kid.as_str(),
        "prev"
    );
    assert!(matches!(
        verify::<NoExtra>(&lenient, &by_other),
        Err(TokenError::InvalidSignature)
    ));
    // A retired previous secret no longer verifies kid-less tokens either.
    lenient.ring().retire(&KeyId::new("prev").unwrap()).unwrap();
    assert!(matches!(
        verify::<NoExtra>(&lenient, &by_prev),
        Err(TokenError::InvalidSignature)
    ));
    // Other algorithms always need a kid.
    let es = es384_token("x", &good_claims(now));
    let (_, rest) = es.split_once('.').unwrap();
    let no_kid = format!("{}.{rest}", b64(br#"{"alg":"ES384"}"#));
    assert!(matches!(
        verify::<NoExtra>(&lenient, &no_kid),
        Err(TokenError::MissingKeyId)
    ));
}

#[test]
fn jwks_edge_cases_each_have_their_reason() {
    let p384 = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
        &p384_key().public_key(),
        false,
    );
    let (x, y) = (b64(p384.x().unwrap()), b64(p384.y().unwrap()));
    let ed =
        KeyMaterial::generate(Algorithm::EdDsa, &portcullis_testkit::SeededRandom::new(3)).unwrap();
    let ring = SigningKeys::new();
    ring.insert(ed, KeyState::Active).unwrap();
    let ed_jwk = serde_json::to_value(&ring.jwks().unwrap().keys[0]).unwrap();
    let doc = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": ed_jwk["x"], "kid": "ed"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": y, "alg": "ES384", "kid": "explicit"},
        {"kty": "EC", "crv": "P-384", "x": x, "y": "AAAA", "kid": "short-y"},
        {"kty": "OKP", "crv": "X25519", "x": ed_jwk["x"], "kid": "x25519"},
        {"kty": "oct", "kid": "sym"},
    ]});
    let out = parse_jwks(doc.to_string().as_bytes(), None).unwrap();
    let kids: Vec<&str> = out.keys.iter().map(|k| k.kid().as_str()).collect();
    assert_eq!(kids, ["ed", "explicit"]);
    assert_eq!(out.keys[0].algorithm(), Algorithm::EdDsa);
    let reasons: Vec<&str> = out.skipped.iter().map(|s| s.reason).collect();
    assert_eq!(
        reasons,
        [
            "an EC coordinate has the wrong length for its curve",
            "its curve is not supported",
            "symmetric keys are not taken from a JWKS",
        ]
    );
    // Exactly MAX_JWKS_KEYS entries are accepted.
    let full = json!({"keys": vec![json!({"kty": "oct"}); MAX_JWKS_KEYS]});
    assert_eq!(
        parse_jwks(full.to_string().as_bytes(), None)
            .unwrap()
            .skipped
            .len(),
        MAX_JWKS_KEYS
    );
}
