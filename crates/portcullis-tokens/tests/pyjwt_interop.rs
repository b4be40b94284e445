#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Tokens we issue verify in PyJWT (HS256, EdDSA, ES256), using the JWKS we export.
//!
//! Needs a Python with `pyjwt` and `cryptography`: set `PORTCULLIS_TEST_PYTHON` to it
//! (for example a venv's `bin/python`). Without it the test says so and does nothing.

mod common;

use std::process::Command;

use common::*;
use portcullis_core::{Clock, SystemClock};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{Algorithm, NoExtra};

const SCRIPT: &str = r#"
import json, sys, jwt
cases = json.load(sys.stdin)
for case in cases:
    if case["alg"] == "HS256":
        key = case["secret"].encode()
    else:
        key = jwt.PyJWK(case["jwk"]).key
    claims = jwt.decode(case["token"], key, algorithms=[case["alg"]],
                        audience=case["aud"], issuer=case["iss"],
                        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
    assert claims["sub"] == "alice" and claims["tid"] == "acme" and claims["typ"] == "access", claims
    assert jwt.get_unverified_header(case["token"])["kid"] == case["kid"]
print("pyjwt verified", len(cases))
"#;

#[test]
fn pyjwt_verifies_our_tokens() {
    let Ok(python) = std::env::var("PORTCULLIS_TEST_PYTHON") else {
        eprintln!("SKIPPED pyjwt_verifies_our_tokens: PORTCULLIS_TEST_PYTHON is not set");
        return;
    };
    // PyJWT checks exp/iat against the real clock.
    let clock = ManualClock::at(SystemClock.now());
    let mut cases = Vec::new();
    for alg in [Algorithm::Hs256, Algorithm::EdDsa, Algorithm::Es256] {
        let ring = ring(alg);
        let svc = service(ring.clone(), &clock);
        let token = svc
            .issue_access(&tenant(), &alice(), None, &NoExtra {})
            .unwrap()
            .token;
        let kid = verify::<NoExtra>(&svc, &token).unwrap().kid;
        let jwk = ring
            .jwks()
            .unwrap()
            .keys
            .first()
            .map(|k| serde_json::to_value(k).unwrap());
        cases.push(serde_json::json!({
            "alg": alg.as_str(), "token": token, "kid": kid.as_str(), "jwk": jwk,
            "secret": std::str::from_utf8(HS_SECRET).unwrap(), "aud": AUDIENCE, "iss": ISSUER,
        }));
    }
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        serde_json::to_string(&cases).unwrap().as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pyjwt failed");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pyjwt verified 3"
    );
}

/// PyJWT (with `cryptography`) makes an identity provider's keys and tokens: RS256, RS384,
/// RS512, PS256, PS384, PS512 over one 2048-bit RSA key and ES384 over a P-384 key,
/// published as a JWKS with the provider's own `kid`s. We import the JWKS and verify every
/// token (ES384 in its low-S form; the high-S form only with the opt-in), and refuse each
/// token under a key pinned to another algorithm and with a flipped payload.
const SIGN_SCRIPT: &str = r#"
import json, sys, time, jwt
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from jwt.algorithms import RSAAlgorithm, ECAlgorithm
now = int(time.time())
claims = {"iss": sys.argv[1], "aud": sys.argv[2], "sub": "alice", "tid": "acme",
          "iat": now, "nbf": now, "exp": now + 300, "jti": "j", "typ": "access"}
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_key = ec.generate_private_key(ec.SECP384R1())
keys, tokens = [], []
for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]:
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update(kid="idp-" + alg.lower(), alg=alg, use="sig")
    keys.append(jwk)
    tokens.append({"alg": alg, "token": jwt.encode(claims, rsa_key, algorithm=alg,
                                                   headers={"kid": jwk["kid"]})})
