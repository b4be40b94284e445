//! The identifiers this crate splices into SQL or splits back from the database never
//! panic, and what they accept is safe: a schema name can never break out of its quoted
//! identifier, and a credential blob id splits back to exactly the tenant and id that
//! built it. A database URL of any shape builds a pool or a typed error, never a panic,
//! and the error never repeats the URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_keys::BlobId;
use portcullis_postgres::{CredentialId, PgOptions, PgPool, SchemaName, blob_id, split_blob_id};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(name) = SchemaName::new(s) {
        assert!(name.as_str().len() <= 63 && !name.as_str().is_empty());
        assert!(name
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    }
    if let Ok(id) = BlobId::new(s) {
        if let Ok((tenant, cred)) = split_blob_id(&id) {
            let again = blob_id(&tenant, &cred).expect("a split id rebuilds");
            assert_eq!(again, id, "split and rebuild must round-trip");
        }
    }
    // A URL (the pool opens connections lazily, so nothing touches the network).
    if let Err(e) = PgPool::connect(s, PgOptions::default()) {
        let text = format!("{e} {e:?}");
        assert!(s.len() < 16 || !text.contains(s), "an error repeated its URL");
    }
    // Any tenant/credential pair the types accept builds an id that splits back.
    if let Some((t, c)) = s.split_once('\u{0}') {
        if let (Ok(t), Ok(c)) = (portcullis_core::TenantId::new(t), CredentialId::new(c)) {
            let id = blob_id(&t, &c).expect("bounded length");
            assert_eq!(split_blob_id(&id).expect("splits"), (t, c));
        }
    }
});
