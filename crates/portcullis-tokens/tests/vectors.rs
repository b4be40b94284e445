#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Published and independently computed vectors, read from `tests/vectors/`.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::{KeyId, SecretArray, SecretBytes, TenantId};
use portcullis_tokens::api_key_format as api_format;
use portcullis_tokens::refresh_format as rt_format;
use portcullis_tokens::{Algorithm, FamilyId, KeyMaterial, TokenError};

fn load(name: &str) -> HashMap<String, String> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn rfc7515_a1_hs256_signature_verifies() {
    let v = load("rfc7515_a1_hs256.txt");
    let secret = SecretBytes::new(URL_SAFE_NO_PAD.decode(&v["key"]).unwrap());
    let key = KeyMaterial::hs256(KeyId::new("rfc7515-a1").unwrap(), &secret).unwrap();
    let payload = key.verify_jws(&v["token"]).unwrap();
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .contains("\"iss\":\"joe\"")
    );
    // One flipped signature character (inside the signature, where every bit counts)
    // fails; a last character with stray low bits is not base64url at all.
    let token = &v["token"];
    let at = token.len() - 10;
    let c = &token[at..=at];
    let bad = format!(
        "{}{}{}",
        &token[..at],
        if c == "k" { "j" } else { "k" },
        &token[at + 1..]
    );
    assert!(matches!(
        key.verify_jws(&bad),
        Err(TokenError::InvalidSignature)
    ));
    let mut stray = token.clone();
    let last = stray.pop().unwrap();
    stray.push(if last == 'k' { 'j' } else { 'k' });
    assert!(key.verify_jws(&stray).is_err());
    // Another secret fails.
    let other =
        KeyMaterial::hs256(KeyId::new("x").unwrap(), &SecretBytes::new(vec![1; 64])).unwrap();
    assert!(matches!(
        other.verify_jws(&v["token"]),
        Err(TokenError::InvalidSignature)
    ));
}

#[test]
fn rfc8037_a4_ed25519_signature_and_thumbprint() {
    let v = load("rfc8037_a4_ed25519.txt");
    let d: [u8; 32] = URL_SAFE_NO_PAD.decode(&v["d"]).unwrap().try_into().unwrap();
    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(&v["x"]).unwrap().try_into().unwrap();
    let private = KeyMaterial::ed25519_from_seed(&SecretArray::new(d)).unwrap();
    let public = KeyMaterial::ed25519_public(&x).unwrap();
    // RFC 8037 A.3: the kid is the RFC 7638 thumbprint; the private key derives the same.
    assert_eq!(public.kid().as_str(), v["thumbprint"]);
    assert_eq!(private.kid(), public.kid());
    let payload = public.verify_jws(&v["token"]).unwrap();
    assert_eq!(payload, b"Example of Ed25519 signing");
    assert!(matches!(
        public.verify_jws(&v["token"].replace(".RXhh", ".RXhi")),
        Err(TokenError::InvalidSignature)
    ));
}

#[test]
fn refresh_token_layout_matches_independent_computation() {
    let v = load("refresh_token.txt");
    let key = SecretArray::<32>::try_from_slice(&hex::decode(&v["key_hex"]).unwrap()).unwrap();
    let tenant: TenantId = v["tenant"].parse().unwrap();
    let family = FamilyId::from_bytes(hex::decode(&v["family_hex"]).unwrap().try_into().unwrap());
    assert_eq!(family.to_string(), v["family_text"]);
    assert_eq!(v["family_text"].parse::<FamilyId>().unwrap(), family);
    let secret =
        SecretArray::<32>::try_from_slice(&hex::decode(&v["secret_hex"]).unwrap()).unwrap();
    let t0 = rt_format::encode_token(&key, &tenant, family, 0, &secret).unwrap();
    assert_eq!(t0.expose_secret(), v["token0"]);
    assert_eq!(t0.len(), rt_format::TEXT_LEN);
    let h0 = rt_format::token_hash(&key, &tenant, &v["token0"]).unwrap();
    assert_eq!(hex::encode(h0.0), v["hash0_hex"]);
    let t1 = rt_format::successor_token(&key, &tenant, &v["token0"]).unwrap();
    assert_eq!(t1.expose_secret(), v["token1"]);
    let h1 = rt_format::token_hash(&key, &tenant, &v["token1"]).unwrap();
    assert_eq!(hex::encode(h1.0), v["hash1_hex"]);
    // The tag binds the tenant.
    let other: TenantId = "acme2".parse().unwrap();
    assert!(matches!(
        rt_format::token_hash(&key, &other, &v["token0"]),
        Err(TokenError::RefreshInvalid)
    ));
}

