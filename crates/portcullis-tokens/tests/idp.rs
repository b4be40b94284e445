#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Issue 14, build item 3: identity providers' access tokens under a claim profile per
//! issuer (`sub` any string, `tid`/`jti`/`nbf` optional, tenant from a named claim, `typ`
//! `at+jwt`), several issuers each with its own keys, algorithms and audiences.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::pkcs8::EncodePrivateKey as _;
use portcullis_core::{Clock, KeyId, SecretBytes};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, IdpVerifier, IssuerProfile, KeyMaterial, KeyState, SigningKeys, TokenError,
    TypHeader,
};
use serde_json::{Value, json};
use sha2::Sha256;

const AUTH0: &str = "https://tenant.eu.auth0.com/";
const KEYCLOAK: &str = "https://sso.example.org/realms/acme";

/// An identity provider: a fixed P-256 key published under the provider's own kid.
struct Provider {
    key: p256::SecretKey,
    kid: &'static str,
}

impl Provider {
    fn new(byte: u8, kid: &'static str) -> Self {
        Self {
            key: p256::SecretKey::from_slice(&[byte; 32]).unwrap(),
            kid,
        }
    }

    fn ring(&self) -> Arc<SigningKeys> {
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &self.key.public_key(),
            false,
        );
        let key = KeyMaterial::es256_public(point.as_bytes())
            .unwrap()
            .with_key_id(KeyId::new(self.kid).unwrap());
        let ring = SigningKeys::new();
        ring.insert(key, KeyState::VerifyOnly).unwrap();
        Arc::new(ring)
    }

    /// A token as the provider signs it (low-S, as a verifier here requires).
    fn sign(&self, header: Value, claims: &Value) -> String {
        let mut h = json!({"alg": "ES256", "kid": self.kid});
        for (k, v) in header.as_object().unwrap() {
            h[k] = v.clone();
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let der = self.key.to_pkcs8_der().unwrap();
        let sig = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap();
        let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(&raw).unwrap();
        let sig = sig.normalize_s().unwrap_or(sig);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

fn auth0_claims(now: u64) -> Value {
    // What Auth0 puts in a client-credentials access token: no tid, no nbf, no jti.
    json!({
        "iss": AUTH0, "sub": "auth0|abc123", "aud": ["https://api.example.com", "https://tenant.eu.auth0.com/userinfo"],
        "iat": now, "exp": now + 86400, "scope": "read:invoices write:invoices",
        "azp": "client-1", "org_id": "org_42"
    })
}

fn setup() -> (ManualClock, Provider, Provider, IdpVerifier) {
    let clock = ManualClock::new();
    let auth0 = Provider::new(7, "auth0-key-1");
    let keycloak = Provider::new(9, "kc-rs-1");
    let verifier = IdpVerifier::new(
        vec![
            IssuerProfile::new(
                AUTH0,
                &["https://api.example.com"],
                &[Algorithm::Es256, Algorithm::Rs256],
                auth0.ring(),
            )
            .unwrap()
            .tenant_claim("org_id"),
            IssuerProfile::new(KEYCLOAK, &["account"], &[Algorithm::Es256], keycloak.ring())
                .unwrap()
                .typ(TypHeader::AtJwt)
                .require(true, false, true),
        ],
        clock.provider(1),
    )
    .unwrap();
    (clock, auth0, keycloak, verifier)
}

#[test]
fn an_auth0_token_verifies_with_its_own_conventions() {
    let (clock, auth0, _, v) = setup();
    let now = clock.now().as_secs();
    let t = v
        .verify(&auth0.sign(json!({"typ": "JWT"}), &auth0_claims(now)))
        .unwrap();
    assert_eq!(t.subject, "auth0|abc123");
    assert_eq!(t.issuer, AUTH0);
    assert_eq!(t.tenant.as_ref().map(|t| t.as_str()), Some("org_42"));
    assert_eq!(t.kid.as_str(), "auth0-key-1");
    assert_eq!(t.alg, Algorithm::Es256);
    assert_eq!(t.jti, None);
    assert_eq!(t.scopes(), ["read:invoices", "write:invoices"]);
    assert_eq!(t.claims["azp"], "client-1");
    // Without a typ header too (at+jwt or JWT or none by default).
    v.verify(&auth0.sign(json!({}), &auth0_claims(now)))
        .unwrap();
}

#[test]
fn every_claim_rule_has_its_error() {
    let (clock, auth0, keycloak, v) = setup();
    let now = clock.now().as_secs();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = auth0_claims(now);
        edit(&mut c);
        v.verify(&auth0.sign(json!({}), &c))
    };
    assert!(matches!(
        with(&|c| c["iss"] = json!("https://evil.example/")),
        Err(TokenError::WrongIssuer)
    ));
    assert!(matches!(
        with(&|c| c["aud"] = json!("https://other.example.com")),
        Err(TokenError::WrongAudience)
    ));
    assert!(matches!(
        with(&|c| c["exp"] = json!(now - 31)),
        Err(TokenError::Expired)
    ));
    with(&|c| c["exp"] = json!(now - 29)).unwrap(); // inside the 30 s leeway
    assert!(matches!(
        with(&|c| c["nbf"] = json!(now + 60)),
        Err(TokenError::NotYetValid)
    ));
    assert!(matches!(
        with(&|c| c["iat"] = json!(now + 60)),
        Err(TokenError::NotYetValid)
    ));
    for (what, edit) in [
        (
            "no exp",
            &(|c: &mut Value| {
                c.as_object_mut().unwrap().remove("exp");
            }) as &dyn Fn(&mut Value),
        ),
        ("string exp", &|c: &mut Value| c["exp"] = json!("SECRET-1")),
        ("fractional exp", &|c: &mut Value| c["exp"] = json!(1.5)),
        ("empty sub", &|c: &mut Value| c["sub"] = json!("")),
        ("numeric sub", &|c: &mut Value| c["sub"] = json!(42)),
        ("no aud", &|c: &mut Value| {
            c.as_object_mut().unwrap().remove("aud");
        }),
        ("no tenant claim", &|c: &mut Value| {
            c.as_object_mut().unwrap().remove("org_id");
        }),
        ("bad tenant", &|c: &mut Value| {
            c["org_id"] = json!("SECRET bad/tenant")
        }),
        ("no iss", &|c: &mut Value| {
            c.as_object_mut().unwrap().remove("iss");
        }),
    ] {
        match with(edit) {
            Err(e @ TokenError::MalformedClaims { .. }) => {
                assert!(!format!("{e} {e:?}").contains("SECRET"), "{what}: {e}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // Keycloak's profile: typ at+jwt, iat and jti required.
    let kc = |header: Value, claims: Value| v.verify(&keycloak.sign(header, &claims));
    let kc_claims = json!({"iss": KEYCLOAK, "sub": "f81d4fae-7dec", "aud": "account",
                           "iat": now, "exp": now + 300, "jti": "j1"});
    kc(json!({"typ": "at+jwt"}), kc_claims.clone()).unwrap();
    kc(json!({"typ": "application/AT+JWT"}), kc_claims.clone()).unwrap();
    assert!(matches!(
        kc(json!({"typ": "JWT"}), kc_claims.clone()),
        Err(TokenError::WrongType { .. })
    ));
    assert!(matches!(
        kc(json!({}), kc_claims.clone()),
        Err(TokenError::WrongType { expected: "at+jwt" })
    ));
    let mut no_jti = kc_claims.clone();
    no_jti.as_object_mut().unwrap().remove("jti");
    assert!(matches!(
        kc(json!({"typ": "at+jwt"}), no_jti),
        Err(TokenError::MalformedClaims { .. })
    ));
    let mut no_iat = kc_claims;
    no_iat.as_object_mut().unwrap().remove("iat");
    assert!(matches!(
        kc(json!({"typ": "at+jwt"}), no_iat),
        Err(TokenError::MalformedClaims { .. })
    ));
}

#[test]
fn issuers_keep_their_own_keys_and_algorithms() {
    let (clock, auth0, keycloak, v) = setup();
    let now = clock.now().as_secs();
    // Keycloak's key signing a token that claims to be Auth0's: Auth0's ring has no such
    // kid; under Auth0's kid, the signature is wrong.
    let forged = keycloak.sign(json!({}), &auth0_claims(now));
    assert!(matches!(
        v.verify(&forged),
        Err(TokenError::UnknownKey { .. })
    ));
    let forged = keycloak.sign(json!({"kid": "auth0-key-1"}), &auth0_claims(now));
    assert!(matches!(
        v.verify(&forged),
        Err(TokenError::InvalidSignature)
    ));
    // An algorithm the profile does not allow, and one the key is not pinned to.
    let token = auth0.sign(json!({}), &auth0_claims(now));
    let (_, rest) = token.split_once('.').unwrap();
    let hs = format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"auth0-key-1"}"#)
    );
    assert!(matches!(
        v.verify(&hs),
        Err(TokenError::UnsupportedAlgorithm { .. })
    ));
    let rs = format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"auth0-key-1"}"#)
    );
    assert!(matches!(
        v.verify(&rs),
        Err(TokenError::AlgorithmMismatch { .. })
    ));
    // No kid: refused (only HS256 profiles may opt in).
    let no_kid = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#));
    assert!(matches!(v.verify(&no_kid), Err(TokenError::MissingKeyId)));
    // A crit extension is refused here too.
    let crit = auth0.sign(json!({"crit": ["x"], "x": 1}), &auth0_claims(now));
    assert!(matches!(
        v.verify(&crit),
        Err(TokenError::UnsupportedCritical { .. })
    ));
    // Configuration errors.
    assert!(IdpVerifier::new(vec![], clock.provider(1)).is_err());
    let dup = || IssuerProfile::new(AUTH0, &["a"], &[Algorithm::Es256], auth0.ring()).unwrap();
    assert!(IdpVerifier::new(vec![dup(), dup()], clock.provider(1)).is_err());
    assert!(IssuerProfile::new(AUTH0, &[], &[Algorithm::Es256], auth0.ring()).is_err());
    assert!(IssuerProfile::new(AUTH0, &["a"], &[], auth0.ring()).is_err());
    assert!(IssuerProfile::new("", &["a"], &[Algorithm::Es256], auth0.ring()).is_err());
}

#[test]
fn a_shared_secret_provider_without_kid_can_opt_in() {
    let clock = ManualClock::new();
    let secret = [5u8; 32];
    let ring = Arc::new(
        SigningKeys::hs256(
            (
                KeyId::new("legacy").unwrap(),
                &SecretBytes::from_slice(&secret),
            ),
            None,
        )
        .unwrap(),
    );
    let supabase = "https://project.supabase.co/auth/v1";
    let profile = || {
        IssuerProfile::new(
            supabase,
            &["authenticated"],
            &[Algorithm::Hs256],
            Arc::clone(&ring),
        )
        .unwrap()
    };
    let now = clock.now().as_secs();
    let claims = json!({"iss": supabase, "sub": "7c1e9b2a", "aud": "authenticated",
                        "exp": now + 3600, "iat": now, "role": "authenticated"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(input.as_bytes());
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let strict = IdpVerifier::new(vec![profile()], clock.provider(1)).unwrap();
    assert!(matches!(
        strict.verify(&token),
        Err(TokenError::MissingKeyId)
    ));
    let lenient = IdpVerifier::new(
        vec![profile().accept_hs256_without_kid()],
        clock.provider(1),
    )
    .unwrap();
    let t = lenient.verify(&token).unwrap();
    assert_eq!((t.subject.as_str(), t.kid.as_str()), ("7c1e9b2a", "legacy"));
}

#[test]
fn profile_bounds_accessors_and_token_details() {
    let (clock, auth0, _, v) = setup();
    let now = clock.now().as_secs();
    // Leeway bound: at most MAX_LEEWAY.
    let p = || IssuerProfile::new(AUTH0, &["a"], &[Algorithm::Es256], auth0.ring()).unwrap();
    assert!(p().leeway(portcullis_tokens::MAX_LEEWAY).is_ok());
    assert!(p().leeway(std::time::Duration::from_secs(1)).is_ok());
    assert!(
        p().leeway(portcullis_tokens::MAX_LEEWAY + std::time::Duration::from_secs(1))
            .is_err()
    );
    assert_eq!(p().issuer(), AUTH0);
    let keys = p().keys().unwrap().clone();
    assert_eq!(keys.states().unwrap()[0].0.as_str(), "auth0-key-1");
    assert!(p().remote_jwks().is_none());
    assert_eq!(v.issuers().len(), 2);
    assert_eq!(v.issuers()[1].issuer(), KEYCLOAK);
    // Debug names the subject and the claim names, not their values.
    let t = v
        .verify(&auth0.sign(json!({}), &auth0_claims(now)))
        .unwrap();
    let dbg = format!("{t:?}");
    assert!(
        dbg.contains("IdpToken") && dbg.contains("auth0|abc123") && dbg.contains("\"azp\""),
        "{dbg}"
    );
    assert!(!dbg.contains("client-1"), "{dbg}");
    // scopes(): `scope` with extra spaces, `scp` as an array or a string.
    let scoped = |claim: &str, value: Value| {
        let mut c = auth0_claims(now);
        c.as_object_mut().unwrap().remove("scope");
        c[claim] = value;
        v.verify(&auth0.sign(json!({}), &c)).unwrap()
    };
    assert_eq!(scoped("scope", json!(" a  b ")).scopes(), ["a", "b"]);
    assert_eq!(scoped("scp", json!(["x", "y"])).scopes(), ["x", "y"]);
    assert_eq!(scoped("scp", json!("x  y")).scopes(), ["x", "y"]);
    assert!(scoped("other", json!(1)).scopes().is_empty());
    // jti, when present, must be a non-empty string.
    let mut c = auth0_claims(now);
    c["jti"] = json!("");
    assert!(matches!(
        v.verify(&auth0.sign(json!({}), &c)),
        Err(TokenError::MalformedClaims { .. })
    ));
    // nbf exactly at now + leeway is still valid.
    let mut c = auth0_claims(now);
    c["nbf"] = json!(now + 30);
    v.verify(&auth0.sign(json!({}), &c)).unwrap();
    // The typ error says what was expected.
    match v.verify(&auth0.sign(json!({"typ": "dpop+jwt"}), &auth0_claims(now))) {
        Err(TokenError::WrongType { expected }) => assert_eq!(expected, "at+jwt or JWT"),
        other => panic!("{other:?}"),
    }
    // Tokens up to 16 KiB are parsed; longer ones are not.
    let at_limit = format!("{}.x.y", "a".repeat(16 * 1024 - 4));
    assert!(!matches!(
        v.verify(&at_limit),
        Err(TokenError::TooLong { .. })
    ));
    let over = format!("{}.x.y", "a".repeat(16 * 1024 - 3));
    assert!(matches!(v.verify(&over), Err(TokenError::TooLong { .. })));
}
