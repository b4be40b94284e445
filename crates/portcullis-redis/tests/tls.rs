#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! TLS against real servers with the run-time PKI of `scripts/test-servers.sh`: the
//! shared TLS server is reached with our CA and refused with an unrelated one; a private
//! server that requires client certificates refuses a client without one and accepts
//! ours (mutual TLS); the TLS cluster is reached as a cluster with our CA (every master,
//! including those learnt from `CLUSTER SLOTS`, over TLS) and refused with another.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Target, tls_file};
use portcullis_core::SecretBytes;
use portcullis_redis::{RedisBackend, RedisConfig, RedisError, TlsOptions};
use portcullis_testkit::ManualClock;
use tokio::process::Command;

fn tls_config(tls: TlsOptions) -> RedisConfig {
    RedisConfig::new()
        .prefix(common::unique_prefix("tls"))
        .command_timeout(Duration::from_secs(2))
        .tls(tls)
}

#[tokio::test]
async fn tls_cluster_verifies_every_master() {
    let Some(urls) = Target::ClusterTls.url("tls_cluster_verifies_every_master") else {
        return;
    };
    let ok = RedisBackend::connect(
        &urls,
        tls_config(TlsOptions::new().root_ca_pem(tls_file("ca.crt"))).cluster(),
        ManualClock::new().provider(0),
    )
    .await
    .unwrap();
    assert!(ok.is_cluster());
    ok.ping().await.unwrap();
    // One seed only: the other masters come from the cluster's own map, still over TLS.
    let first = urls.split(',').next().unwrap();
    let one_seed = RedisBackend::connect(
        first,
        tls_config(TlsOptions::new().root_ca_pem(tls_file("ca.crt"))).cluster(),
        ManualClock::new().provider(0),
    )
    .await
    .unwrap();
    one_seed.ping().await.unwrap();
    let refused = RedisBackend::connect(
        &urls,
        tls_config(TlsOptions::new().root_ca_pem(tls_file("other-ca.crt"))).cluster(),
        ManualClock::new().provider(0),
    )
    .await;
    match refused {
        Err(RedisError::Backend(_)) => {}
        // A lazily connecting client fails on its first command instead.
        Ok(b) => assert!(b.ping().await.is_err(), "another CA must be refused"),
        Err(e) => panic!("unexpected error: {e:?}"),
    }
}

#[tokio::test]
async fn server_signed_by_another_ca_is_refused() {
    let Some(url) = Target::Tls.url("server_signed_by_another_ca_is_refused") else {
        return;
    };
    let ok = RedisBackend::connect(
        &url,
        tls_config(TlsOptions::new().root_ca_pem(tls_file("ca.crt"))),
        ManualClock::new().provider(0),
    )
    .await
    .unwrap();
    ok.ping().await.unwrap();
    let refused = RedisBackend::connect(
        &url,
        tls_config(TlsOptions::new().root_ca_pem(tls_file("other-ca.crt"))),
        ManualClock::new().provider(0),
    )
    .await;
    assert!(
        matches!(refused, Err(RedisError::Backend(_))),
        "{refused:?}"
    );
    // Plain TCP to the TLS port gets no Redis reply.
    let plain = url.replace("rediss://", "redis://");
    let plain = RedisBackend::connect(
        &plain,
        RedisConfig::new()
            .prefix(common::unique_prefix("tls"))
            .connect_timeout(Duration::from_millis(500)),
        ManualClock::new().provider(0),
    )
    .await;
    assert!(plain.is_err(), "plain TCP to a TLS-only port must fail");
}

#[tokio::test]
async fn client_certificate_is_presented_when_required() {
    let Some(_) = Target::Tls.url("client_certificate_is_presented_when_required") else {
        return;
    };
    let dir = std::env::var("PORTCULLIS_TEST_TLS_DIR").unwrap();
    let port = common::free_port();
    let file = |n: &str| format!("{dir}/{n}");
    let _server = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            &file("server.crt"),
            "--tls-key-file",
            &file("server.key"),
            "--tls-ca-cert-file",
            &file("ca.crt"),
            "--tls-auth-clients",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("rediss://127.0.0.1:{port}");
    let without = RedisBackend::connect(
        &url,
        tls_config(TlsOptions::new().root_ca_pem(tls_file("ca.crt"))),
        ManualClock::new().provider(0),
    )
    .await;
    let refused = match without {
        Err(_) => true,
        Ok(b) => b.ping().await.is_err(),
    };
    assert!(refused, "a client without a certificate must be refused");
    let with = RedisBackend::connect(
        &url,
        tls_config(
            TlsOptions::new()
                .root_ca_pem(tls_file("ca.crt"))
                .client_cert_pem(
                    tls_file("client.crt"),
                    SecretBytes::new(tls_file("client.key")),
                ),
        ),
        ManualClock::new().provider(0),
    )
    .await
    .unwrap();
    with.ping().await.unwrap();
}
