//! Published vectors: transparency-dev/merkle roots and proofs (incl. malformed cases that
//! must fail), the Go signed-note vector and the sumdb tree-note format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_audit::{AuditError, Checkpoint, Hash, NoteSigner, NoteVerifier};
use portcullis_audit::{MerkleTree, leaf_hash, root_of, verify_consistency, verify_inclusion};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(b64).collect(),
        other => panic!("bad proof {other}"),
    }
}

#[test]
fn roots_for_sizes_0_to_8() {
    let v = load("merkle_roots.json");
    let leaves: Vec<Vec<u8>> = v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex::decode(l.as_str().unwrap()).unwrap())
        .collect();
    let roots = v["roots_hex_by_size"].as_array().unwrap();
    let tree = MerkleTree::from_leaf_hashes(leaves.iter().map(|l| leaf_hash(l)));
    for (size, want) in roots.iter().enumerate() {
        let got = tree.root_at(size as u64).unwrap();
        assert_eq!(got.to_hex(), want.as_str().unwrap(), "size {size}");
        let hashes: Vec<Hash> = leaves[..size].iter().map(|l| leaf_hash(l)).collect();
        assert_eq!(root_of(&hashes), got, "root_of size {size}");
    }
}

#[test]
fn generated_proofs_match_and_verify_for_all_sizes() {
    let v = load("merkle_roots.json");
    let leaves: Vec<Hash> = v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash(&hex::decode(l.as_str().unwrap()).unwrap()))
        .collect();
    let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
    for size in 1..=8u64 {
        let root = tree.root_at(size).unwrap();
        for idx in 0..size {
            let p = tree.inclusion_proof(idx, size).unwrap();
            verify_inclusion(
                leaves[idx as usize].as_bytes(),
                idx,
                size,
                &p,
                root.as_bytes(),
            )
            .unwrap();
        }
        for old in 1..=size {
            let p = tree.consistency_proof(old, size).unwrap();
            let old_root = tree.root_at(old).unwrap();
            verify_consistency(old, size, old_root.as_bytes(), root.as_bytes(), &p).unwrap();
        }
    }
}

