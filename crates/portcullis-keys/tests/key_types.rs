//! `MasterKey` and `DataKey` are generated from one macro: pin the behaviour each must
//! keep (redacted `Debug` naming its own type, exact-length slices, round trips).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_keys::{DataKey, KeysError, MasterKey};
use portcullis_testkit::SeededRandom;

#[test]
fn debug_is_redacted_and_names_the_type() {
    let master = MasterKey::new([7; 32]);
    let data = DataKey::new([7; 32]);
    assert_eq!(format!("{master:?}"), "MasterKey([redacted])");
    assert_eq!(format!("{data:?}"), "DataKey([redacted])");
    assert_eq!(format!("{master:#?}"), "MasterKey([redacted])");
}

#[test]
fn from_slice_takes_exactly_32_bytes() {
    let bytes: Vec<u8> = (0..33).collect();
    assert_eq!(
        MasterKey::from_slice(&bytes[..32]).unwrap().expose_secret(),
        &bytes[..32]
    );
    assert_eq!(
        DataKey::from_slice(&bytes[..32]).unwrap().expose_secret(),
        &bytes[..32]
    );
    for len in [0, 31, 33] {
        assert!(matches!(
            MasterKey::from_slice(&bytes[..len]),
            Err(KeysError::KeyLength { expected: 32, actual }) if actual == len
        ));
        assert!(matches!(
            DataKey::from_slice(&bytes[..len]),
            Err(KeysError::KeyLength { expected: 32, actual }) if actual == len
        ));
    }
}

#[test]
fn generate_draws_from_the_generator_and_clones_keep_the_bytes() {
    let rng = SeededRandom::new(1);
    let a = MasterKey::generate(&rng).unwrap();
    let b = DataKey::generate(&rng).unwrap();
    assert_ne!(a.expose_secret(), &[0; 32]);
    assert_ne!(a.expose_secret(), b.expose_secret());
    assert_eq!(a.clone().expose_secret(), a.expose_secret());
    assert_eq!(b.clone().expose_secret(), b.expose_secret());
}
