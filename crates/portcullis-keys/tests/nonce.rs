//! Nonce uniqueness over one million seals with the OS generator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::sync::Arc;

use portcullis_core::{OsRandom, TenantId};
use portcullis_keys::{KeyVersion, Keyring, MasterKey, Purpose, Sealer};

#[test]
fn one_million_seals_never_repeat_a_nonce() {
    const N: usize = 1_000_000;
    let sealer = Sealer::new(
        Purpose::new("credentials").unwrap(),
        Keyring::new(KeyVersion::new(1).unwrap(), MasterKey::new([5; 32])),
        Arc::new(OsRandom),
    );
    let tenant = TenantId::new("acme").unwrap();
    let mut seen: HashSet<[u8; 12]> = HashSet::with_capacity(N);
    for _ in 0..N {
        let blob = sealer.seal(&tenant, b"", b"").unwrap();
        let nonce: [u8; 12] = blob[5..17].try_into().unwrap();
        assert!(
            seen.insert(nonce),
            "nonce repeated after {} seals",
            seen.len()
        );
    }
    assert_eq!(seen.len(), N);
    assert_eq!(sealer.usage()[0].seals, N as u64);
}