jwk = json.loads(ECAlgorithm.to_jwk(ec_key.public_key()))
jwk.update(kid="idp-es384", alg="ES384", use="sig")
keys.append(jwk)
tokens.append({"alg": "ES384", "token": jwt.encode(claims, ec_key, algorithm="ES384",
                                                   headers={"kid": "idp-es384"})})
print(json.dumps({"jwks": {"keys": keys}, "tokens": tokens}))
"#;

#[test]
fn pyjwt_identity_provider_tokens_verify_here() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use portcullis_tokens::{KeyState, SigningKeys, TokenError, parse_jwks};

    let Ok(python) = std::env::var("PORTCULLIS_TEST_PYTHON") else {
        eprintln!(
            "SKIPPED pyjwt_identity_provider_tokens_verify_here: PORTCULLIS_TEST_PYTHON is not set"
        );
        return;
    };
    let out = Command::new(python)
        .args(["-c", SIGN_SCRIPT, ISSUER, AUDIENCE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyjwt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let jwks = parse_jwks(doc["jwks"].to_string().as_bytes(), None).unwrap();
    assert!(jwks.skipped.is_empty(), "{:?}", jwks.skipped);
    assert_eq!(jwks.keys.len(), 7);
    let ring = SigningKeys::new();
    for key in jwks.keys {
        ring.insert(key, KeyState::VerifyOnly).unwrap();
    }
    let clock = ManualClock::at(SystemClock.now());
    let svc = service(std::sync::Arc::new(ring), &clock);
    let mut verified = 0;
    for case in doc["tokens"].as_array().unwrap() {
        let alg = case["alg"].as_str().unwrap();
        let mut token = case["token"].as_str().unwrap().to_owned();
        if alg == "ES384" {
            // `cryptography` does not normalize s: put the same signature in low-S form.
            let (input, sig) = token.rsplit_once('.').unwrap();
            let sig =
                p384::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
            let low = sig.normalize_s().unwrap_or(sig);
            token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(low.to_bytes()));
        }
        let v = verify::<NoExtra>(&svc, &token).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(v.kid.as_str(), format!("idp-{}", alg.to_lowercase()));
        // The same token under another algorithm's key (same RSA modulus): refused.
        let (h, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
        let swapped = if alg == "RS256" { "ps256" } else { "rs256" };
        let mut confused = header.clone();
        confused["kid"] = serde_json::json!(format!("idp-{swapped}"));
        let confused = format!("{}.{}", URL_SAFE_NO_PAD.encode(confused.to_string()), rest);
        if alg.starts_with("RS") || alg.starts_with("PS") {
            assert!(
                matches!(
                    verify::<NoExtra>(&svc, &confused),
                    Err(TokenError::AlgorithmMismatch { .. })
                ),
                "{alg} under the {swapped} key"
            );
        }
        let forged = format!(
            "{h}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(b"{\"sub\":\"mallory\"}")
        );
        assert!(matches!(
            verify::<NoExtra>(&svc, &forged),
            Err(TokenError::InvalidSignature)
        ));
        verified += 1;
    }
    assert_eq!(verified, 7);
}

/// PyJWT (with `cryptography`) signs DPoP proofs (RFC 9449) as a client would: ES256,
/// ES384, EdDSA, RS256 and PS256 keys, the public JWK in the header, one proof for the
/// token endpoint and one with `ath` for a bound access token; Python computes the RFC
/// 7638 thumbprint itself. We verify every proof, find the same thumbprint, and refuse
/// each proof replayed and each with a flipped payload.
const DPOP_SCRIPT: &str = r#"
import base64, hashlib, json, sys, time, uuid, jwt
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519
from jwt.algorithms import RSAAlgorithm, ECAlgorithm, OKPAlgorithm
now, token = int(time.time()), sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def thumbprint(jwk):
    members = {"EC": ["crv", "kty", "x", "y"], "RSA": ["e", "kty", "n"], "OKP": ["crv", "kty", "x"]}
    canon = json.dumps({m: jwk[m] for m in members[jwk["kty"]]}, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(canon.encode()).digest())
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
keys = [("ES256", ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        ("ES384", ec.generate_private_key(ec.SECP384R1()), ECAlgorithm),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm),
        ("RS256", rsa_key, RSAAlgorithm), ("PS256", rsa_key, RSAAlgorithm)]
out = []
for alg, key, algo in keys:
    jwk = json.loads(algo.to_jwk(key.public_key()))
    headers = {"typ": "dpop+jwt", "jwk": jwk}
    plain = {"jti": str(uuid.uuid4()), "htm": "POST", "htu": "https://auth.example.test/token", "iat": now}
    bound = {"jti": str(uuid.uuid4()), "htm": "GET", "htu": "https://api.example.test/orders", "iat": now,
             "ath": b64(hashlib.sha256(token.encode()).digest())}
    out.append({"alg": alg, "jkt": thumbprint(jwk),
                "plain": jwt.encode(plain, key, algorithm=alg, headers=headers),
                "bound": jwt.encode(bound, key, algorithm=alg, headers=headers)})
print(json.dumps(out))
"#;

#[test]
fn pyjwt_dpop_proofs_verify_here() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use portcullis_tokens::{
        DpopConfig, DpopRequest, DpopVerifier, MemoryDpopReplayStore, TokenError,
    };

    let Ok(python) = std::env::var("PORTCULLIS_TEST_PYTHON") else {
        eprintln!("SKIPPED pyjwt_dpop_proofs_verify_here: PORTCULLIS_TEST_PYTHON is not set");
        return;
    };
    let access_token = "an-access-token.bound-to.the-proof-key";
    let out = Command::new(python)
        .args(["-c", DPOP_SCRIPT, access_token])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyjwt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let clock = ManualClock::at(SystemClock.now());
    let dpop = DpopVerifier::new(
        DpopConfig::default()
            .algorithms(&[
                Algorithm::Es256,
                Algorithm::Es384,
                Algorithm::EdDsa,
                Algorithm::Rs256,
                Algorithm::Ps256,
            ])
            .unwrap(),
        std::sync::Arc::new(MemoryDpopReplayStore::new()),
        clock.provider(5),
    );
    let token_endpoint = DpopRequest::new("POST", "https://auth.example.test/token");
    let resource = DpopRequest::new("GET", "https://api.example.test/orders?page=1");
    futures::executor::block_on(async {
        for case in &cases {
            let alg = case["alg"].as_str().unwrap();
            let jkt = case["jkt"].as_str().unwrap();
            let plain = case["plain"].as_str().unwrap();
            let bound = case["bound"].as_str().unwrap();
            let p = dpop
                .verify(plain, &token_endpoint)
                .await
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(
                p.jkt.as_str(),
                jkt,
                "{alg}: the thumbprint PyJWT's side computed"
            );
            assert_eq!(p.alg.as_str(), alg);
            let p = dpop
                .verify_for_token(bound, &resource, access_token, jkt)
                .await
                .unwrap_or_else(|e| panic!("{alg} bound: {e}"));
            assert_eq!(p.jkt.as_str(), jkt);
            assert!(matches!(
                dpop.verify(plain, &token_endpoint).await,
                Err(TokenError::DpopProofReplayed)
            ));
            let (h, rest) = plain.split_once('.').unwrap();
            let (_, sig) = rest.split_once('.').unwrap();
            let forged = format!(
                "{h}.{}.{sig}",
                URL_SAFE_NO_PAD.encode(
                    br#"{"jti":"x","htm":"POST","htu":"https://auth.example.test/token","iat":1}"#
                )
            );
            assert!(matches!(
                dpop.verify(&forged, &token_endpoint).await,
                Err(TokenError::DpopProofInvalid { .. })
            ));
        }
    });
    assert_eq!(cases.len(), 5);
}
