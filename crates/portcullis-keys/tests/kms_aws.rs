//! AwsKms on the official aws-sdk-kms against moto in server mode (PyPI `moto[server]`):
//! the KMS conformance suite, on-demand rotation at KMS, an outage (a private moto killed
//! mid-load, then restarted) with typed errors and no plaintext, and the SDK's parsing of
//! throttling and server errors from a loopback endpoint that answers only those.
//!
//! Needs `PORTCULLIS_TEST_AWS_KMS_ENDPOINT` (a running moto) and, for the outage test,
//! `PORTCULLIS_TEST_MOTO_BIN`; `scripts/test-servers.sh start` provides both. Without them
//! the tests say loudly that they are skipped.
#![cfg(feature = "aws-kms")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use portcullis_core::{BackendErrorKind, KeyId, Provider, TenantId};
use portcullis_keys::{AwsKms, Envelope, EnvelopeConfig, KeysError, Kms, KmsContext};
use portcullis_testkit::conformance::kms::{
    KmsFixture, outage_is_typed, rotation_keeps_old_wrapped_keys_opening, run_all,
    throttling_is_typed,
};
use portcullis_testkit::process::{LoopbackServer, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env(name: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        eprintln!("SKIPPED: {name} is not set; the AWS KMS tests did not run");
    }
    v
}

fn client(endpoint: &str, retries: u32) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(AwsKms::https_client())
        .retry_config(RetryConfig::standard().with_max_attempts(retries))
        .timeout_config(
            aws_sdk_kms::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

async fn create_key(c: &aws_sdk_kms::Client) -> KeyId {
    let out = c.create_key().send().await.unwrap();
    KeyId::new(out.key_metadata().unwrap().key_id()).unwrap()
}

#[tokio::test]
async fn aws_kms_on_moto_passes_the_kms_conformance_suite_and_rotates() {
    let Some(endpoint) = env("PORTCULLIS_TEST_AWS_KMS_ENDPOINT") else {
        return;
    };
    let c = client(&endpoint, 1);
    let (a, b) = (create_key(&c).await, create_key(&c).await);
    let kms = AwsKms::new(c.clone());
    let f = KmsFixture {
        kms: &kms,
        kek: a.clone(),
        other_kek: b,
        unknown_kek: KeyId::new("00000000-1111-2222-3333-444444444444").unwrap(),
    };
    run_all(&f).await;
    rotation_keeps_old_wrapped_keys_opening(&f, async {
        c.rotate_key_on_demand()
            .key_id(a.as_str())
            .send()
            .await
            .unwrap();
    })
    .await;
}

/// A loopback endpoint answering every request with one AWS JSON error.
async fn erroring_endpoint(status: u16, code: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = sock.read(&mut buf).await;
                let body = format!("{{\"__type\":\"{code}\",\"message\":\"test\"}}");
                let reply = format!(
                    "HTTP/1.1 {status} Error\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn throttling_and_server_errors_from_kms_are_typed() {
    let endpoint = erroring_endpoint(400, "ThrottlingException").await;
    let kms = AwsKms::new(client(&endpoint, 2));
    let f = KmsFixture {
        kms: &kms,
        kek: KeyId::new("k").unwrap(),
        other_kek: KeyId::new("k").unwrap(),
        unknown_kek: KeyId::new("u").unwrap(),
    };
    let wrapped = portcullis_keys::WrappedKey::new(vec![1; 100]);
    throttling_is_typed(&f, &wrapped).await;
    let endpoint = erroring_endpoint(500, "KMSInternalException").await;
    let kms = AwsKms::new(client(&endpoint, 1));
    let f = KmsFixture { kms: &kms, ..f };
    outage_is_typed(&f, &wrapped).await;
    // Nothing listening at all: a dispatch failure.
    let port = free_port();
    let kms = AwsKms::new(client(&format!("http://127.0.0.1:{port}"), 1));
    let f = KmsFixture { kms: &kms, ..f };
    outage_is_typed(&f, &wrapped).await;
}

fn moto(bin: &str, port: u16) -> LoopbackServer {
    let args = [
        "-H".to_owned(),
        "127.0.0.1".to_owned(),
        "-p".to_owned(),
        port.to_string(),
    ];
    LoopbackServer::start(bin, &args, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_moto_mid_load_gives_typed_errors_and_no_plaintext_then_work_resumes() {
    let Some(bin) = env("PORTCULLIS_TEST_MOTO_BIN") else {
        return;
    };
    let mut moto = moto(&bin, free_port());
    let c = client(&moto.http_url(), 1);
    let kek = create_key(&c).await;
    let kms: Arc<dyn Kms> = Arc::new(AwsKms::new(c.clone()));
    let envelope = Arc::new(Envelope::new(
        Arc::clone(&kms),
        kek.clone(),
        Provider::system(),
        EnvelopeConfig::default(),
    ));
    let tenant: TenantId = "acme".parse().unwrap();
    let survivor = envelope
        .seal(&tenant, b"c", b"sealed before the outage")
        .await
        .unwrap();
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (envelope, ok, failed) = (Arc::clone(&envelope), Arc::clone(&ok), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                let t: TenantId = format!("t-{worker}-{i}").parse().unwrap();
                match envelope.seal(&t, b"c", b"payload").await {
                    Ok(_) => {
                        ok.fetch_add(1, Ordering::Relaxed);
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    moto.kill();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(ok.load(Ordering::Relaxed) > 0, "no seal before the kill");
    assert!(
        failed.load(Ordering::Relaxed) > 0,
        "no seal failed after the kill"
    );
    let (_, wrapped) = portcullis_keys::inspect_envelope(&survivor).unwrap();
    let f = KmsFixture {
        kms: kms.as_ref(),
        kek: kek.clone(),
        other_kek: kek.clone(),
        unknown_kek: kek.clone(),
    };
    outage_is_typed(&f, &wrapped).await;
    let cold = Envelope::new(
        Arc::clone(&kms),
        kek.clone(),
        Provider::system(),
        EnvelopeConfig::default(),
    );
    assert!(matches!(
        cold.open(&tenant, b"c", &survivor).await,
        Err(KeysError::Backend(_))
    ));
    assert_eq!(
        envelope
            .open(&tenant, b"c", &survivor)
            .await
            .unwrap()
            .expose_secret(),
        b"sealed before the outage"
    );
    // Restart on the same port; moto starts empty, so a new key; work resumes.
    moto.restart();
    let kek2 = create_key(&c).await;
    let after = Envelope::new(
        Arc::clone(&kms),
        kek2.clone(),
        Provider::system(),
        EnvelopeConfig::default(),
    );
    let fresh: TenantId = "after-restart".parse().unwrap();
    let blob = after.seal(&fresh, b"c", b"resumed").await.unwrap();
    let reader = Envelope::new(
        Arc::clone(&kms),
        kek2,
        Provider::system(),
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
    let g = kms.generate_data_key(&kek, &KmsContext::new()).await;
    assert!(matches!(g, Err(KeysError::UnknownKek(_))), "{g:?}");
}
