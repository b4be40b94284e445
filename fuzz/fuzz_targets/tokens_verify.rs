//! Arbitrary bytes presented as an access token, a refresh token or an API key never panic.
//!
//! Three shapes, chosen by the first byte, so the fuzzer also reaches the code behind the
//! signature check:
//! - 0: the bytes as a token (never verifies);
//! - 1: a valid token with bytes overwritten at fuzzer-chosen positions (if it still
//!   verifies, its claims are unchanged);
//! - 2: the bytes as the claims of an HS256 token correctly signed with the ring's key
//!   (exercises claim decoding and the claim policy on hostile JSON).
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use portcullis_core::{
    ActorId, FixedClock, KeyId, Provider, SecretArray, SecretBytes, TenantId, UnixTime,
};
use portcullis_tokens::api_key_format as api_format;
use portcullis_tokens::refresh_format as rt_format;
use portcullis_tokens::{
    KeyMaterial, SigningKeys, KeyState, NoExtra, TokenConfig, TokenService, TokenStores, TokenType,
    danger,
};
use sha2::Sha256;

const HS_SECRET: [u8; 32] = [7; 32];

struct Fixture {
    svc: TokenService,
    valid: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let ring = SigningKeys::new();
        let hs = KeyMaterial::hs256(
            KeyId::new("hs-1").unwrap(),
            &SecretBytes::new(HS_SECRET.to_vec()),
        );
        ring.insert(hs.unwrap(), KeyState::Active).unwrap();
        // Seeds whose thumbprints are valid key ids.
        let ed =
            (1u8..).find_map(|b| KeyMaterial::ed25519_from_seed(&SecretArray::new([b; 32])).ok());
        ring.insert(ed.unwrap(), KeyState::VerifyOnly).unwrap();
        let es =
            (1u8..).find_map(|b| KeyMaterial::es256_from_scalar(&SecretArray::new([b; 32])).ok());
        ring.insert(es.unwrap(), KeyState::Standby).unwrap();
        let provider = Provider::with_clock(Arc::new(FixedClock(UnixTime::from_secs(1_700_000_000))));
        let svc = TokenService::new(
            Arc::new(ring),
            TokenConfig::new("iss", "aud").unwrap(),
            TokenStores::in_memory(&provider),
            provider,
        );
        let tenant: TenantId = "acme".parse().unwrap();
        let sub: ActorId = "alice".parse().unwrap();
        let valid = svc
            .issue_access(&tenant, &sub, None, &NoExtra {})
            .unwrap()
            .token;
        Fixture { svc, valid }
    })
}

fn hs256_over(claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"hs-1"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&HS_SECRET).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            for typ in [TokenType::Access, TokenType::Scoped, TokenType::Ticket] {
                assert!(danger::verify_signature_and_claims_only::<NoExtra>(&f.svc, &text, typ).is_err());
            }
            let tenant: TenantId = "acme".parse().unwrap();
            assert!(rt_format::token_hash(&SecretArray::new([9; 32]), &tenant, &text).is_err());
            let _ = api_format::parse("pc", &text);
        }
        1 => {
            let mut bytes = f.valid.clone().into_bytes();
            for pair in rest.chunks_exact(3) {
                let pos = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % bytes.len();
                bytes[pos] = pair[2];
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(v) = danger::verify_signature_and_claims_only::<NoExtra>(&f.svc, &text, TokenType::Access) {
                let original = danger::verify_signature_and_claims_only::<NoExtra>(&f.svc, &f.valid, TokenType::Access).unwrap();
                assert_eq!(v.claims, original.claims);
            }
        }
        _ => {
            let token = hs256_over(rest);
            for typ in [TokenType::Access, TokenType::Scoped, TokenType::Ticket] {
                let _ = danger::verify_signature_and_claims_only::<NoExtra>(&f.svc, &token, typ);
            }
        }
    }
});
