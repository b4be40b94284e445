//! LocalKms passes the KMS conformance suite of portcullis-testkit (rotation, outage and
//! throttling need a server and are run against moto and OpenBao in `kms_aws.rs` and
//! `kms_vault.rs`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use portcullis_core::{KeyId, Provider};
use portcullis_keys::{LocalKms, MasterKey};
use portcullis_testkit::SeededRandom;
use portcullis_testkit::conformance::kms::{KmsFixture, run_all};

#[tokio::test]
async fn local_kms_passes_the_kms_conformance_suite() {
    let provider = Provider::from_parts(
        Arc::new(portcullis_core::SystemClock),
        Arc::new(SeededRandom::new(11)),
    );
    let kms = LocalKms::new(provider)
        .with_kek(KeyId::new("kek-a").unwrap(), &MasterKey::new([1; 32]))
        .unwrap()
        .with_kek(KeyId::new("kek-b").unwrap(), &MasterKey::new([2; 32]))
        .unwrap();
    run_all(&KmsFixture {
        kms: &kms,
        kek: KeyId::new("kek-a").unwrap(),
        other_kek: KeyId::new("kek-b").unwrap(),
        unknown_kek: KeyId::new("kek-missing").unwrap(),
    })
    .await;
}
