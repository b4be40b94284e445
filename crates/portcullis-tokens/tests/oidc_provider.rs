#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A real identity provider: `oidc-provider` (npm) on loopback, over HTTPS with a CA made by
//! openssl at run time (`interop/oidc/`). Client-credentials access tokens signed RS256,
//! PS256 and ES256 verify through discovery and the remote JWKS; a key rotation is followed
//! with one fetch; a flood of unknown kids stays within the cooldown's fetch budget, counted
//! by the provider itself.
//!
//! Needs `PORTCULLIS_TEST_OIDC_PROVIDER_DIR` (the `interop/oidc` directory after `npm ci`)
//! and `openssl`; `.ci/run` sets it up. Without the variable every test here says SKIPPED.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::{Clock, Provider, SystemClock};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, IdpVerifier, IssuerProfile, RemoteJwks, RemoteJwksConfig, ReqwestHttpClient,
    TokenError, TypHeader,
};
use serde_json::Value;

const AUDIENCES: [&str; 3] = [
    "urn:portcullis:rs256",
    "urn:portcullis:ps256",
    "urn:portcullis:es256",
];

fn provider_dir(test: &str) -> Option<PathBuf> {
    match std::env::var("PORTCULLIS_TEST_OIDC_PROVIDER_DIR") {
        Ok(d) => Some(PathBuf::from(d)),
        Err(_) => {
            eprintln!("SKIPPED {test}: PORTCULLIS_TEST_OIDC_PROVIDER_DIR is not set");
            None
        }
    }
}

/// A CA and a server certificate for IP 127.0.0.1, made by openssl.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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
        "/CN=Portcullis OIDC Test CA",
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
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
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
}

/// One provider process, stopped (by its pid) when dropped.
struct OidcProvider {
    child: Child,
    issuer: String,
    ca_pem: Vec<u8>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl OidcProvider {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        make_certs(tmp.path());
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .args(["--port", "0", "--exit-on-stdin-eof", "--cert"])
            .arg(tmp.path().join("server.crt"))
            .arg("--key")
            .arg(tmp.path().join("server.key"))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"));
        let ca_pem = std::fs::read(tmp.path().join("ca.crt")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject as _;
            for c in CertificateDer::pem_slice_iter(&ca_pem) {
                roots.add(c.unwrap()).unwrap();
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .unwrap();
        Self {
            child,
            issuer: format!("https://127.0.0.1:{port}"),
            ca_pem,
            http,
            _dir: tmp,
        }
    }

    async fn token(&self, alg: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&client_id=portcullis-test&client_secret=portcullis-test-secret&resource=urn%3Aportcullis%3A{alg}&scope=read%20write"
        );
        let response: Value = self
            .http
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {response}"))
            .to_owned()
    }

    async fn admin(&self, method: reqwest::Method, path: &str) -> Value {
        self.http
            .request(method, format!("{}{path}", self.issuer))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap()
    }

    async fn jwks_fetches(&self) -> u64 {
        self.admin(reqwest::Method::GET, "/__stats").await["jwks_fetches"]
            .as_u64()
            .unwrap()
    }

    fn client(&self) -> Arc<ReqwestHttpClient> {
        Arc::new(ReqwestHttpClient::with_root_pem(&self.ca_pem).unwrap())
    }

    fn verifier(&self, jwks: &RemoteJwks) -> IdpVerifier {
        let profile = IssuerProfile::remote(
            &self.issuer,
            &AUDIENCES,
            &[Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256],
            jwks.clone(),
        )
        .unwrap()
        .typ(TypHeader::AtJwt)
        .require(true, false, true);
        IdpVerifier::new(vec![profile], Provider::system()).unwrap()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header(token: &str) -> Value {
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

/// Whether an ES256 token's S is above n/2.
fn is_high_s(token: &str) -> bool {
    use p256::elliptic_curve::scalar::IsHigh as _;
    let sig = URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().unwrap())
        .unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    bool::from(sig.s().is_high())
}

/// A token for `iss` with a random kid: its signature is never checked, the kid is unknown.
fn forged_with_kid(issuer: &str, n: u64) -> String {
    let h = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"RS256","typ":"at+jwt","kid":"unknown-{n}-{}"}}"#,
        SystemClock.now().as_millis()
    ));
    let p = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"{issuer}","sub":"x","aud":"urn:portcullis:rs256","exp":4000000000}}"#
    ));
    format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode([0u8; 256]))
}

