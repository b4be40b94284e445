#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Every attack of the acceptance list is rejected with its typed error.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use portcullis_core::{Clock, Provider, SecretBytes};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, KeyMaterial, KeyState, NoExtra, RevocationReason, TokenConfig, TokenError,
    TokenService, TokenStores, TokenType,
};
use serde_json::json;

fn setup() -> (ManualClock, TokenService) {
    let clock = ManualClock::new();
    let svc = service(ring(Algorithm::Hs256), &clock);
    (clock, svc)
}

fn check(svc: &TokenService, token: &str) -> Result<(), TokenError> {
    verify::<NoExtra>(svc, token).map(|_| ())
}

#[test]
fn hand_built_token_with_good_claims_verifies() {
    // Guards the other tests: the forger below produces acceptable tokens when honest.
    let (clock, svc) = setup();
    let t = hs256(
        &json!({"alg":"HS256","kid":"hs-1"}),
        &good_claims(clock.now().as_secs()),
        HS_SECRET,
    );
    check(&svc, &t).unwrap();
}

#[test]
fn alg_none_is_unsupported() {
    let (clock, svc) = setup();
    let claims = good_claims(clock.now().as_secs());
    for alg in ["none", "None", "NONE", "HS512", "ES512", "rs256", "EdDSA "] {
        let header = json!({"alg": alg, "kid": "hs-1"});
        let token = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        assert!(
            matches!(
                check(&svc, &token),
                Err(TokenError::UnsupportedAlgorithm { .. })
            ),
            "{alg}"
        );
    }
    // RS256 is supported (identity providers' tokens), but not under an HS256 key: the
    // key's pinned algorithm decides, never the header.
    let header = json!({"alg": "RS256", "kid": "hs-1"});
    let token = format!(
        "{}.{}.AAAA",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    assert!(matches!(
        check(&svc, &token),
        Err(TokenError::AlgorithmMismatch { .. })
    ));
}

#[test]
fn hs256_with_public_key_of_asymmetric_kid_is_rejected() {
    for alg in [Algorithm::EdDsa, Algorithm::Es256] {
        let clock = ManualClock::new();
        let ring = ring(alg);
        let svc = service(ring.clone(), &clock);
        let jwks = ring.jwks().unwrap();
        let jwk = &jwks.keys[0];
        // The classic confusion: HMAC keyed with the published public key (raw and JSON).
        let public_raw = URL_SAFE_NO_PAD.decode(jwk.x.as_deref().unwrap()).unwrap();
        let public_json = serde_json::to_vec(jwk).unwrap();
        for secret in [public_raw, public_json] {
            let t = hs256(
                &json!({"alg":"HS256","kid": jwk.kid}),
                &good_claims(clock.now().as_secs()),
                &secret,
            );
            match check(&svc, &t) {
                Err(TokenError::AlgorithmMismatch { pinned, .. }) => {
                    assert_eq!(pinned, alg.as_str())
                }
                other => panic!("{alg}: {other:?}"),
            }
        }
    }
}

#[test]
fn unknown_and_missing_kid() {
    let (clock, svc) = setup();
    let claims = good_claims(clock.now().as_secs());
    let t = hs256(&json!({"alg":"HS256","kid":"nope"}), &claims, HS_SECRET);
    assert!(matches!(check(&svc, &t), Err(TokenError::UnknownKey { kid }) if kid == "nope"));
    let t = hs256(&json!({"alg":"HS256"}), &claims, HS_SECRET);
    assert!(matches!(check(&svc, &t), Err(TokenError::MissingKeyId)));
}

#[test]
fn tampered_payload_fails_signature() {
    for alg in [Algorithm::Hs256, Algorithm::EdDsa, Algorithm::Es256] {
        let clock = ManualClock::new();
        let svc = service(ring(alg), &clock);
        let issued = svc
            .issue_access(&tenant(), &alice(), None, &NoExtra {})
            .unwrap();
        let parts: Vec<&str> = issued.token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("mallory");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(claims.to_string().as_bytes()),
            parts[2]
        );
        assert!(
            matches!(check(&svc, &forged), Err(TokenError::InvalidSignature)),
            "{alg}"
        );
        // The untampered token still verifies.
        check(&svc, &issued.token).unwrap();
    }
}

#[test]
fn expiry_and_leeway() {
    let (clock, svc) = setup();
    let issued = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    clock.advance(Duration::from_secs(3600 + 29));
    check(&svc, &issued.token).unwrap(); // inside the 30 s leeway
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        check(&svc, &issued.token),
        Err(TokenError::Expired)
    ));
}

