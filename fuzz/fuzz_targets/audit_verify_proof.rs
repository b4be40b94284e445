//! Merkle proof verification of untrusted proofs never panics, honest proofs always verify,
//! and a proof with any byte changed never does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_audit::{MerkleTree, leaf_hash, verify_consistency, verify_inclusion};

fn take_u64(data: &mut &[u8]) -> u64 {
    let mut b = [0u8; 8];
    for (i, x) in data.iter().take(8).enumerate() {
        b[i] = *x;
    }
    *data = data.get(8..).unwrap_or_default();
    u64::from_le_bytes(b)
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let a = take_u64(&mut data);
    let b = take_u64(&mut data);
    // Arbitrary parameters and arbitrary-length "hashes".
    let chunks: Vec<&[u8]> = data.split(|&x| x == 0xff).collect();
    let (leaf, root) = (chunks.first().copied().unwrap_or_default(), chunks.get(1).copied().unwrap_or_default());
    let proof: Vec<&[u8]> = chunks.iter().skip(2).copied().collect();
    let _ = verify_inclusion(leaf, a, b, &proof, root);
    let _ = verify_consistency(a, b, leaf, root, &proof);
    let _ = verify_inclusion(&[0u8; 32], a, b, &[[1u8; 32]; 3], &[2u8; 32]);

    // Honest proofs in a small tree verify; flipping any byte breaks them.
    let size = 1 + (a % 70);
    let tree = MerkleTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_le_bytes())));
    let index = b % size;
    let root = tree.root();
    let p = tree.inclusion_proof(index, size).expect("honest inclusion proof");
    let leaf = *tree.leaf(index).expect("leaf");
    assert!(verify_inclusion(leaf.as_bytes(), index, size, &p, root.as_bytes()).is_ok());
    let old = 1 + (b % size);
    let c = tree.consistency_proof(old, size).expect("honest consistency proof");
    let old_root = tree.root_at(old).expect("old root");
    assert!(verify_consistency(old, size, old_root.as_bytes(), root.as_bytes(), &c).is_ok());
    if let Some(&flip) = data.first() {
        if flip != 0 && !p.is_empty() {
            let mut bad = p.clone();
            let k = usize::from(flip) % bad.len();
            bad[k].0[usize::from(flip) % 32] ^= flip;
            assert!(verify_inclusion(leaf.as_bytes(), index, size, &bad, root.as_bytes()).is_err());
        }
        if flip != 0 && !c.is_empty() {
            let mut bad = c.clone();
            let k = usize::from(flip) % bad.len();
            bad[k].0[usize::from(flip) % 32] ^= flip;
            assert!(verify_consistency(old, size, old_root.as_bytes(), root.as_bytes(), &bad).is_err());
        }
    }
});
