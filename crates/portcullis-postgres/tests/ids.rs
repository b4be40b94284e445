//! Properties of the identifiers spliced into SQL or split back from rows (no server).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_core::TenantId;
use portcullis_keys::BlobId;
use portcullis_postgres::{CredentialId, MAX_SCHEMA_NAME_LEN, SchemaName, blob_id, split_blob_id};
use proptest::prelude::*;

proptest! {
    #[test]
    fn blob_ids_round_trip(
        t in "[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
        c in "[!-~]{1,256}",
    ) {
        let (t, c) = (TenantId::new(t).unwrap(), CredentialId::new(c).unwrap());
        let id = blob_id(&t, &c).unwrap();
        prop_assert_eq!(split_blob_id(&id).unwrap(), (t, c));
    }

    #[test]
    fn accepted_schema_names_cannot_escape_quoting(s in "\\PC{0,70}") {
        if let Ok(name) = SchemaName::new(s.clone()) {
            prop_assert!(!name.as_str().contains('"'));
            prop_assert!(name.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            prop_assert!(!name.as_str().is_empty() && name.as_str().len() <= MAX_SCHEMA_NAME_LEN);
            prop_assert!(name.rotator_role().len() <= 63);
        }
    }

    #[test]
    fn malformed_blob_ids_are_refused_not_misread(s in "[^/]{1,80}") {
        // No separator: never splits into some tenant's row.
        prop_assert!(split_blob_id(&BlobId::new(s).unwrap()).is_err());
    }
}

#[test]
fn credential_ids_refuse_spaces_controls_and_overlong() {
    for bad in ["", "a b", "a\nb", "é", &"a".repeat(257)] {
        assert!(CredentialId::new(bad).is_err(), "{bad:?}");
    }
    assert!(CredentialId::new("a".repeat(256)).is_ok());
}
