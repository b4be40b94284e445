//! Sign a fuzzed delivery with each scheme, then verify it: it verifies unchanged, and any
//! one-byte change to the body fails. Fuzzed secrets either load or give a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::{FixedClock, Provider, UnixTime};
use portcullis_webhooks::{Delivery, Verifier, by_name};

const SCHEMES: [&str; 6] = ["stripe", "standard", "zoom", "github", "shopify", "slack"];

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, body) = data.split_at(4);
    let scheme_name = SCHEMES[usize::from(head[0]) % SCHEMES.len()];
    let secret_len = usize::from(head[1] % 48).min(body.len());
    let (secret_bytes, body) = body.split_at(secret_len);
    let Ok(secret_text) = std::str::from_utf8(secret_bytes) else { return };
    let scheme = by_name(scheme_name).unwrap();
    let secret = if scheme_name == "standard" {
        // Exercise the loader on the fuzzed text, then sign with a valid key.
        let _ = scheme.parse_secret(secret_text);
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
    } else {
        match scheme.parse_secret(secret_text) {
            Ok(_) => secret_text.to_owned(),
            Err(_) => return,
        }
    };
    let key = scheme.parse_secret(&secret).unwrap();
    let ts = 1_700_000_000 + u64::from(head[2]);
    let headers = scheme.sign(&key, &Delivery { id: "msg_fuzz_1", timestamp: ts, body }).unwrap();
    let verifier = Verifier::from_dyn(
        scheme.into(),
        [secret.as_str()],
        Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(1_700_000_000)))),
    )
    .unwrap();
    assert!(verifier.verify(&&headers, body).is_ok());
    if !body.is_empty() {
        let mut changed = body.to_vec();
        let i = usize::from(head[3]) % changed.len();
        changed[i] = changed[i].wrapping_add(1);
        assert!(verifier.verify(&&headers, &changed).is_err());
    }
});