#[test]
fn transparency_dev_inclusion_corpus() {
    let v = load("merkle_inclusion.json");
    let tree = MerkleTree::from_leaf_hashes(
        load("merkle_roots.json")["leaves_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| leaf_hash(&hex::decode(l.as_str().unwrap()).unwrap())),
    );
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for c in cases {
        let file = c["file"].as_str().unwrap();
        let p = proof(&c["proof"]);
        let res = verify_inclusion(
            &b64(&c["leafHash"]),
            c["leafIdx"].as_u64().unwrap(),
            c["treeSize"].as_u64().unwrap(),
            &p,
            &b64(&c["root"]),
        );
        if c["wantErr"].as_bool().unwrap() {
            assert!(res.is_err(), "{file} must fail");
        } else {
            res.unwrap_or_else(|e| panic!("{file}: {e}"));
            // Our generator produces exactly the published proof.
            let ours = tree
                .inclusion_proof(
                    c["leafIdx"].as_u64().unwrap(),
                    c["treeSize"].as_u64().unwrap(),
                )
                .unwrap();
            let ours: Vec<Vec<u8>> = ours.iter().map(|h| h.0.to_vec()).collect();
            assert_eq!(ours, p, "{file}");
        }
    }
}

#[test]
fn transparency_dev_consistency_corpus() {
    let v = load("merkle_consistency.json");
    let tree = MerkleTree::from_leaf_hashes(
        load("merkle_roots.json")["leaves_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| leaf_hash(&hex::decode(l.as_str().unwrap()).unwrap())),
    );
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for c in cases {
        let file = c["file"].as_str().unwrap();
        let p = proof(&c["proof"]);
        let (s1, s2) = (c["size1"].as_u64().unwrap(), c["size2"].as_u64().unwrap());
        let res = verify_consistency(s1, s2, &b64(&c["root1"]), &b64(&c["root2"]), &p);
        if c["wantErr"].as_bool().unwrap() {
            assert!(res.is_err(), "{file} must fail");
        } else {
            res.unwrap_or_else(|e| panic!("{file}: {e}"));
            let ours: Vec<Vec<u8>> = tree
                .consistency_proof(s1, s2)
                .unwrap()
                .iter()
                .map(|h| h.0.to_vec())
                .collect();
            assert_eq!(ours, p, "{file}");
        }
    }
}

#[test]
fn strict_verifiers_reject_malformed_parameters() {
    let leaf = [7u8; 32];
    let root = [9u8; 32];
    let one: Vec<[u8; 32]> = vec![[1u8; 32]];
    let none: Vec<[u8; 32]> = Vec::new();
    let mal = |r: Result<(), AuditError>| matches!(r, Err(AuditError::MalformedProof(_)));
    assert!(mal(verify_inclusion(&leaf, 0, 0, &none, &root)), "size 0");
    assert!(
        mal(verify_inclusion(&leaf, 2, 2, &one, &root)),
        "index == size"
    );
    assert!(
        mal(verify_inclusion(&leaf, u64::MAX, 2, &one, &root)),
        "index > size"
    );
    assert!(
        mal(verify_inclusion(&leaf[..31], 0, 2, &one, &root)),
        "31-byte leaf"
    );
    assert!(
        mal(verify_inclusion(&leaf, 0, 2, &one, &[0u8; 33])),
        "33-byte root"
    );
    assert!(
        mal(verify_inclusion(&leaf, 0, 2, &[vec![1u8; 31]], &root)),
        "31-byte proof hash"
    );
    assert!(
        mal(verify_inclusion(&leaf, 0, 2, &none, &root)),
        "too short"
    );
    assert!(
        mal(verify_inclusion(
            &leaf,
            0,
            2,
            &[[1u8; 32], [2u8; 32]],
            &root
        )),
        "too long"
    );
    assert!(mal(verify_consistency(0, 2, &leaf, &root, &one)), "size1 0");
    assert!(
        mal(verify_consistency(3, 2, &leaf, &root, &one)),
        "size1 > size2"
    );
    assert!(
        mal(verify_consistency(2, 2, &leaf, &leaf, &one)),
        "equal sizes need empty proof"
    );
    assert!(
        mal(verify_consistency(1, 2, &leaf[..5], &root, &one)),
        "short root1"
    );
    assert!(
        mal(verify_consistency(1, 2, &leaf, &root, &[vec![0u8; 64]])),
        "64-byte proof hash"
    );
    assert!(matches!(
        verify_consistency(2, 2, &leaf, &root, &none),
        Err(AuditError::ProofMismatch)
    ));
    assert!(verify_consistency(2, 2, &leaf, &leaf, &none).is_ok());
}

#[test]
fn go_signed_note_vector() {
    let v = load("signed_note.json");
    let signer = NoteSigner::parse(v["signer_key"].as_str().unwrap()).unwrap();
    let verifier = NoteVerifier::parse(v["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(signer.verifier(), verifier);
    assert_eq!(verifier.to_string(), v["verifier_key"].as_str().unwrap());
    assert_eq!(
        signer.to_signer_key().expose_secret(),
        v["signer_key"].as_str().unwrap()
    );
    assert_eq!(format!("{:08x}", verifier.key_hash()), "c74f20a3");
    let text = v["text"].as_str().unwrap();
    let note = signer.sign(text).unwrap();
    let want = format!(
        "{text}\n\u{2014} PeterNeumann {}\n",
        v["signature"].as_str().unwrap()
    );
    assert_eq!(note, want, "deterministic Ed25519 signature equals Go's");
    assert_eq!(verifier.open(&want).unwrap(), text);
    // Tampered text fails, opaquely.
    let tampered = want.replacen("cryptography", "Cryptography", 1);
    assert!(matches!(
        verifier.open(&tampered),
        Err(AuditError::InvalidSignature)
    ));
}

#[test]
fn sumdb_tree_note_format() {
    let v = load("signed_note.json");
    let t = &v["tree_note"];
    let record = leaf_hash(t["record"].as_str().unwrap().as_bytes());
    let cp = Checkpoint::new(
        t["origin"].as_str().unwrap(),
        t["size"].as_u64().unwrap(),
        record,
    )
    .unwrap();
    assert_eq!(cp.to_text(), t["text"].as_str().unwrap());
    assert_eq!(
        Checkpoint::parse_text(t["text"].as_str().unwrap()).unwrap(),
        cp
    );
}
