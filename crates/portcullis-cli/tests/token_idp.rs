#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis token verify --profile idp`: an identity provider's access tokens, with
//! keys from a JWKS file, from HS256 secrets (with or without `kid`), and by OpenID
//! discovery from a real provider (`oidc-provider` on loopback HTTPS, when
//! `PORTCULLIS_TEST_OIDC_PROVIDER_DIR` is set).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{ok, p, portcullis};
use p256::ecdsa::signature::Signer as _;
use serde_json::{Value, json};

const ISS: &str = "https://tenant.auth0.example/";
const AUD: &str = "https://api.example.test";

fn now() -> u64 {
    portcullis_core::Clock::now(&portcullis_core::SystemClock).as_secs()
}

fn key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
}

/// The provider's JWKS: its key under the provider's own kid (not a thumbprint).
fn jwks_file(dir: &Path) -> std::path::PathBuf {
    let point = key().verifying_key().to_encoded_point(false);
    let doc = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "auth0-key-1",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    }, {"kty": "oct", "kid": "a-secret", "k": "c2VjcmV0"}]});
    let path = dir.join("jwks.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

fn es256(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig: p256::ecdsa::Signature = key().sign(input.as_bytes());
    let sig = sig.normalize_s().unwrap_or(sig);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn hs256(secret: &str, claims: &Value) -> String {
    use hmac::Mac as _;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": [AUD, "https://tenant.auth0.example/userinfo"],
           "sub": "auth0|abc123", "exp": now() + 300, "scope": "read:orders", "org_id": "acme"})
}

#[test]
fn an_identity_providers_token_verifies_with_its_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = jwks_file(dir.path());
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "auth0-key-1"});
    let token = es256(&header, &claims());
    let args = |extra: &[&str]| {
        let mut v = vec![
            "token",
            "verify",
            "--profile",
            "idp",
            "--jwks",
            p(&jwks),
            "--iss",
            ISS,
            "--aud",
            AUD,
        ];
        v.extend_from_slice(extra);
        v.push(&token);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let out = ok(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    let printed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(printed["sub"], "auth0|abc123");
    assert_eq!(printed["scope"], "read:orders");
    // The tenant claim, when asked for.
    let a = args(&["--tenant-claim", "org_id"]);
    ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // Our own strict profile refuses the provider's JWKS (kid is not a thumbprint): exit 2.
    portcullis()
        .args([
            "token",
            "verify",
            "--jwks",
            p(&jwks),
            "--iss",
            ISS,
            "--aud",
            AUD,
            &token,
        ])
        .assert()
        .code(2);
    // Exit 1: another audience, another issuer, an algorithm not allowed, a tenant claim
    // it lacks, expired, tampered.
    for (flag, value) in [
        ("--aud", "https://other.example"),
        ("--iss", "https://evil.example/"),
        ("--alg", "RS256"),
        ("--tenant-claim", "tid"),
    ] {
        let mut a = vec![
            "token",
            "verify",
            "--profile",
            "idp",
            "--jwks",
            p(&jwks),
            "--iss",
            ISS,
            "--aud",
            AUD,
        ];
        if flag == "--aud" || flag == "--iss" {
            let i = a.iter().position(|x| *x == flag).unwrap();
            a[i + 1] = value;
        } else {
            a.extend([flag, value]);
        }
        a.push(&token);
        portcullis().args(&a).assert().code(1);
    }
    let mut expired = claims();
    expired["exp"] = json!(now() - 3600);
    let expired = es256(&header, &expired);
    let a = args(&[]);
    let mut a: Vec<&str> = a.iter().map(String::as_str).collect();
    *a.last_mut().unwrap() = &expired;
    portcullis().args(&a).assert().code(1);
    let (h, rest) = token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let mut forged = claims();
    forged["sub"] = json!("auth0|mallory");
    let forged = format!("{h}.{}.{sig}", URL_SAFE_NO_PAD.encode(forged.to_string()));
    *a.last_mut().unwrap() = &forged;
    portcullis().args(&a).assert().code(1);
    // A typ the profile does not take.
    let odd = es256(
        &json!({"alg": "ES256", "typ": "dpop+jwt", "kid": "auth0-key-1"}),
        &claims(),
    );
    *a.last_mut().unwrap() = &odd;
    portcullis().args(&a).assert().code(1);
}

#[test]
fn kidless_hs256_tokens_verify_with_each_secret_in_turn() {
    let token = hs256("the-second-secret-of-32-bytes!!!", &claims());
    let base = [
        "token",
        "verify",
        "--profile",
        "idp",
        "--iss",
        ISS,
        "--aud",
        AUD,
    ];
    let mut a = base.to_vec();
    a.extend([
        "--secret",
        "the-first-secret-of-32-bytes!!!!",
        "--secret",
        "the-second-secret-of-32-bytes!!!",
        &token,
    ]);
    let out = ok(&a);
    assert!(out.contains("auth0|abc123"));
    let mut a = base.to_vec();
    a.extend(["--secret", "the-first-secret-of-32-bytes!!!!", &token]);
    portcullis().args(&a).assert().code(1);
    // HS256 must be allowed: `--alg ES256` alone refuses it.
    let mut a = base.to_vec();
    a.extend([
        "--alg",
        "ES256",
        "--secret",
        "the-second-secret-of-32-bytes!!!",
        &token,
    ]);
    portcullis().args(&a).assert().code(1);
}

#[test]
fn idp_options_need_the_idp_profile_and_discovery_excludes_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = jwks_file(dir.path());
    portcullis()
        .args([
            "token",
            "verify",
            "--jwks",
            p(&jwks),
            "--iss",
            ISS,
            "--aud",
            AUD,
            "--alg",
            "ES256",
            "x.y.z",
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "token",
            "verify",
            "--profile",
            "idp",
            "--discover",
            "https://idp.example",
            "--jwks",
            p(&jwks),
            "--iss",
            "https://idp.example",
            "--aud",
            AUD,
            "x.y.z",
        ])
        .assert()
        .code(2);
    // Plain HTTP to a remote host is refused before any request.
    portcullis()
        .args([
            "token",
            "verify",
            "--profile",
            "idp",
            "--discover",
            "http://idp.example",
            "--iss",
            "http://idp.example",
            "--aud",
            AUD,
            "--danger-allow-http-loopback",
            "x.y.z",
        ])
        .assert()
        .code(2);
    portcullis()
        .args([
            "token",
            "verify",
            "--profile",
            "idp",
            "--iss",
            ISS,
            "--aud",
            AUD,
            "--alg",
            "XX1",
            "x.y.z",
        ])
        .assert()
        .code(2);
}

