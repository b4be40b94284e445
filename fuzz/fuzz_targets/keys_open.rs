//! Arbitrary bytes opened as a sealed blob (and parsed as an envelope blob) never panic,
//! and nothing but the one genuinely sealed blob ever opens.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use portcullis_core::{Provider, RandomError, SecureRandom, SystemClock, TenantId};
use portcullis_keys::inspect_envelope;
use portcullis_keys::{KeyVersion, MasterKeys, MasterKey, Purpose, Sealer, inspect};

/// Deterministic generator: the fixture seals exactly one blob, so it is the same blob in
/// every fuzzing process and the only one that may ever open (a blob sealed by an earlier
/// process with a random nonce would be genuine, not forged).
#[derive(Debug)]
struct Constant;

impl SecureRandom for Constant {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        dest.fill(0x42);
        Ok(())
    }
}

struct Fixture {
    sealer: Sealer,
    tenant: TenantId,
    genuine: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let v1 = KeyVersion::new(1).unwrap();
        let mut ring = MasterKeys::new(v1, MasterKey::new([1; 32]));
        ring.rotate(KeyVersion::new(2).unwrap(), MasterKey::new([2; 32])).unwrap();
        let sealer = Sealer::new(
            Purpose::new("credentials").unwrap(),
            ring,
            Provider::from_parts(Arc::new(SystemClock), Arc::new(Constant)),
        );
        let tenant = TenantId::new("acme").unwrap();
        let genuine = sealer.seal(&tenant, b"ctx", b"payload").unwrap();
        Fixture { sealer, tenant, genuine }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let _ = inspect(data);
    let _ = inspect_envelope(data);
    match f.sealer.open(&f.tenant, b"ctx", data) {
        Ok(pt) => {
            assert_eq!(data, f.genuine.as_slice(), "a forged blob opened");
            assert_eq!(pt.expose_secret(), b"payload");
        }
        Err(_) => assert_ne!(data, f.genuine.as_slice()),
    }
    // Mutations of the genuine blob guided by the input: never open.
    if let Some((&pos, rest)) = data.split_first() {
        let mut m = f.genuine.clone();
        let i = usize::from(pos) % m.len();
        if let Some(b) = m.get_mut(i) {
            *b ^= rest.first().copied().unwrap_or(1).max(1);
        }
        assert!(f.sealer.open(&f.tenant, b"ctx", &m).is_err());
    }
});