#[tokio::test]
async fn rs256_ps256_and_es256_access_tokens_verify_through_discovery() {
    let Some(dir) = provider_dir("rs256_ps256_and_es256_access_tokens_verify_through_discovery")
    else {
        return;
    };
    let idp = OidcProvider::start(&dir, &[]);
    let jwks = RemoteJwks::discover(
        &idp.issuer,
        idp.client(),
        Provider::system(),
        RemoteJwksConfig::default(),
    )
    .unwrap();
    let verifier = idp.verifier(&jwks);
    for alg in ["rs256", "ps256"] {
        let token = idp.token(alg).await;
        let v = verifier.verify_async(&token).await.unwrap();
        assert_eq!(v.alg.as_str(), alg.to_uppercase());
        assert_eq!(v.subject, "portcullis-test");
        assert_eq!(v.issuer, idp.issuer);
        assert_eq!(v.scopes(), ["read", "write"]);
        assert_eq!(v.kid.as_str(), header(&token)["kid"].as_str().unwrap());
        assert!(v.jti.is_some() && v.issued_at.is_some());
    }
    // ES256: oidc-provider (Node, OpenSSL) does not normalise S, so about half its
    // signatures are high-S. The strict default verifies the low-S ones and refuses the
    // others; an issuer configured to accept high S verifies both.
    let lenient = RemoteJwks::discover(
        &idp.issuer,
        idp.client(),
        Provider::system(),
        RemoteJwksConfig::default().danger_accept_high_s(),
    )
    .unwrap();
    let lenient = idp.verifier(&lenient);
    let (mut low, mut high) = (0, 0);
    for _ in 0..64 {
        let token = idp.token("es256").await;
        assert_eq!(
            lenient.verify_async(&token).await.unwrap().alg,
            Algorithm::Es256
        );
        if is_high_s(&token) {
            high += 1;
            assert!(matches!(
                verifier.verify_async(&token).await,
                Err(TokenError::InvalidSignature)
            ));
        } else {
            low += 1;
            let v = verifier.verify_async(&token).await.unwrap();
            assert_eq!(v.alg, Algorithm::Es256);
        }
        if low >= 2 && high >= 2 {
            break;
        }
    }
    assert!(low >= 2 && high >= 2, "low-S {low}, high-S {high}");
    // One discovery and one JWKS fetch per cache, counted by the provider and by us.
    assert_eq!(idp.jwks_fetches().await, 2);
    let stats = jwks.stats();
    assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 1));
    // A token for an audience the profile does not list, and one from another issuer.
    let other = OidcProvider::start(&dir, &[]);
    let foreign = other.token("rs256").await;
    assert!(matches!(
        verifier.verify_async(&foreign).await,
        Err(TokenError::WrongIssuer)
    ));
}

#[tokio::test]
async fn a_key_rotation_is_followed_with_one_fetch_and_removed_keys_stop_verifying() {
    let Some(dir) = provider_dir("a_key_rotation_is_followed_with_one_fetch") else {
        return;
    };
    let idp = OidcProvider::start(&dir, &[]);
    let clock = ManualClock::at(SystemClock.now());
    let jwks = RemoteJwks::discover(
        &idp.issuer,
        idp.client(),
        Provider::with_clock(Arc::new(clock.clone())),
        RemoteJwksConfig::default(),
    )
    .unwrap();
    let verifier = idp.verifier(&jwks);
    let old = idp.token("rs256").await;
    verifier.verify_async(&old).await.unwrap();
    assert_eq!(idp.jwks_fetches().await, 1);

    let rotated = idp.admin(reqwest::Method::POST, "/__rotate").await;
    let new = idp.token("rs256").await;
    let new_kid = header(&new)["kid"].as_str().unwrap().to_owned();
    assert!(
        rotated["kids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == &new_kid)
    );
    // Within the cooldown of the first fetch the new kid is not fetched for.
    assert!(matches!(
        verifier.verify_async(&new).await,
        Err(TokenError::UnknownKey { .. })
    ));
    assert_eq!(idp.jwks_fetches().await, 1);
    clock.advance(Duration::from_secs(31));
    let v = verifier.verify_async(&new).await.unwrap();
    assert_eq!(v.kid.as_str(), new_kid);
    assert_eq!(
        idp.jwks_fetches().await,
        2,
        "one fetch follows the rotation"
    );
    for alg in ["ps256", "es256"] {
        // The other new keys came with that same fetch.
        let t = idp.token(alg).await;
        if alg == "es256" && is_high_s(&t) {
            continue;
        }
        verifier.verify_async(&t).await.unwrap();
    }
    assert_eq!(idp.jwks_fetches().await, 2);
    // The old key left the JWKS: its token no longer verifies, and asks no new fetch.
    assert!(matches!(
        verifier.verify_async(&old).await,
        Err(TokenError::UnknownKey { .. })
    ));
    assert_eq!(idp.jwks_fetches().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_flood_fetches_at_most_once_per_cooldown() {
    let Some(dir) = provider_dir("an_unknown_kid_flood_fetches_at_most_once_per_cooldown") else {
        return;
    };
    let idp = OidcProvider::start(&dir, &[]);
    let cooldown = Duration::from_secs(1);
    let jwks = RemoteJwks::discover(
        &idp.issuer,
        idp.client(),
        Provider::system(),
        RemoteJwksConfig::default().cooldown(cooldown).unwrap(),
    )
    .unwrap();
    let verifier = Arc::new(idp.verifier(&jwks));
    verifier
        .verify_async(&idp.token("rs256").await)
        .await
        .unwrap();
    idp.admin(reqwest::Method::POST, "/__reset_stats").await;
    let t = Duration::from_secs(3);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let verifier = Arc::clone(&verifier);
        let issuer = idp.issuer.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < t {
                let forged = forged_with_kid(&issuer, worker * 1_000_000 + n);
                assert!(matches!(
                    verifier.verify_async(&forged).await,
                    Err(TokenError::UnknownKey { .. })
                ));
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        }));
    }
    let mut sent = 0;
    for task in tasks {
        sent += task.await.unwrap();
    }
    let elapsed = start.elapsed();
    let fetches = idp.jwks_fetches().await;
    let budget = elapsed.as_secs_f64() / cooldown.as_secs_f64();
    let budget = budget.ceil() as u64 + 1;
    eprintln!("{sent} unknown-kid tokens in {elapsed:?}: {fetches} JWKS fetches (budget {budget})");
    assert!(sent > 1000, "the flood is a flood: {sent}");
    assert!(fetches <= budget, "{fetches} fetches > {budget}");
    // The cooldown does let refetches through: more than one happened.
    assert!(fetches >= 2, "{fetches} fetches");
}