#[test]
fn not_yet_valid() {
    let (clock, svc) = setup();
    let now = clock.now().as_secs();
    let mut claims = good_claims(now);
    claims["nbf"] = json!(now + 31);
    let t = hs256(&json!({"alg":"HS256","kid":"hs-1"}), &claims, HS_SECRET);
    assert!(matches!(check(&svc, &t), Err(TokenError::NotYetValid)));
    claims["nbf"] = json!(now + 30);
    let t = hs256(&json!({"alg":"HS256","kid":"hs-1"}), &claims, HS_SECRET);
    check(&svc, &t).unwrap();
    // A token "issued" in the future is not valid yet either.
    let mut claims = good_claims(now);
    claims["iat"] = json!(now + 120);
    let t = hs256(&json!({"alg":"HS256","kid":"hs-1"}), &claims, HS_SECRET);
    assert!(matches!(check(&svc, &t), Err(TokenError::NotYetValid)));
}

#[test]
fn wrong_audience_and_issuer() {
    let clock = ManualClock::new();
    let ring = ring(Algorithm::EdDsa);
    let svc = service(ring.clone(), &clock);
    let issued = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    let other = |iss: &str, aud: &str| {
        TokenService::new(
            ring.clone(),
            TokenConfig::new(iss, aud).unwrap(),
            TokenStores::in_memory(&clock.provider(1)),
            Provider::with_clock(Arc::new(clock.clone())),
        )
    };
    assert!(matches!(
        check(&other(ISSUER, "billing"), &issued.token),
        Err(TokenError::WrongAudience)
    ));
    assert!(matches!(
        check(&other("https://evil.test", AUDIENCE), &issued.token),
        Err(TokenError::WrongIssuer)
    ));
    // Array audiences are accepted when they contain ours.
    let mut claims = good_claims(clock.now().as_secs());
    claims["aud"] = json!(["x", AUDIENCE]);
    let (c2, hs) = setup();
    let _ = c2;
    let t = hs256(&json!({"alg":"HS256","kid":"hs-1"}), &claims, HS_SECRET);
    check(&hs, &t).unwrap();
}

#[test]
fn token_types_are_not_interchangeable() {
    let (_clock, svc) = setup();
    let ticket = svc.issue_ticket(&tenant(), &alice(), "ws-upgrade").unwrap();
    assert!(matches!(
        check(&svc, &ticket.token),
        Err(TokenError::WrongType { expected: "access" })
    ));
    let access = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    assert!(matches!(
        portcullis_tokens::danger::verify_signature_and_claims_only::<NoExtra>(
            &svc,
            &access.token,
            TokenType::Ticket
        ),
        Err(TokenError::WrongType { expected: "ticket" })
    ));
    assert!(matches!(
        portcullis_tokens::danger::verify_signature_and_claims_only::<NoExtra>(
            &svc,
            &access.token,
            TokenType::Scoped
        ),
        Err(TokenError::WrongType { expected: "scoped" })
    ));
}

#[test]
fn oversized_token_is_rejected_before_parsing() {
    let (_clock, svc) = setup();
    let huge = "a".repeat(8 * 1024 + 1);
    assert!(matches!(
        check(&svc, &huge),
        Err(TokenError::TooLong {
            len: 8193,
            max: 8192
        })
    ));
}

#[test]
fn string_exp_is_rejected_not_ignored() {
    // CVE-2026-25537 shape: a string `exp`/`nbf` must never read as "absent".
    let (clock, svc) = setup();
    let now = clock.now().as_secs();
    for (claim, value) in [
        ("exp", json!("99999999999")),
        ("nbf", json!("0")),
        ("iat", json!("x")),
    ] {
        let mut claims = good_claims(now);
        claims[claim] = value;
        let t = hs256(&json!({"alg":"HS256","kid":"hs-1"}), &claims, HS_SECRET);
        assert!(
            matches!(check(&svc, &t), Err(TokenError::MalformedClaims { .. })),
            "{claim}"
        );
    }
}

