//! The documented sealed-blob test vector (crate docs, "Test vector"), byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use portcullis_core::Provider;
use std::sync::Arc;

use common::{FixedRandom, tenant, v};
use portcullis_keys::{MasterKey, MasterKeys, Purpose, Sealer, TenantSalt};

fn block(name: &str) -> std::collections::HashMap<String, String> {
    let text = include_str!("vectors/sealed_blob_v1.txt");
    let mut blocks = Vec::new();
    let mut cur = std::collections::HashMap::new();
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
    blocks.into_iter().find(|b| b["case"] == name).unwrap()
}

fn check(case: &str) {
    let b = block(case);
    let h = |k: &str| hex::decode(&b[k]).unwrap();
    let version = v(b["key_version"].parse().unwrap());
    let master = MasterKey::from_slice(&h("master_key")).unwrap();
    let sealer = Sealer::new(
        Purpose::new(b["purpose"].as_str()).unwrap(),
        MasterKeys::new(version, master),
        Provider::from_parts(
            std::sync::Arc::new(portcullis_core::SystemClock),
            Arc::new(FixedRandom::new(&h("nonce"))),
        ),
    );
    let t = tenant(&b["tenant"]);
    let ctx = b["context"].as_bytes();
    let pt = b["plaintext"].as_bytes();
    let salt = b.get("salt").map(|s| {
        TenantSalt::from_slice(b["salt_epoch"].parse().unwrap(), &hex::decode(s).unwrap()).unwrap()
    });
    let blob = match &salt {
        Some(s) => sealer.seal_salted(&t, s, ctx, pt).unwrap(),
        None => sealer.seal(&t, ctx, pt).unwrap(),
    };
    assert_eq!(hex::encode(&blob), b["blob"], "case {case}: blob bytes");
    let opened = match &salt {
        Some(s) => sealer.open_salted(&t, s, ctx, &blob).unwrap(),
        None => sealer.open(&t, ctx, &blob).unwrap(),
    };
    assert_eq!(opened.expose_secret(), pt);
}

#[test]
fn documented_vector_unsalted_matches_exact_bytes() {
    check("unsalted");
}

#[test]
fn documented_vector_salted_matches_exact_bytes() {
    check("salted");
}
