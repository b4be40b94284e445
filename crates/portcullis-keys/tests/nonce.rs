//! Nonce uniqueness over one million seals with the OS generator, from several threads
//! sharing one sealer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;

use portcullis_core::{Provider, TenantId};
use portcullis_keys::{KeyVersion, MasterKey, MasterKeys, Purpose, Sealer};

#[test]
fn one_million_seals_never_repeat_a_nonce() {
    const N: usize = 1_000_000;
    const THREADS: usize = 4;
    let sealer = Sealer::new(
        Purpose::new("credentials").unwrap(),
        MasterKeys::new(KeyVersion::new(1).unwrap(), MasterKey::new([5; 32])),
        Provider::system(),
    );
    let tenant = TenantId::new("acme").unwrap();
    let per_thread: Vec<Vec<[u8; 12]>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    (0..N / THREADS)
                        .map(|_| {
                            let blob = sealer.seal(&tenant, b"", b"").unwrap();
                            <[u8; 12]>::try_from(&blob[5..17]).unwrap()
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen: HashSet<[u8; 12]> = HashSet::with_capacity(N);
    for nonce in per_thread.into_iter().flatten() {
        assert!(
            seen.insert(nonce),
            "nonce repeated after {} seals",
            seen.len()
        );
    }
    assert_eq!(seen.len(), N);
    assert_eq!(sealer.usage()[0].seals, N as u64);
}