#[test]
fn required_claims_are_required() {
    let (clock, svc) = setup();
    for claim in [
        "exp", "iat", "nbf", "iss", "aud", "typ", "sub", "tid", "jti",
    ] {
        let mut claims = good_claims(clock.now().as_secs());
        claims.as_object_mut().unwrap().remove(claim);
        let t = hs256(&json!({"alg":"HS256","kid":"hs-1"}), &claims, HS_SECRET);
        assert!(
            matches!(check(&svc, &t), Err(TokenError::MalformedClaims { .. })),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn revoked_jti_and_epochs() {
    let (clock, svc) = setup();
    let store = svc.stores().revocation.clone();
    let a = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    let v = svc.verify_access::<NoExtra>(&a.token).await.unwrap();
    svc.revoke(&v.claims).await.unwrap();
    assert!(matches!(
        svc.verify_access::<NoExtra>(&a.token).await,
        Err(TokenError::Revoked {
            reason: RevocationReason::TokenRevoked
        })
    ));
    // Subject epoch: tokens issued at or before it die, later ones live.
    let b = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    let keep = clock.now().saturating_add(Duration::from_secs(7200));
    store
        .revoke_subject_before(&tenant(), &alice(), clock.now(), keep)
        .await
        .unwrap();
    assert!(matches!(
        svc.verify_access::<NoExtra>(&b.token).await,
        Err(TokenError::Revoked {
            reason: RevocationReason::SubjectEpoch
        })
    ));
    clock.advance(Duration::from_secs(1));
    let c = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    svc.verify_access::<NoExtra>(&c.token).await.unwrap();
    // Tenant epoch.
    store
        .revoke_tenant_before(&tenant(), clock.now(), keep)
        .await
        .unwrap();
    assert!(matches!(
        svc.verify_access::<NoExtra>(&c.token).await,
        Err(TokenError::Revoked {
            reason: RevocationReason::TenantEpoch
        })
    ));
}

#[test]
fn retired_key_and_zero_downtime_rotation() {
    let clock = ManualClock::new();
    let ring = ring(Algorithm::EdDsa);
    let svc = service(ring.clone(), &clock);
    let old = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    let old_kid = verify::<NoExtra>(&svc, &old.token).unwrap().kid;
    // Next key published as standby: in the JWKS, not yet signing.
    let next = KeyMaterial::generate(Algorithm::Es256, &portcullis_core::OsRandom).unwrap();
    let next_kid = next.kid().clone();
    ring.insert(next, KeyState::Standby).unwrap();
    assert_eq!(ring.jwks().unwrap().keys.len(), 2);
    assert_eq!(
        verify::<NoExtra>(
            &svc,
            &svc.issue_access(&tenant(), &alice(), None, &NoExtra {})
                .unwrap()
                .token
        )
        .unwrap()
        .kid,
        old_kid
    );
    ring.activate(&next_kid).unwrap();
    let new = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    assert_eq!(verify::<NoExtra>(&svc, &new.token).unwrap().kid, next_kid);
    assert_eq!(
        verify::<NoExtra>(&svc, &old.token).unwrap().kid,
        old_kid,
        "previous key still verifies"
    );
    ring.retire(&old_kid).unwrap();
    assert!(
        matches!(check(&svc, &old.token), Err(TokenError::KeyRetired { kid }) if kid == old_kid)
    );
    assert_eq!(
        ring.jwks().unwrap().keys.len(),
        1,
        "retired keys leave the JWKS"
    );
    ring.remove(&old_kid).unwrap();
    assert!(matches!(
        check(&svc, &old.token),
        Err(TokenError::UnknownKey { .. })
    ));
    check(&svc, &new.token).unwrap();
    // Lifecycle only moves forward.
    assert!(
        ring.retire(&next_kid).is_err(),
        "active cannot be retired directly"
    );
    assert!(
        ring.activate(&next_kid).is_err(),
        "active cannot be re-activated"
    );
}

#[test]
fn hs256_current_and_previous() {
    let clock = ManualClock::new();
    let prev_secret = SecretBytes::from_slice(&[1u8; 32]);
    let cur_secret = SecretBytes::from_slice(&[2u8; 32]);
    let prev_kid = portcullis_core::KeyId::new("hs-2025").unwrap();
    let cur_kid = portcullis_core::KeyId::new("hs-2026").unwrap();
    let old_ring = Arc::new(
        portcullis_tokens::SigningKeys::hs256((prev_kid.clone(), &prev_secret), None).unwrap(),
    );
    let old_token = service(old_ring, &clock)
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    let ring = Arc::new(
        portcullis_tokens::SigningKeys::hs256(
            (cur_kid.clone(), &cur_secret),
            Some((prev_kid.clone(), &prev_secret)),
        )
        .unwrap(),
    );
    let svc = service(ring.clone(), &clock);
    assert_eq!(
        verify::<NoExtra>(&svc, &old_token.token).unwrap().kid,
        prev_kid
    );
    let new = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    assert_eq!(verify::<NoExtra>(&svc, &new.token).unwrap().kid, cur_kid);
    assert!(
        ring.jwks().unwrap().keys.is_empty(),
        "shared secrets are never published"
    );
    assert!(KeyMaterial::hs256(cur_kid, &SecretBytes::from_slice(&[0u8; 31])).is_err());
}
