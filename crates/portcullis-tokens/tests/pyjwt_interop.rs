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
