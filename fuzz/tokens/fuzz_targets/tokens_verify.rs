//! Arbitrary bytes presented as an access token, a refresh token or an API key never panic,
//! and never verify.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use portcullis_core::{FixedClock, KeyId, OsRandom, SecretArray, SecretBytes, TenantId, UnixTime};
use portcullis_tokens::apikey::format as api_format;
use portcullis_tokens::refresh::format as rt_format;
use portcullis_tokens::{
    KeyMaterial, KeyRing, KeyState, NoExtra, TokenConfig, TokenService, TokenType,
};

fn service() -> &'static TokenService {
    static SVC: OnceLock<TokenService> = OnceLock::new();
    SVC.get_or_init(|| {
        let ring = KeyRing::new();
        let hs = KeyMaterial::hs256(KeyId::new("hs-1").unwrap(), &SecretBytes::new(vec![7; 32]));
        ring.insert(hs.unwrap(), KeyState::VerifyOnly).unwrap();
        // Seeds whose thumbprints are valid key ids.
        let ed = (1u8..).find_map(|b| KeyMaterial::ed25519_from_seed(&SecretArray::new([b; 32])).ok());
        ring.insert(ed.unwrap(), KeyState::VerifyOnly).unwrap();
        let es = (1u8..).find_map(|b| KeyMaterial::es256_from_scalar(&SecretArray::new([b; 32])).ok());
        ring.insert(es.unwrap(), KeyState::Active).unwrap();
        TokenService::new(
            Arc::new(ring),
            TokenConfig::new("iss", "aud").unwrap(),
            Arc::new(FixedClock(UnixTime::from_secs(1_700_000_000))),
            Arc::new(OsRandom),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let svc = service();
    for typ in [TokenType::Access, TokenType::Scoped, TokenType::Ticket] {
        assert!(svc.verify_typed::<NoExtra>(&text, typ).is_err());
    }
    let tenant: TenantId = "acme".parse().unwrap();
    let key = SecretArray::new([9; 32]);
    assert!(rt_format::token_hash(&key, &tenant, &text).is_err());
    let _ = api_format::parse("pc", &text);
});
