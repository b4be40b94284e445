//! Identity-provider inputs never panic: JWKS documents and single JWKs (untrusted when
//! fetched from a provider), and access tokens under an issuer profile.
//!
//! The first byte picks the shape:
//! - 0: the bytes as a JWKS document (`parse_jwks`, with and without a default RSA
//!   algorithm) and as one JWK;
//! - 1: the bytes as a token for an `IdpVerifier` (never verifies);
//! - 2: the bytes as the claims of a kid-less HS256 token correctly signed with the
//!   profile's secret (exercises the profile's claim rules on hostile JSON).
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use portcullis_core::{FixedClock, KeyId, Provider, SecretBytes, UnixTime};
use portcullis_tokens::{
    Algorithm, IdpVerifier, IssuerProfile, KeyMaterial, SigningKeys, parse_jwks,
};
use sha2::Sha256;

const SECRET: [u8; 32] = [9; 32];

fn verifier() -> &'static IdpVerifier {
    static V: OnceLock<IdpVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let ring = SigningKeys::hs256(
            (KeyId::new("fuzz").unwrap(), &SecretBytes::from_slice(&SECRET)),
            None,
        )
        .unwrap();
        let profile = IssuerProfile::new(
            "https://idp.example",
            &["api"],
            &[Algorithm::Hs256, Algorithm::Rs256, Algorithm::Es384],
            Arc::new(ring),
        )
        .unwrap()
        .tenant_claim("org")
        .accept_hs256_without_kid();
        let clock = FixedClock(UnixTime::from_secs(1_700_000_100));
        let provider = Provider::from_parts(Arc::new(clock), Arc::new(portcullis_core::OsRandom));
        IdpVerifier::new(vec![profile], provider).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let _ = parse_jwks(rest, None);
            let _ = parse_jwks(rest, Some(Algorithm::Ps256));
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = KeyMaterial::from_jwk(text, Some(Algorithm::Rs256));
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = verifier().verify(text);
            }
        }
        _ => {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"at+jwt"}"#),
                URL_SAFE_NO_PAD.encode(rest)
            );
            let mut mac = Hmac::<Sha256>::new_from_slice(&SECRET).unwrap();
            mac.update(input.as_bytes());
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
            if let Ok(t) = verifier().verify(&token) {
                // Whatever verified carries the profile's issuer and a tenant.
                assert_eq!(t.issuer, "https://idp.example");
                assert!(t.tenant.is_some());
            }
        }
    }
});
