//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::Mutex;

use portcullis_core::{Provider, RandomError, SecureRandom, TenantId};
use portcullis_keys::{KeyVersion, MasterKey, MasterKeys, Purpose, Sealer};
use portcullis_testkit::SeededRandom;

/// A test-only generator that returns the queued bytes (for the documented vector).
#[derive(Debug)]
pub struct FixedRandom(Mutex<Vec<u8>>);

impl FixedRandom {
    pub fn new(bytes: &[u8]) -> Self {
        Self(Mutex::new(bytes.to_vec()))
    }
}

impl SecureRandom for FixedRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut q = self.0.lock().unwrap();
        if q.len() < dest.len() {
            return Err(RandomError::new("fixed random exhausted"));
        }
        let rest = q.split_off(dest.len());
        dest.copy_from_slice(&q);
        *q = rest;
        Ok(())
    }
}

pub fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

pub fn key(byte: u8) -> MasterKey {
    MasterKey::new([byte; 32])
}

pub fn tenant(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

pub fn sealer_with(ring: MasterKeys, seed: u64) -> Sealer {
    Sealer::new(
        Purpose::new("credentials").unwrap(),
        ring,
        Provider::from_parts(
            std::sync::Arc::new(portcullis_core::SystemClock),
            Arc::new(SeededRandom::new(seed)),
        ),
    )
}

pub fn sealer() -> Sealer {
    sealer_with(MasterKeys::new(v(1), key(1)), 7)
}
