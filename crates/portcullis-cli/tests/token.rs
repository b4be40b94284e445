#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis token`: keygen → issue → verify per algorithm, JWKS, failures exit 1.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{ok, p, portcullis};
use predicates::prelude::*;

fn keygen(dir: &Path, alg: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{alg}.key"));
    let kid = ok(&["token", "keygen", "--alg", alg, "--out", p(&path)]);
    (path, kid.trim().to_owned())
}

fn issue(alg: &str, key: &Path) -> String {
    ok(&[
        "token",
        "issue",
        "--alg",
        alg,
        "--key-file",
        p(key),
        "--sub",
        "alice",
        "--tenant",
        "acme",
        "--aud",
        "api",
        "--iss",
        "https://auth.example.com",
        "--ttl",
        "600",
    ])
    .trim()
    .to_owned()
}

#[test]
fn keygen_issue_verify_for_every_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["HS256", "EdDSA", "ES256"] {
        let (key, kid) = keygen(dir.path(), alg);
        let text = std::fs::read_to_string(&key).unwrap();
        if alg == "HS256" {
            let jwk: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(jwk["kty"], "oct");
            assert_eq!(
                URL_SAFE_NO_PAD
                    .decode(jwk["k"].as_str().unwrap())
                    .unwrap()
                    .len(),
                32
            );
        } else {
            assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
            if alg == "EdDSA" {
                // PKCS#8 v1 (RFC 8410 section 7, as `openssl genpkey` writes): 48 bytes.
                let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                assert_eq!(der.len(), 48);
                assert_eq!(&der[..7], &[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05]);
            }
        }
        let token = issue(alg, &key);
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        assert_eq!(header["kid"], kid.as_str());
        let claims = ok(&[
            "token",
            "verify",
            "--key-file",
            p(&key),
            "--aud",
            "api",
            "--iss",
            "https://auth.example.com",
            &token,
        ]);
        let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["tid"], "acme");
        assert_eq!(claims["typ"], "access");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            600
        );
    }
}

#[test]
fn jwks_verifies_asymmetric_tokens_and_excludes_hs256() {
    let dir = tempfile::tempdir().unwrap();
    let (ed, ed_kid) = keygen(dir.path(), "EdDSA");
    let (es, es_kid) = keygen(dir.path(), "ES256");
    let (hs, _) = keygen(dir.path(), "HS256");
    let jwks = ok(&["token", "jwks", "--key-file", p(&ed), "--key-file", p(&es)]);
    let doc: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let kids: Vec<&str> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [ed_kid.as_str(), es_kid.as_str()]);
    assert!(!jwks.contains("\"d\""), "no private member in the JWKS");
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, &jwks).unwrap();
    for (alg, key) in [("EdDSA", &ed), ("ES256", &es)] {
        let token = issue(alg, key);
        // From standard input as well as an argument.
        portcullis()
            .args([
                "token",
                "verify",
                "--jwks",
                p(&jwks_file),
                "--aud",
                "api",
                "--iss",
                "https://auth.example.com",
            ])
            .write_stdin(format!("{token}\n"))
            .assert()
            .success()
            .stdout(predicate::str::contains("\"sub\":\"alice\""));
    }
    portcullis()
        .args(["token", "jwks", "--key-file", p(&hs)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("never published"));
}

#[test]
fn hs256_secret_from_flag_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "HS256");
    let token = issue("HS256", &key);
    // The JWK's `k` decoded is the raw secret; as UTF-8 text it is the `--secret` form only
    // when it is text, so build a key file whose secret is text.
    let text_key = dir.path().join("text.key");
    let secret = "a-shared-secret-of-at-least-32-bytes!!";
    std::fs::write(
        &text_key,
        format!(
            r#"{{"kty":"oct","alg":"HS256","kid":"shared-1","k":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(secret)
        ),
    )
    .unwrap();
    let token2 = issue("HS256", &text_key);
    let args = [
        "token",
        "verify",
        "--aud",
        "api",
        "--iss",
        "https://auth.example.com",
    ];
    portcullis()
        .args(args)
        .args(["--secret", secret, &token2])
        .assert()
        .success();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    portcullis()
        .args(args)
        .args(["--secret-file", p(&secret_file), &token2])
        .assert()
        .success();
    portcullis()
        .env("PORTCULLIS_TOKEN_SECRET", secret)
        .args(args)
        .arg(&token2)
        .assert()
        .success();
    // Wrong secret: exit 1, and the secret is never echoed.
    let out = portcullis()
        .args(args)
        .args([
            "--secret",
            "another-secret-of-at-least-32-bytes!!!",
            &token2,
        ])
        .assert()
        .code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(err, "error: invalid signature\n");
    // The random key's token does not verify with the text secret.
    portcullis()
        .args(args)
        .args(["--secret", secret, &token])
        .assert()
        .code(1);
    // No key at all is a usage error naming the variable.
    portcullis()
        .args(args)
        .arg(&token)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PORTCULLIS_TOKEN_SECRET"));
}

