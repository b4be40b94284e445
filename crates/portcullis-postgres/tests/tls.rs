//! PostgreSQL over TLS (`sslmode=verify-full`, rustls) against the private `ssl=on`
//! server of `scripts/test-servers.sh` (`PORTCULLIS_TEST_PG_TLS_URL`, CA and client
//! certificates under `PORTCULLIS_TEST_TLS_DIR`, all made by openssl at run time; its
//! `pg_hba.conf` rejects plain TCP): the audit conformance suite and the sealed-credential
//! store pass over TLS; a server certificate from another CA is refused; plain TCP to it
//! is refused by the server; a client certificate can be presented.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use portcullis_core::{OsRandom, Provider, SecretBytes};
use portcullis_keys::{KeyVersion, MasterKey, MasterKeys, Purpose, Sealer};
use portcullis_postgres::{
    CredentialId, PgAuditStore, PgCredentialStore, PgOptions, PgPool, PgTls, SchemaName, migrate,
};

const ENV: &str = "PORTCULLIS_TEST_PG_TLS_URL";

/// The TLS server's base URL and the PKI directory, or `None` after saying loudly why.
fn target(test: &str) -> Option<(String, String)> {
    match (std::env::var(ENV), std::env::var("PORTCULLIS_TEST_TLS_DIR")) {
        (Ok(url), Ok(dir)) => Some((url, dir)),
        _ => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n*** SKIPPED {test}: {ENV} / PORTCULLIS_TEST_TLS_DIR not set (.ci/run sets them; locally: eval \"$(scripts/test-servers.sh start)\") ***\n"
                )
                .as_bytes(),
            );
            None
        }
    }
}

fn verify_full(url: &str, ca: &str) -> String {
    format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        ca.replace('/', "%2F")
    )
}

async fn tls_pool(url: &str, tag: &str, tls: PgTls) -> PgPool {
    let options = PgOptions {
        schema: common::schema(tag),
        tls,
        ..PgOptions::default()
    };
    let pool = PgPool::connect(url, options).unwrap();
    migrate(&pool).await.unwrap();
    pool
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_conformance_over_verify_full_tls() {
    let Some((url, dir)) = target("audit_conformance_over_verify_full_tls") else {
        return;
    };
    let url = verify_full(&url, &format!("{dir}/ca.crt"));
    portcullis_testkit::conformance::audit::run_all(
        move || {
            let url = url.clone();
            async move { PgAuditStore::new(tls_pool(&url, "tlsconf", PgTls::new()).await) }
        },
        |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_over_tls_with_a_client_certificate() {
    let Some((url, dir)) = target("credentials_over_tls_with_a_client_certificate") else {
        return;
    };
    let read = |n: &str| std::fs::read(format!("{dir}/{n}")).unwrap();
    // CA and client certificate given in code rather than in the URL.
    let tls = PgTls::new()
        .root_ca_pem(read("ca.crt"))
        .client_cert_pem(read("client.crt"), SecretBytes::new(read("client.key")));
    let pool = tls_pool(&format!("{url}?sslmode=verify-full"), "tlscred", tls).await;
    let rng = Arc::new(OsRandom);
    let sealer = Arc::new(Sealer::new(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(
            KeyVersion::new(1).unwrap(),
            MasterKey::generate(rng.as_ref()).unwrap(),
        ),
        Provider::system(),
    ));
    let store = PgCredentialStore::new(pool, sealer);
    let (a, b) = (common::tenant("a"), common::tenant("b"));
    let id = CredentialId::new("stripe:acct_1").unwrap();
    store.put(&a, &id, b"sk_live_tls").await.unwrap();
    assert_eq!(
        store.open(&a, &id).await.unwrap().unwrap().expose_secret(),
        b"sk_live_tls"
    );
    assert!(
        store.open(&b, &id).await.unwrap().is_none(),
        "tenant scoped"
    );
    assert!(store.delete(&a, &id).await.unwrap());
    assert!(store.open(&a, &id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ca_and_plain_tcp_are_refused() {
    let Some((url, dir)) = target("wrong_ca_and_plain_tcp_are_refused") else {
        return;
    };
    let schema = SchemaName::new(format!("pgt_tlsneg_{}", common::suffix())).unwrap();
    for (what, u) in [
        (
            "another CA",
            verify_full(&url, &format!("{dir}/other-ca.crt")),
        ),
        ("plain TCP", format!("{url}?sslmode=disable")),
    ] {
        let pool = PgPool::connect(
            &u,
            PgOptions {
                schema: schema.clone(),
                ..PgOptions::default()
            },
        )
        .unwrap();
        let r = migrate(&pool).await;
        assert!(r.is_err(), "{what}: must not connect");
        let text = format!("{:?}", r.unwrap_err());
        assert!(!text.contains("BEGIN CERTIFICATE"), "{what}: {text}");
    }
}