/// The provider of `interop/oidc` on loopback HTTPS (certificates by openssl), stopped by
/// its pid when dropped.
struct Provider {
    child: std::process::Child,
    issuer: String,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Provider {
    fn start(dir: &Path) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(tmp.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "openssl {args:?}");
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=CLI Test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(tmp.path().join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ]);
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .args(["--port", "0", "--exit-on-stdin-eof", "--cert"])
            .arg(tmp.path().join("server.crt"))
            .arg("--key")
            .arg(tmp.path().join("server.key"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("LISTENING ").unwrap().to_owned();
        Self {
            child,
            issuer: format!("https://127.0.0.1:{port}"),
            ca: tmp.path().join("ca.crt"),
            _dir: tmp,
        }
    }

    /// A client-credentials access token for `resource`, fetched by Node.
    fn token(&self, resource: &str) -> String {
        let script = format!(
            "fetch('{}/token',{{method:'POST',headers:{{'content-type':'application/x-www-form-urlencoded'}},body:'grant_type=client_credentials&client_id=portcullis-test&client_secret=portcullis-test-secret&scope=read&resource='+encodeURIComponent('{resource}')}}).then(r=>r.json()).then(j=>process.stdout.write(j.access_token))",
            self.issuer
        );
        let out = Command::new("node")
            .args(["-e", &script])
            .env("NODE_EXTRA_CA_CERTS", &self.ca)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn discovery_verifies_a_real_providers_rs256_and_ps256_tokens() {
    let Ok(dir) = std::env::var("PORTCULLIS_TEST_OIDC_PROVIDER_DIR") else {
        eprintln!(
            "SKIPPED discovery_verifies_a_real_providers_rs256_and_ps256_tokens: PORTCULLIS_TEST_OIDC_PROVIDER_DIR is not set"
        );
        return;
    };
    let idp = Provider::start(Path::new(&dir));
    for (alg, resource) in [
        ("RS256", "urn:portcullis:rs256"),
        ("PS256", "urn:portcullis:ps256"),
    ] {
        let token = idp.token(resource);
        let out = ok(&[
            "token",
            "verify",
            "--profile",
            "idp",
            "--discover",
            &idp.issuer,
            "--ca-file",
            p(&idp.ca),
            "--iss",
            &idp.issuer,
            "--aud",
            resource,
            &token,
        ]);
        let claims: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(claims["sub"], "portcullis-test", "{alg}");
        assert_eq!(claims["aud"], resource);
        // Without the CA the provider's certificate is not trusted: nothing verifies (exit
        // 1, or 2 on a machine without platform roots at all).
        portcullis()
            .args([
                "token",
                "verify",
                "--profile",
                "idp",
                "--discover",
                &idp.issuer,
                "--iss",
                &idp.issuer,
                "--aud",
                resource,
                &token,
            ])
            .assert()
            .failure()
            .stdout("");
        // Only ES256 allowed: refused.
        portcullis()
            .args([
                "token",
                "verify",
                "--profile",
                "idp",
                "--discover",
                &idp.issuer,
                "--ca-file",
                p(&idp.ca),
                "--iss",
                &idp.issuer,
                "--aud",
                resource,
                "--alg",
                "ES256",
                &token,
            ])
            .assert()
            .code(1);
    }
}
