//! The documented blob vectors, byte for byte: format 1 (still opened), format 3 (what the
//! sealer and the envelope write; generated from the crate docs by
//! `interop/make_key_vectors.py` with Python `cryptography`), and the two-key AES-GCM
//! ciphertexts that plain AES-GCM opens for two tenants.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use common::{FixedRandom, tenant, v};
use portcullis_core::{KeyId, Provider};
use portcullis_keys::{
    DataKey, Envelope, EnvelopeConfig, GeneratedKey, KeysError, Kms, KmsContext, MasterKey,
    MasterKeys, Purpose, Sealer, TenantSalt, WrappedKey,
};

type Block = HashMap<String, String>;

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut cur = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if line.is_empty() {
            if !cur.is_empty() {
                blocks.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let (k, val) = line.split_once('=').unwrap();
        cur.insert(k.trim().to_owned(), val.trim().to_owned());
    }
    if !cur.is_empty() {
        blocks.push(cur);
    }
    blocks
}

fn block(text: &str, name: &str) -> Block {
    blocks(text)
        .into_iter()
        .find(|b| b["case"] == name)
        .unwrap()
}

const V1: &str = include_str!("vectors/sealed_blob_v1.txt");
const V3: &str = include_str!("vectors/sealed_blob_v3.txt");

fn h(b: &Block, k: &str) -> Vec<u8> {
    hex::decode(&b[k]).unwrap()
}

fn sealer_for(b: &Block, nonce: &[u8]) -> Sealer {
    Sealer::new(
        Purpose::new(b["purpose"].as_str()).unwrap(),
        MasterKeys::new(
            v(b["key_version"].parse().unwrap()),
            MasterKey::from_slice(&h(b, "master_key")).unwrap(),
        ),
        Provider::from_parts(
            Arc::new(portcullis_core::SystemClock),
            Arc::new(FixedRandom::new(nonce)),
        ),
    )
}

fn salt(b: &Block) -> Option<TenantSalt> {
    b.get("salt").map(|s| {
        TenantSalt::from_slice(b["salt_epoch"].parse().unwrap(), &hex::decode(s).unwrap()).unwrap()
    })
}

fn open(sealer: &Sealer, salt: Option<&TenantSalt>, t: &str, ctx: &[u8], blob: &[u8]) -> Vec<u8> {
    let t = tenant(t);
    match salt {
        Some(s) => sealer.open_salted(&t, s, ctx, blob),
        None => sealer.open(&t, ctx, blob),
    }
    .unwrap()
    .expose_secret()
    .to_vec()
}

fn check_v3(case: &str) {
    let b = block(V3, case);
    let sealer = sealer_for(&b, &h(&b, "nonce"));
    let t = tenant(&b["tenant"]);
    let (ctx, pt) = (b["context"].as_bytes(), b["plaintext"].as_bytes());
    let salt = salt(&b);
    let blob = match &salt {
        Some(s) => sealer.seal_salted(&t, s, ctx, pt).unwrap(),
        None => sealer.seal(&t, ctx, pt).unwrap(),
    };
    assert_eq!(hex::encode(&blob), b["blob"], "case {case}: blob bytes");
    assert_eq!(open(&sealer, salt.as_ref(), &b["tenant"], ctx, &blob), pt);
}

fn check_v1(case: &str) {
    let b = block(V1, case);
    let sealer = sealer_for(&b, &[]);
    let salt = salt(&b);
    let blob = h(&b, "blob");
    let opened = open(
        &sealer,
        salt.as_ref(),
        &b["tenant"],
        b["context"].as_bytes(),
        &blob,
    );
    assert_eq!(opened, b["plaintext"].as_bytes(), "case {case}");
}

#[test]
fn format_3_vector_unsalted_matches_exact_bytes() {
    check_v3("unsalted");
}

#[test]
fn format_3_vector_salted_matches_exact_bytes() {
    check_v3("salted");
}

#[test]
fn format_1_vectors_still_open() {
    check_v1("unsalted");
    check_v1("salted");
}

/// Hands out one fixed data key and wrapped key, for the envelope vector.
#[derive(Debug)]
struct FixedKms {
    data: DataKey,
    wrapped: WrappedKey,
}

