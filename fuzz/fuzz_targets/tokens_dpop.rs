//! DPoP proofs and fetched key documents never panic: both are untrusted (a proof comes
//! from any client, a discovery document or JWKS from the network).
//!
//! The first byte picks the shape:
//! - 0: the bytes as a whole proof (`DpopVerifier::verify` and `verify_for_token`);
//! - 1: the bytes as a proof's JOSE header, with a fixed valid payload and a garbage
//!   signature (the embedded-`jwk` import and the header checks);
//! - 2: the bytes as a proof's payload, with a fixed header holding a real P-256 key and a
//!   garbage signature;
//! - 3: the bytes as the discovery document, then as the JWKS, served to a `RemoteJwks`
//!   by an in-memory client (the document parsing and the cache's import).
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use portcullis_core::{FixedClock, Provider, UnixTime};
use portcullis_tokens::{
    DpopConfig, DpopRequest, DpopVerifier, HttpClient, HttpError, HttpRequest, HttpResponse,
    MemoryDpopReplayStore, RemoteJwks, RemoteJwksConfig,
};

const NOW: u64 = 1_700_000_000;
const HTU: &str = "https://api.example/orders";
const JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#;

fn provider() -> Provider {
    Provider::from_parts(
        Arc::new(FixedClock(UnixTime::from_secs(NOW))),
        Arc::new(portcullis_core::OsRandom),
    )
}

fn verifier() -> &'static DpopVerifier {
    static V: OnceLock<DpopVerifier> = OnceLock::new();
    V.get_or_init(|| {
        DpopVerifier::new(
            DpopConfig::default(),
            Arc::new(MemoryDpopReplayStore::with_capacity(10_000)),
            provider(),
        )
    })
}

/// Polls `f` once: every future here completes without waiting (in-memory stores).
fn now<T>(f: impl Future<Output = T>) -> Option<T> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[derive(Debug)]
struct Serve(Vec<u8>);

#[async_trait::async_trait]
impl HttpClient for Serve {
    async fn get(&self, request: HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        let _ = request.url;
        Ok(HttpResponse::new(200, self.0.clone()).with_cache_control("max-age=60"))
    }
}

fn check(proof: &str) {
    let req = DpopRequest::new("GET", HTU);
    let _ = now(verifier().verify(proof, &req));
    let _ = now(verifier().verify_for_token(proof, &req, "token", "jkt"));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let payload = format!(r#"{{"jti":"j","htm":"GET","htu":"{HTU}","iat":{NOW}}}"#);
    match mode % 4 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                check(text);
            }
        }
        1 => check(&format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(rest),
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        )),
        2 => check(&format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{JWK}}}"#)),
            URL_SAFE_NO_PAD.encode(rest),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        )),
        _ => {
            let client = Arc::new(Serve(rest.to_vec()));
            if let Ok(jwks) = RemoteJwks::discover(
                "https://idp.example",
                client.clone(),
                provider(),
                RemoteJwksConfig::default(),
            ) {
                let _ = now(jwks.refresh());
            }
            if let Ok(jwks) = RemoteJwks::from_jwks_uri(
                "https://idp.example/jwks",
                client,
                provider(),
                RemoteJwksConfig::default(),
            ) {
                if now(jwks.refresh()).is_some_and(|r| r.is_ok()) {
                    // What was imported is served, and only verify-only keys.
                    let keys = jwks.cached().unwrap();
                    let _ = keys.states();
                }
            }
        }
    }
});
