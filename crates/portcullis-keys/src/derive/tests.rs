#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::aead::tests::parse_blocks;

#[test]
fn rfc5869_hkdf_sha256_vectors_pass() {
    let blocks = parse_blocks(include_str!("../../tests/vectors/rfc5869_hkdf_sha256.txt"));
    assert_eq!(blocks.len(), 3);
    for b in &blocks {
        let h = |k: &str| hex::decode(&b[k]).unwrap();
        let (ikm, salt, info, okm) = (h("ikm"), h("salt"), h("info"), h("okm"));
        let len: usize = b["len"].parse().unwrap();
        let mut out = vec![0u8; len];
        // RFC 5869 treats an empty salt as "not provided" (HashLen zeros): test both paths.
        let salt_arg = if salt.is_empty() {
            None
        } else {
            Some(salt.as_slice())
        };
        hkdf_sha256(salt_arg, &ikm, &info, &mut out).unwrap();
        assert_eq!(hex::encode(&out), hex::encode(&okm), "case {}", b["case"]);
        let mut again = vec![0u8; len];
        hkdf_sha256(Some(&salt), &ikm, &info, &mut again).unwrap();
        assert_eq!(again, okm, "case {} with explicit salt", b["case"]);
    }
}

#[test]
fn oversized_output_is_refused() {
    let mut out = vec![0u8; 255 * 32 + 1];
    assert!(hkdf_sha256(None, b"k", b"", &mut out).is_err());
}

#[test]
fn info_is_length_prefixed_and_unambiguous() {
    let p1 = Purpose::new("ab").unwrap();
    let p2 = Purpose::new("a").unwrap();
    let t1 = TenantId::new("c").unwrap();
    let t2 = TenantId::new("bc").unwrap();
    // A bare concatenation would make ("ab","c") and ("a","bc") collide.
    assert_ne!(derivation_info(&p1, &t1, 0), derivation_info(&p2, &t2, 0));
    let info = derivation_info(&p1, &t1, 7);
    let mut expected = Vec::new();
    expected.extend_from_slice(&29u32.to_be_bytes());
    expected.extend_from_slice(b"portcullis-keys/tenant-key/v1");
    expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c', 0, 0, 0, 7]);
    assert_eq!(info, expected);
}

#[test]
fn purposes_are_validated() {
    for bad in ["", "Upper", "-lead", "has space", &"a".repeat(65)] {
        assert!(Purpose::new(bad).is_err(), "{bad:?}");
    }
    for good in ["credentials", "oauth.refresh", "a", "x1:y_z-2"] {
        assert!(Purpose::new(good).is_ok(), "{good:?}");
    }
}