#[test]
fn api_key_layout_matches_independent_computation() {
    let v = load("api_key.txt");
    let head = format!("{}_{}{}", v["prefix"], v["id"], v["secret"]);
    let check = api_format::checksum(&head);
    assert_eq!(std::str::from_utf8(&check).unwrap(), v["checksum"]);
    assert_eq!(format!("{head}{}", v["checksum"]), v["key"]);
    let parsed = api_format::parse(&v["prefix"], &v["key"]).unwrap();
    assert_eq!(parsed.id, v["id"]);
    let _ = Duration::ZERO;
}

#[test]
fn every_thumbprint_is_a_key_id_including_those_starting_with_dash_or_underscore() {
    // About 1 in 32 base64url thumbprints starts with `-` or `_`; `KeyId` accepts them.
    let mut starts_with_symbol = 0;
    for b in 0u8..=255 {
        let key = KeyMaterial::ed25519_from_seed(&SecretArray::new([b; 32])).unwrap();
        let kid = key.kid().as_str();
        assert_eq!(kid.len(), 43, "{kid}");
        if kid.starts_with(['-', '_']) {
            starts_with_symbol += 1;
        }
    }
    assert!(
        starts_with_symbol > 0,
        "the sample should include a `-`/`_` thumbprint"
    );
    let rng = portcullis_testkit::SeededRandom::new(5);
    for alg in [
        portcullis_tokens::Algorithm::EdDsa,
        portcullis_tokens::Algorithm::Es256,
    ] {
        for _ in 0..100 {
            KeyMaterial::generate(alg, &rng).unwrap();
        }
    }
}

#[test]
fn rfc7515_a2_rs256_signature_verifies() {
    let v = load("rfc7515_a2_rs256.txt");
    let n = URL_SAFE_NO_PAD.decode(&v["n"]).unwrap();
    let e = URL_SAFE_NO_PAD.decode(&v["e"]).unwrap();
    let key = KeyMaterial::rsa_public(Algorithm::Rs256, &n, &e).unwrap();
    let payload = key.verify_jws(&v["token"]).unwrap();
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .contains("\"iss\":\"joe\"")
    );
    // The same key from its JWK (no `alg`: pinned by the caller), and the PS256 pin refuses
    // the RS256 token.
    let jwk = format!(r#"{{"kty":"RSA","n":"{}","e":"{}"}}"#, v["n"], v["e"]);
    let from_jwk = KeyMaterial::from_jwk(&jwk, Some(Algorithm::Rs256)).unwrap();
    assert_eq!(
        from_jwk.kid(),
        key.kid(),
        "no kid: named by its RFC 7638 thumbprint"
    );
    from_jwk.verify_jws(&v["token"]).unwrap();
    let ps = KeyMaterial::rsa_public(Algorithm::Ps256, &n, &e).unwrap();
    assert!(matches!(
        ps.verify_jws(&v["token"]),
        Err(TokenError::AlgorithmMismatch { .. })
    ));
    // One flipped signature character fails.
    let token = &v["token"];
    let at = token.len() - 10;
    let c = &token[at..=at];
    let bad = format!(
        "{}{}{}",
        &token[..at],
        if c == "k" { "j" } else { "k" },
        &token[at + 1..]
    );
    assert!(matches!(
        key.verify_jws(&bad),
        Err(TokenError::InvalidSignature)
    ));
}

#[test]
fn rfc7515_a3_es256_signature_verifies_in_its_low_s_form() {
    let v = load("rfc7515_a3_es256.txt");
    let x = URL_SAFE_NO_PAD.decode(&v["x"]).unwrap();
    let y = URL_SAFE_NO_PAD.decode(&v["y"]).unwrap();
    let sec1 = [vec![4u8], x, y].concat();
    let strict = KeyMaterial::es256_public(&sec1).unwrap();
    let lenient = KeyMaterial::es256_public(&sec1)
        .unwrap()
        .danger_accept_high_s();
    let token = &v["token"];
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    // Both forms of the published signature, (r, s) and (r, n - s).
    let (low, high) = match sig.normalize_s() {
        Some(low) => (low, sig),
        None => {
            let (r, s) = sig.split_scalars();
            (sig, p256::ecdsa::Signature::from_scalars(r, -*s).unwrap())
        }
    };
    let low = format!("{input}.{}", URL_SAFE_NO_PAD.encode(low.to_bytes()));
    let high = format!("{input}.{}", URL_SAFE_NO_PAD.encode(high.to_bytes()));
    assert!(
        low == *token || high == *token,
        "one of them is the published token"
    );
    strict.verify_jws(&low).unwrap();
    assert!(matches!(
        strict.verify_jws(&high),
        Err(TokenError::InvalidSignature)
    ));
    lenient.verify_jws(&low).unwrap();
    lenient.verify_jws(&high).unwrap();
}