#[tokio::test]
async fn an_outage_serves_the_last_keys_up_to_the_staleness_bound_then_fails_closed() {
    let Some(dir) = provider_dir("an_outage_serves_the_last_keys") else {
        return;
    };
    let mut idp = OidcProvider::start(&dir, &["--jwks-max-age", "120", "--jwks-etag"]);
    let clock = ManualClock::at(SystemClock.now());
    let jwks = RemoteJwks::discover(
        &idp.issuer,
        idp.client(),
        Provider::with_clock(Arc::new(clock.clone())),
        RemoteJwksConfig::default()
            .max_staleness(Duration::from_secs(600))
            .unwrap(),
    )
    .unwrap();
    let verifier = idp.verifier(&jwks);
    let token = idp.token("rs256").await;
    verifier.verify_async(&token).await.unwrap();
    // Fresh for the provider's max-age (120 s): no fetch at 119 s.
    clock.advance(Duration::from_secs(119));
    verifier.verify_async(&token).await.unwrap();
    assert_eq!(jwks.stats().jwks_fetches, 1);
    // Past it, a conditional refresh: 304 Not Modified, the same keys, fresh again.
    clock.advance(Duration::from_secs(2));
    verifier.verify_async(&token).await.unwrap();
    let s = jwks.stats();
    assert_eq!((s.jwks_fetches, s.not_modified), (2, 1));
    assert_eq!(idp.jwks_fetches().await, 2);
    // The provider goes away.
    idp.child.kill().unwrap();
    idp.child.wait().unwrap();
    clock.advance(Duration::from_secs(121));
    verifier.verify_async(&token).await.unwrap();
    assert_eq!(
        jwks.stats().failures,
        1,
        "the refresh failed; the stale set served"
    );
    clock.advance(Duration::from_secs(400));
    verifier.verify_async(&token).await.unwrap();
    // 120 s fresh + 600 s stale since the last good fetch: then verification fails closed.
    clock.advance(Duration::from_secs(200));
    let err = verifier.verify_async(&token).await.unwrap_err();
    assert!(matches!(err, TokenError::JwksUnavailable { .. }), "{err:?}");
    assert!(jwks.cached().is_none());
    // The sync path, which never fetches, agrees.
    assert!(matches!(
        verifier.verify(&token),
        Err(TokenError::JwksUnavailable { .. })
    ));
}

#[tokio::test]
async fn plain_http_is_refused_unless_loopback_is_allowed() {
    let Some(dir) = provider_dir("plain_http_is_refused_unless_loopback_is_allowed") else {
        return;
    };
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .args(["--port", "0", "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let issuer = format!(
        "http://127.0.0.1:{}",
        line.trim().strip_prefix("LISTENING ").unwrap()
    );
    let client = Arc::new(
        ReqwestHttpClient::with_roots(rustls::RootCertStore::empty(), Duration::from_secs(5))
            .unwrap(),
    );
    assert!(matches!(
        RemoteJwks::discover(
            &issuer,
            client.clone(),
            Provider::system(),
            RemoteJwksConfig::default()
        ),
        Err(TokenError::InvalidConfig { .. })
    ));
    let jwks = RemoteJwks::discover(
        &issuer,
        client,
        Provider::system(),
        RemoteJwksConfig::default().danger_allow_http_loopback(),
    )
    .unwrap();
    jwks.refresh().await.unwrap();
    assert_eq!(jwks.cached().unwrap().states().unwrap().len(), 3);
    let _ = child.kill();
    let _ = child.wait();
}