#[test]
fn wrong_claims_tampering_and_expiry_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "EdDSA");
    let (other, _) = keygen(dir.path(), "ES256");
    let token = issue("EdDSA", &key);
    let base = |aud: &str, iss: &str| -> Vec<String> {
        [
            "token",
            "verify",
            "--key-file",
            p(&key),
            "--aud",
            aud,
            "--iss",
            iss,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    portcullis()
        .args(base("other", "https://auth.example.com"))
        .arg(&token)
        .assert()
        .code(1)
        .stderr("error: wrong audience\n");
    portcullis()
        .args(base("api", "https://evil.example.com"))
        .arg(&token)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("issuer"));
    let claims: serde_json::Value = serde_json::from_str(&ok(&[
        "token",
        "verify",
        "--key-file",
        p(&key),
        "--aud",
        "api",
        "--iss",
        "https://auth.example.com",
        &token,
    ]))
    .unwrap();
    let exp = claims["exp"].as_u64().unwrap();
    portcullis()
        .args(base("api", "https://auth.example.com"))
        .args(["--now", &(exp + 60).to_string(), &token])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("expired"));
    portcullis()
        .args(base("api", "https://auth.example.com"))
        .args(["--type", "ticket", &token])
        .assert()
        .code(1);
    // A changed payload byte breaks the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = "mallory".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    portcullis()
        .args(base("api", "https://auth.example.com"))
        .arg(&forged)
        .assert()
        .code(1)
        .stderr("error: invalid signature\n");
    // alg=none is refused.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    portcullis()
        .args(base("api", "https://auth.example.com"))
        .arg(&none)
        .assert()
        .code(1);
    // A key that did not sign it: unknown kid.
    portcullis()
        .args([
            "token",
            "verify",
            "--key-file",
            p(&other),
            "--aud",
            "api",
            "--iss",
            "https://auth.example.com",
            &token,
        ])
        .assert()
        .code(1);
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (ed, _) = keygen(dir.path(), "EdDSA");
    portcullis()
        .args([
            "token",
            "issue",
            "--alg",
            "ES256",
            "--key-file",
            p(&ed),
            "--sub",
            "a",
            "--tenant",
            "t",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not match"));
    portcullis()
        .args(["token", "keygen", "--alg", "EdDSA", "--out", p(&ed)])
        .assert()
        .code(2);
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "not a key").unwrap();
    portcullis()
        .args([
            "token",
            "issue",
            "--alg",
            "EdDSA",
            "--key-file",
            p(&junk),
            "--sub",
            "a",
            "--tenant",
            "t",
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "token",
            "issue",
            "--alg",
            "EdDSA",
            "--key-file",
            p(&ed),
            "--sub",
            "a",
            "--tenant",
            "t",
            "--ttl",
            "0",
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "token",
            "issue",
            "--alg",
            "EdDSA",
            "--key-file",
            p(&ed),
            "--sub",
            "a",
            "--tenant",
            "t",
            "--claims",
            r#"{"sub":"x"}"#,
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "token",
            "verify",
            "--jwks",
            p(&junk),
            "--aud",
            "a",
            "--iss",
            "i",
            "x.y.z",
        ])
        .assert()
        .code(2);
    // A JWKS whose kid is not the thumbprint is refused.
    let jwks = ok(&["token", "jwks", "--key-file", p(&ed)]);
    let mut doc: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    doc["keys"][0]["kid"] = "custom".into();
    let f = dir.path().join("jwks.json");
    std::fs::write(&f, doc.to_string()).unwrap();
    portcullis()
        .args([
            "token",
            "verify",
            "--jwks",
            p(&f),
            "--aud",
            "a",
            "--iss",
            "i",
            "x.y.z",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("thumbprint"));
}

#[test]
fn extra_claims_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "ES256");
    let token = ok(&[
        "token",
        "issue",
        "--alg",
        "ES256",
        "--key-file",
        p(&key),
        "--sub",
        "alice",
        "--tenant",
        "acme",
        "--claims",
        r#"{"plan":"pro"}"#,
    ]);
    let claims: serde_json::Value = serde_json::from_str(&ok(&[
        "token",
        "verify",
        "--key-file",
        p(&key),
        "--aud",
        "portcullis",
        "--iss",
        "portcullis",
        token.trim(),
    ]))
    .unwrap();
    assert_eq!(claims["plan"], "pro");
}
