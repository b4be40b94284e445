#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Properties over arbitrary inputs.

mod common;

use common::*;
use portcullis_core::{SecretArray, TenantId};
use portcullis_testkit::ManualClock;
use portcullis_tokens::api_key_format as api_format;
use portcullis_tokens::refresh_format as rt_format;
use portcullis_tokens::{Algorithm, FamilyId, NoExtra, TokenError};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary strings never verify and never panic.
    #[test]
    fn garbage_never_verifies(s in ".{0,300}") {
        let clock = ManualClock::new();
        let svc = service(ring(Algorithm::Hs256), &clock);
        prop_assert!(verify::<NoExtra>(&svc, &s).is_err());
        let key = SecretArray::new([1u8; 32]);
        prop_assert!(rt_format::token_hash(&key, &tenant(), &s).is_err());
        prop_assert!(api_format::parse("pc", &s).is_err() || s.starts_with("pc_"));
    }

    /// Any single-character change to an issued token makes it fail.
    #[test]
    fn any_edit_of_a_token_fails(pos in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.-]") {
        let clock = ManualClock::new();
        let svc = service(ring(Algorithm::EdDsa), &clock);
        let t = svc.issue_access(&tenant(), &alice(), None, &NoExtra {}).unwrap().token;
        let i = pos.index(t.len());
        let mut bytes = t.clone().into_bytes();
        let c = c.as_bytes()[0];
        prop_assume!(bytes[i] != c);
        bytes[i] = c;
        let edited = String::from_utf8(bytes).unwrap();
        // Base64url's last character carries padding bits that may decode identically.
        let is_last_of_part = i + 1 == t.len() || t.as_bytes().get(i + 1) == Some(&b'.');
        prop_assume!(!is_last_of_part);
        prop_assert!(verify::<NoExtra>(&svc, &edited).is_err());
    }

    /// Refresh tokens round-trip their fields, and the tag binds the tenant.
    #[test]
    fn refresh_tokens_authenticate(fam in any::<[u8; 16]>(), generation in any::<u32>(), secret in any::<[u8; 32]>(),
                                   t1 in "[a-z][a-z0-9]{0,10}", t2 in "[a-z][a-z0-9]{0,10}") {
        let key = SecretArray::new([9u8; 32]);
        let (a, b): (TenantId, TenantId) = (t1.parse().unwrap(), t2.parse().unwrap());
        let text = rt_format::encode_token(&key, &a, FamilyId::from_bytes(fam), generation, &SecretArray::new(secret)).unwrap();
        prop_assert_eq!(text.len(), rt_format::TEXT_LEN);
        prop_assert!(rt_format::token_hash(&key, &a, text.expose_secret()).is_ok());
        if a != b {
            prop_assert!(matches!(rt_format::token_hash(&key, &b, text.expose_secret()), Err(TokenError::RefreshInvalid)));
        }
        let next = rt_format::successor_token(&key, &a, text.expose_secret());
        if generation == u32::MAX {
            prop_assert!(matches!(next, Err(TokenError::RefreshExpired)));
        } else {
            prop_assert!(rt_format::token_hash(&key, &a, next.unwrap().expose_secret()).is_ok());
        }
    }

    /// The checksum catches every single-character substitution in an API key.
    #[test]
    fn api_key_checksum_catches_single_substitutions(id in "[0-9A-Za-z]{16}", secret in "[0-9A-Za-z]{32}",
                                                     pos in 3usize..51, c in "[0-9A-Za-z]") {
        let head = format!("pc_{id}{secret}");
        let key = format!("{head}{}", std::str::from_utf8(&api_format::checksum(&head)).unwrap());
        prop_assert!(api_format::parse("pc", &key).is_ok());
        let mut bytes = key.clone().into_bytes();
        prop_assume!(bytes[pos] != c.as_bytes()[0]);
        bytes[pos] = c.as_bytes()[0];
        let typo = String::from_utf8(bytes).unwrap();
        prop_assert!(matches!(api_format::parse("pc", &typo), Err(TokenError::ApiKeyChecksum)));
    }
}
