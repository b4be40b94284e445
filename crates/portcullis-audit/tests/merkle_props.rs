//! The cached Merkle tree against a direct transcription of RFC 6962 §2.1 (differential),
//! and verifier properties.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_audit::Hash;
use portcullis_audit::{
    MerkleTree, empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

fn k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) as written in RFC 6962.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
    }
}

/// PATH(m, D[n]).
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = k(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b).
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = k(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

proptest! {
    #[test]
    fn tree_matches_the_rfc(n in 1usize..200, a in any::<usize>(), b in any::<usize>()) {
        let d = leaves(n);
        let tree = MerkleTree::from_leaf_hashes(d.iter().copied());
        let size = 1 + a % n;
        let m = b % size;
        prop_assert_eq!(tree.root_at(size as u64).unwrap(), mth(&d[..size]));
        let p = tree.inclusion_proof(m as u64, size as u64).unwrap();
        prop_assert_eq!(&p, &path(m, &d[..size]));
        verify_inclusion(d[m].as_bytes(), m as u64, size as u64, &p, mth(&d[..size]).as_bytes()).unwrap();
        let old = 1 + b % size;
        let c = tree.consistency_proof(old as u64, size as u64).unwrap();
        prop_assert_eq!(&c, &subproof(old, &d[..size], true));
        verify_consistency(old as u64, size as u64, mth(&d[..old]).as_bytes(), mth(&d[..size]).as_bytes(), &c).unwrap();
    }

    #[test]
    fn wrong_index_or_size_fails(n in 2usize..100, a in any::<usize>(), b in any::<usize>()) {
        let d = leaves(n);
        let tree = MerkleTree::from_leaf_hashes(d.iter().copied());
        let m = a % n;
        let root = tree.root();
        let p = tree.inclusion_proof(m as u64, n as u64).unwrap();
        let other = b % n;
        if other != m {
            prop_assert!(verify_inclusion(d[m].as_bytes(), other as u64, n as u64, &p, root.as_bytes()).is_err());
            prop_assert!(verify_inclusion(d[other].as_bytes(), m as u64, n as u64, &p, root.as_bytes()).is_err());
        }
        // (A proof may also fit another size with the same shape; the signed checkpoint binds
        // size and root together, so only the pair is meaningful.)
        prop_assert!(verify_inclusion(d[m].as_bytes(), m as u64, 2 * n as u64, &p, root.as_bytes()).is_err());
        let old = 1 + b % (n - 1);
        let c = tree.consistency_proof(old as u64, n as u64).unwrap();
        let wrong_old = tree.root_at(old as u64 + 1).unwrap();
        prop_assert!(verify_consistency(old as u64, n as u64, wrong_old.as_bytes(), root.as_bytes(), &c).is_err());
    }

    #[test]
    fn arbitrary_proofs_never_panic(idx in any::<u64>(), size in any::<u64>(), hashes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..70)) {
        let _ = verify_inclusion(&[1u8; 32], idx, size, &hashes, &[2u8; 32]);
        let _ = verify_consistency(idx, size, &[1u8; 32], &[2u8; 32], &hashes);
    }
}

#[test]
fn huge_sizes_are_handled() {
    let h = [0u8; 32];
    let proof: Vec<[u8; 32]> = vec![[1u8; 32]; 64];
    assert!(verify_inclusion(&h, u64::MAX - 1, u64::MAX, &proof, &h).is_err());
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &h, &h, &proof).is_err());
    assert!(verify_consistency(1, u64::MAX, &h, &h, &proof).is_err());
}

/// Roots and hashes compare through `subtle::ConstantTimeEq` (the verifiers use it, so the
/// "constant time" claim in the docs holds); equality agrees with the bytes.
#[test]
fn hashes_compare_in_constant_time_and_agree_with_bytes() {
    use subtle::ConstantTimeEq;
    let a = Hash([7u8; 32]);
    assert!(bool::from(a.ct_eq(&Hash([7u8; 32]))));
    for i in 0..32 {
        let mut b = a;
        b.0[i] ^= 1;
        assert!(!bool::from(a.ct_eq(&b)), "byte {i}");
    }
    // Equal sizes: equal roots verify, a root differing in any byte is a mismatch.
    let none: [&[u8]; 0] = [];
    assert!(verify_consistency(3, 3, a.as_bytes(), a.as_bytes(), &none).is_ok());
    for i in [0usize, 17, 31] {
        let mut c = a;
        c.0[i] ^= 0x80;
        assert!(matches!(
            verify_consistency(3, 3, a.as_bytes(), c.as_bytes(), &none),
            Err(portcullis_audit::AuditError::ProofMismatch)
        ));
    }
}
