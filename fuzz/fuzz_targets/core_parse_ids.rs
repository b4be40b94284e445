//! Arbitrary strings parsed as identifiers never panic, and what is accepted obeys the rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::{ActorId, KeyId, TenantId};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(t) = s.parse::<TenantId>() {
        assert!(t.as_str().len() <= TenantId::MAX_LEN);
        assert!(t.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    }
    if let Ok(a) = s.parse::<ActorId>() {
        assert_eq!(a.as_str(), s);
    }
    let _ = s.parse::<KeyId>().map(|k| k.to_string());
});