#[async_trait]
impl Kms for FixedKms {
    async fn generate_data_key(
        &self,
        _: &KeyId,
        _: &KmsContext,
    ) -> Result<GeneratedKey, KeysError> {
        Ok(GeneratedKey {
            plaintext: self.data.clone(),
            wrapped: self.wrapped.clone(),
        })
    }
    async fn wrap(&self, _: &KeyId, _: &DataKey, _: &KmsContext) -> Result<WrappedKey, KeysError> {
        Ok(self.wrapped.clone())
    }
    async fn unwrap(
        &self,
        _: &KeyId,
        w: &WrappedKey,
        _: &KmsContext,
    ) -> Result<DataKey, KeysError> {
        if w == &self.wrapped {
            Ok(self.data.clone())
        } else {
            Err(KeysError::Decrypt)
        }
    }
}

#[tokio::test]
async fn format_3_envelope_vector_matches_exact_bytes() {
    let b = block(V3, "envelope");
    let kms = FixedKms {
        data: DataKey::from_slice(&h(&b, "data_key")).unwrap(),
        wrapped: WrappedKey::new(h(&b, "wrapped")),
    };
    let envelope = Envelope::new(
        Arc::new(kms),
        KeyId::new(b["kek"].as_str()).unwrap(),
        Provider::from_parts(
            Arc::new(portcullis_core::SystemClock),
            Arc::new(FixedRandom::new(&h(&b, "nonce"))),
        ),
        EnvelopeConfig::default(),
    );
    let t = tenant(&b["tenant"]);
    let (ctx, pt) = (b["context"].as_bytes(), b["plaintext"].as_bytes());
    let blob = envelope.seal(&t, ctx, pt).await.unwrap();
    assert_eq!(hex::encode(&blob), b["blob"]);
    assert_eq!(
        envelope.open(&t, ctx, &blob).await.unwrap().expose_secret(),
        pt
    );
}

fn raw_open(key: &[u8], nonce: &[u8], aad: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    Aes256Gcm::new_from_slice(key)
        .unwrap()
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .ok()
}

#[test]
fn the_two_key_ciphertext_opens_under_both_keys_with_plain_aes_gcm() {
    for case in ["two-key-v1", "two-key-v3"] {
        let b = block(V3, case);
        let (nonce, body) = (h(&b, "nonce"), h(&b, "ciphertext_and_tag"));
        for who in ["acme", "globex"] {
            let key = h(&b, &format!("{who}_key"));
            let aad = h(&b, &format!("{who}_aad"));
            let pt = raw_open(&key, &nonce, &aad, &body);
            assert_eq!(pt, Some(h(&b, &format!("{who}_plaintext"))), "{case} {who}");
        }
    }
}

#[test]
fn format_1_opens_the_two_key_blob_for_both_tenants_which_is_why_format_3_exists() {
    let b = block(V3, "two-key-v1");
    let sealer = sealer_for(&b, &[]);
    let blob = h(&b, "blob");
    let ctx = b["context"].as_bytes();
    assert_eq!(
        open(&sealer, None, "acme", ctx, &blob),
        h(&b, "acme_plaintext")
    );
    assert_eq!(
        open(&sealer, None, "globex", ctx, &blob),
        h(&b, "globex_plaintext")
    );
}

#[test]
fn format_3_opens_the_two_key_blob_only_for_the_tenant_it_commits_to() {
    let b = block(V3, "two-key-v3");
    let sealer = sealer_for(&b, &[]);
    let ctx = b["context"].as_bytes();
    for (blob, owner, other) in [
        ("blob_acme", "acme", "globex"),
        ("blob_globex", "globex", "acme"),
    ] {
        let blob = h(&b, blob);
        assert_eq!(
            open(&sealer, None, owner, ctx, &blob),
            h(&b, &format!("{owner}_plaintext"))
        );
        assert!(matches!(
            sealer.open(&tenant(other), ctx, &blob),
            Err(KeysError::Decrypt)
        ));
    }
}

#[test]
fn reencrypt_turns_the_two_key_blob_into_one_blob_per_tenant_that_commits() {
    let b = block(V3, "two-key-v1");
    let sealer = sealer_for(&b, &[7; 24]);
    let ctx = b["context"].as_bytes();
    let blob = h(&b, "blob");
    let moved = sealer.reencrypt(&tenant("acme"), None, ctx, &blob).unwrap();
    assert!(moved.changed);
    assert_eq!(moved.blob[0], 3);
    assert_eq!(
        open(&sealer, None, "acme", ctx, &moved.blob),
        h(&b, "acme_plaintext")
    );
    assert!(matches!(
        sealer.open(&tenant("globex"), ctx, &moved.blob),
        Err(KeysError::Decrypt)
    ));
}
