#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! DPoP (RFC 9449): the RFC's published proofs, thumbprint and `ath` as vectors; every
//! check of §4.3 failing on its own; replay; nonces; bound access tokens issued and
//! refused as `Bearer`; an identity provider's bound token.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use p256::ecdsa::signature::Signer as _;
use portcullis_core::{KeyId, Provider, UnixTime};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, DpopConfig, DpopReplayStore, DpopRequest, DpopVerifier, IdpVerifier, IssuerProfile,
    KeyMaterial, KeyState, MemoryDpopReplayStore, NoExtra, SigningKeys, TokenError,
};
use serde_json::{Value, json};

// RFC 9449 (https://www.rfc-editor.org/rfc/rfc9449), published examples.
/// Figure 2 (decoded in Figure 4): a proof for `POST https://server.example.com/token`.
const FIGURE_2_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// Figure 13 (decoded in Figure 14): a proof for `GET
/// https://resource.example.org/protectedresource` with the access token below.
const FIGURE_13_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
/// Figure 13's access token.
const FIGURE_13_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
/// Figures 8 and 9: the `cnf.jkt` of the examples' key (its RFC 7638 thumbprint).
const FIGURE_9_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

const HTU: &str = "https://api.example.test/orders";

fn verifier_at(secs: u64) -> (DpopVerifier, ManualClock) {
    let clock = ManualClock::at(UnixTime::from_secs(secs));
    let v = DpopVerifier::new(
        DpopConfig::default(),
        Arc::new(MemoryDpopReplayStore::new()),
        clock.provider(1),
    );
    (v, clock)
}

#[tokio::test]
async fn rfc9449_figure_2_proof_verifies_and_names_the_published_thumbprint() {
    let (v, _) = verifier_at(1_562_262_617);
    let req = DpopRequest::new("POST", "https://server.example.com/token");
    let proof = v.verify(FIGURE_2_PROOF, &req).await.unwrap();
    assert_eq!(proof.jkt.as_str(), FIGURE_9_JKT);
    assert_eq!(proof.alg, Algorithm::Es256);
    assert_eq!(proof.jti, "-BwC3ESc6acc2lTc");
    assert_eq!(proof.issued_at, UnixTime::from_secs(1_562_262_616));
    // Once only.
    assert!(matches!(
        v.verify(FIGURE_2_PROOF, &req).await,
        Err(TokenError::DpopProofReplayed)
    ));
    // Another method, another URL, too late.
    let (v, _) = verifier_at(1_562_262_617);
    let get = DpopRequest::new("GET", "https://server.example.com/token");
    assert!(matches!(
        v.verify(FIGURE_2_PROOF, &get).await,
        Err(TokenError::DpopProofInvalid { .. })
    ));
    let other = DpopRequest::new("POST", "https://server.example.com/other");
    assert!(matches!(
        v.verify(FIGURE_2_PROOF, &other).await,
        Err(TokenError::DpopProofInvalid { .. })
    ));
    let (late, _) = verifier_at(1_562_262_616 + 66);
    assert!(matches!(
        late.verify(FIGURE_2_PROOF, &req).await,
        Err(TokenError::DpopProofInvalid { reason }) if reason.contains("too old")
    ));
    let (edge, _) = verifier_at(1_562_262_616 + 65);
    edge.verify(FIGURE_2_PROOF, &req).await.unwrap();
}

#[tokio::test]
async fn rfc9449_figure_13_proof_verifies_with_its_access_token() {
    let req = DpopRequest::new("GET", "https://resource.example.org/protectedresource");
    let (v, _) = verifier_at(1_562_262_619);
    let proof = v
        .verify_for_token(FIGURE_13_PROOF, &req, FIGURE_13_TOKEN, FIGURE_9_JKT)
        .await
        .unwrap();
    assert_eq!(proof.jti, "e1j3V_bKic8-LAEB");
    // ath names Figure 13's token and no other.
    let (v, _) = verifier_at(1_562_262_619);
    assert!(matches!(
        v.verify_for_token(FIGURE_13_PROOF, &req, "another-token", FIGURE_9_JKT)
            .await,
        Err(TokenError::DpopProofInvalid { reason }) if reason.contains("ath")
    ));
    // The token is bound to another key.
    let (v, _) = verifier_at(1_562_262_619);
    assert!(matches!(
        v.verify_for_token(FIGURE_13_PROOF, &req, FIGURE_13_TOKEN, "not-the-jkt")
            .await,
        Err(TokenError::DpopKeyMismatch)
    ));
    // A proof with `ath` but no token is refused.
    let (v, _) = verifier_at(1_562_262_619);
    assert!(matches!(
        v.verify(FIGURE_13_PROOF, &req).await,
        Err(TokenError::DpopProofInvalid { .. })
    ));
}

/// A client's proof key (P-256) and how it signs proofs.
struct Client {
    key: p256::ecdsa::SigningKey,
}

impl Client {
    fn new(seed: u8) -> Self {
        let mut bytes = [seed; 32];
        bytes[0] = 1;
        Self {
            key: p256::ecdsa::SigningKey::from_bytes(&bytes.into()).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        })
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: p256::ecdsa::Signature = self.key.sign(input.as_bytes());
        let sig = sig.normalize_s().unwrap_or(sig);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()})
    }

    fn claims(&self, jti: &str, iat: u64) -> Value {
        json!({"jti": jti, "htm": "GET", "htu": HTU, "iat": iat})
    }

    fn proof(&self, jti: &str, iat: u64) -> String {
        self.sign(&self.header(), &self.claims(jti, iat))
    }

    fn jkt(&self, v: &DpopVerifier, now: u64) -> KeyId {
        let _ = now;
        futures::executor::block_on(v.verify(
            &self.proof(&format!("jkt-{}", rand_suffix()), 1_700_000_000),
            &DpopRequest::new("GET", HTU),
        ))
        .unwrap()
        .jkt
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn refused(v: &DpopVerifier, proof: &str) -> TokenError {
    v.verify(proof, &DpopRequest::new("GET", HTU))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn each_check_of_section_4_3_refuses_on_its_own() {
    let (v, _) = verifier_at(1_700_000_000);
    let c = Client::new(7);
    let now = 1_700_000_000;
    // The baseline verifies: every case below changes one thing.
    v.verify(&c.proof("ok", now), &DpopRequest::new("GET", HTU))
        .await
        .unwrap();
    let invalid = |e: TokenError, what: &str| match e {
        TokenError::DpopProofInvalid { reason } => {
            assert!(reason.contains(what), "{reason:?} should mention {what:?}");
        }
        other => panic!("{other:?} for {what}"),
    };
    let claims = c.claims("a", now);
    // typ
    let mut h = c.header();
    h["typ"] = json!("JWT");
    invalid(refused(&v, &c.sign(&h, &claims)).await, "typ");
    h.as_object_mut().unwrap().remove("typ");
    invalid(refused(&v, &c.sign(&h, &claims)).await, "typ");
    // alg: none, HS256 (with a symmetric jwk), one not allowed, one not matching the key
    for alg in ["none", "HS256", "RS512", "ES384"] {
        let mut h = c.header();
        h["alg"] = json!(alg);
        let e = refused(&v, &c.sign(&h, &claims)).await;
        assert!(
            matches!(e, TokenError::DpopProofInvalid { .. }),
            "{alg}: {e:?}"
        );
    }
    let mut h = c.header();
    h["alg"] = json!("HS256");
    h["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"});
    invalid(refused(&v, &c.sign(&h, &claims)).await, "alg");
    // jwk: missing, private, not an object, another key's
    let mut h = c.header();
    h.as_object_mut().unwrap().remove("jwk");
    invalid(refused(&v, &c.sign(&h, &claims)).await, "jwk");
    let mut h = c.header();
    h["jwk"]["d"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
    invalid(refused(&v, &c.sign(&h, &claims)).await, "private");
    let mut h = c.header();
    h["jwk"] = json!("key");
    invalid(refused(&v, &c.sign(&h, &claims)).await, "jwk");
    let mut h = c.header();
    h["jwk"] = Client::new(9).jwk();
    invalid(refused(&v, &c.sign(&h, &claims)).await, "signature");
    // crit is refused
    let mut h = c.header();
    h["crit"] = json!(["exp"]);
    h["exp"] = json!(1);
    invalid(refused(&v, &c.sign(&h, &claims)).await, "crit");
    // claims
    for (name, bad) in [
        ("jti", json!(null)),
        ("jti", json!("")),
        ("jti", json!("x".repeat(257))),
        ("htm", json!("POST")),
        ("htm", json!("get")),
        ("htu", json!("https://api.example.test/other")),
        ("htu", json!(null)),
        ("iat", json!(null)),
        ("iat", json!("1700000000")),
        ("iat", json!(now + 6)),
        ("iat", json!(now - 66)),
    ] {
        let mut claims = c.claims(&format!("c-{name}"), now);
        if bad.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = bad.clone();
        }
        let e = refused(&v, &c.sign(&c.header(), &claims)).await;
        assert!(
            matches!(e, TokenError::DpopProofInvalid { .. }),
            "{name} = {bad}: {e:?}"
        );
    }
    // The edges that pass: 5 s ahead, 65 s old, a kid (ignored), the query of the URL.
    for (i, iat) in [now + 5, now - 65].into_iter().enumerate() {
        v.verify(
            &c.proof(&format!("edge-{i}"), iat),
            &DpopRequest::new("GET", HTU),
        )
        .await
        .unwrap();
    }
    let mut h = c.header();
    h["jwk"]["kid"] = json!("the client's own name");
    let p = v
        .verify(
            &c.sign(&h, &c.claims("kid", now)),
            &DpopRequest::new("GET", HTU),
        )
        .await
        .unwrap();
    assert_eq!(p.jkt, c.jkt(&v, now));
    v.verify(
        &c.proof("q", now),
        &DpopRequest::new("GET", &format!("{HTU}?page=2")),
    )
    .await
    .unwrap();
    // A flipped signature bit, a truncated proof, an oversized one.
    let good = c.proof("sig", now);
    let mut bytes = good.clone().into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    invalid(
        refused(&v, &String::from_utf8(bytes).unwrap()).await,
        "signature",
    );
    invalid(
        refused(&v, &good[..good.rfind('.').unwrap()]).await,
        "compact",
    );
    let mut big = c.claims("big", now);
    big["pad"] = json!("x".repeat(9000));
    invalid(refused(&v, &c.sign(&c.header(), &big)).await, "8 KiB");
}

/// Either S form verifies (RFC 9449's own examples are high-S, as are about half of all
/// browser WebCrypto signatures), and the other form of a seen proof is a replay: the
/// replay key is the proof key and `jti`, not the proof's string.
#[tokio::test]
async fn the_other_s_form_of_a_seen_proof_is_a_replay() {
    let (v, _) = verifier_at(1_700_000_000);
    let c = Client::new(3);
    let proof = c.proof("twin", 1_700_000_000);
    let (input, sig) = proof.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    let twin = format!("{input}.{}", URL_SAFE_NO_PAD.encode(twin.to_bytes()));
    let req = DpopRequest::new("GET", HTU);
    v.verify(&twin, &req).await.unwrap();
    assert!(matches!(
        v.verify(&proof, &req).await,
        Err(TokenError::DpopProofReplayed)
    ));
}

#[tokio::test]
async fn the_server_nonce_is_required_when_given() {
    let (v, _) = verifier_at(1_700_000_000);
    let c = Client::new(4);
    let req = DpopRequest::new("GET", HTU).with_nonce("n-1");
    assert!(matches!(
        v.verify(&c.proof("n0", 1_700_000_000), &req).await,
        Err(TokenError::DpopNonceRequired)
    ));
    let mut claims = c.claims("n1", 1_700_000_000);
    claims["nonce"] = json!("n-0");
    assert!(matches!(
        v.verify(&c.sign(&c.header(), &claims), &req).await,
        Err(TokenError::DpopNonceRequired)
    ));
    claims["nonce"] = json!("n-1");
    v.verify(&c.sign(&c.header(), &claims), &req).await.unwrap();
}

#[tokio::test]
async fn replay_is_per_key_and_ends_with_the_window() {
    let store = Arc::new(MemoryDpopReplayStore::new());
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let v = DpopVerifier::new(DpopConfig::default(), store.clone(), clock.provider(1));
    let (a, b) = (Client::new(5), Client::new(6));
    let req = DpopRequest::new("GET", HTU);
    v.verify(&a.proof("same", 1_700_000_000), &req)
        .await
        .unwrap();
    // Another key may use the same jti.
    v.verify(&b.proof("same", 1_700_000_000), &req)
        .await
        .unwrap();
    assert!(matches!(
        v.verify(&a.proof("same", 1_700_000_000), &req).await,
        Err(TokenError::DpopProofReplayed)
    ));
    // A refused proof takes no place: its jti is still free afterwards.
    let wrong = DpopRequest::new("POST", HTU);
    assert!(
        v.verify(&a.proof("free", 1_700_000_000), &wrong)
            .await
            .is_err()
    );
    v.verify(&a.proof("free", 1_700_000_000), &req)
        .await
        .unwrap();
    // The store forgets an entry once its window has passed (the proof is then too old).
    let id = [7u8; 32];
    let t = UnixTime::from_secs(1_700_000_000);
    assert!(
        store
            .check_and_insert(&id, t.saturating_add(Duration::from_secs(70)), t)
            .await
            .unwrap()
    );
    assert!(
        !store
            .check_and_insert(&id, t, t.saturating_add(Duration::from_secs(69)))
            .await
            .unwrap()
    );
    assert!(
        store
            .check_and_insert(&id, t, t.saturating_add(Duration::from_secs(70)))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_full_memory_store_fails_closed() {
    let store = MemoryDpopReplayStore::with_capacity(2);
    let t = UnixTime::from_secs(1_000);
    let later = t.saturating_add(Duration::from_secs(60));
    assert!(store.check_and_insert(&[1; 32], later, t).await.unwrap());
    assert!(store.check_and_insert(&[2; 32], later, t).await.unwrap());
    assert!(matches!(
        store.check_and_insert(&[3; 32], later, t).await,
        Err(TokenError::Backend(_))
    ));
    // Expired entries make room.
    assert!(
        store
            .check_and_insert(
                &[3; 32],
                later.saturating_add(Duration::from_secs(60)),
                later
            )
            .await
            .unwrap()
    );
}

#[test]
fn config_bounds() {
    assert!(DpopConfig::default().algorithms(&[]).is_err());
    assert!(
        DpopConfig::default()
            .algorithms(&[Algorithm::Hs256])
            .is_err()
    );
    assert!(
        DpopConfig::default()
            .algorithms(&[Algorithm::EdDsa])
            .is_ok()
    );
    let s = Duration::from_secs;
    assert!(DpopConfig::default().window(s(0), s(0)).is_err());
    assert!(DpopConfig::default().window(s(601), s(0)).is_err());
    assert!(DpopConfig::default().window(s(600), s(61)).is_err());
    assert!(DpopConfig::default().window(s(1), s(60)).is_ok());
}

#[tokio::test]
async fn only_the_configured_algorithms_are_accepted() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let v = DpopVerifier::new(
        DpopConfig::default()
            .algorithms(&[Algorithm::EdDsa])
            .unwrap(),
        Arc::new(MemoryDpopReplayStore::new()),
        clock.provider(1),
    );
    let e = refused(&v, &Client::new(8).proof("x", 1_700_000_000)).await;
    assert!(matches!(e, TokenError::DpopProofInvalid { reason } if reason.contains("alg")));
}

#[tokio::test]
async fn bound_access_tokens_need_their_proof() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let svc = service(ring(Algorithm::EdDsa), &clock);
    let dpop = DpopVerifier::new(
        DpopConfig::default(),
        Arc::new(MemoryDpopReplayStore::new()),
        clock.provider(2),
    );
    let c = Client::new(11);
    let jkt = c.jkt(&dpop, 1_700_000_000);
    let issued = svc
        .issue_access_dpop(&tenant(), &alice(), None, &NoExtra {}, &jkt)
        .unwrap();
    // As Bearer: refused.
    assert!(matches!(
        svc.verify_access::<NoExtra>(&issued.token).await,
        Err(TokenError::DpopBoundTokenAsBearer)
    ));
    // With its proof (ath = the token's hash): verified, cnf.jkt carried.
    let ath = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(
        issued.token.as_bytes(),
    ));
    let mut claims = c.claims("use-1", 1_700_000_000);
    claims["ath"] = json!(ath);
    let proof = c.sign(&c.header(), &claims);
    let req = DpopRequest::new("GET", HTU);
    let (verified, p) = svc
        .verify_access_dpop::<NoExtra>(&issued.token, &proof, &req, &dpop)
        .await
        .unwrap();
    assert_eq!(verified.claims.cnf.unwrap().jkt, jkt.as_str());
    assert_eq!(p.jkt, jkt);
    // The same proof again, or another client's proof: refused.
    assert!(matches!(
        svc.verify_access_dpop::<NoExtra>(&issued.token, &proof, &req, &dpop)
            .await,
        Err(TokenError::DpopProofReplayed)
    ));
    let thief = Client::new(12);
    let mut claims = thief.claims("use-2", 1_700_000_000);
    claims["ath"] = json!(ath);
    assert!(matches!(
        svc.verify_access_dpop::<NoExtra>(
            &issued.token,
            &thief.sign(&thief.header(), &claims),
            &req,
            &dpop
        )
        .await,
        Err(TokenError::DpopKeyMismatch)
    ));
    // A proof without ath: refused.
    assert!(matches!(
        svc.verify_access_dpop::<NoExtra>(
            &issued.token,
            &c.proof("use-3", 1_700_000_000),
            &req,
            &dpop
        )
        .await,
        Err(TokenError::DpopProofInvalid { .. })
    ));
    // An unbound token presented with a proof: refused; as Bearer: fine.
    let plain = svc
        .issue_access(&tenant(), &alice(), None, &NoExtra {})
        .unwrap();
    let mut claims = c.claims("use-4", 1_700_000_000);
    claims["ath"] = json!(
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(
            plain.token.as_bytes()
        ))
    );
    assert!(matches!(
        svc.verify_access_dpop::<NoExtra>(&plain.token, &c.sign(&c.header(), &claims), &req, &dpop)
            .await,
        Err(TokenError::DpopProofInvalid { reason }) if reason.contains("not DPoP-bound")
    ));
    svc.verify_access::<NoExtra>(&plain.token).await.unwrap();
    // Extra claims cannot smuggle a cnf into an unbound token.
    let smuggled = svc.issue_access(&tenant(), &alice(), None, &json!({"cnf": {"jkt": "x"}}));
    assert!(matches!(smuggled, Err(TokenError::InvalidConfig { .. })));
}

#[tokio::test]
async fn an_identity_providers_bound_token_needs_its_proof() {
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let idp_key =
        KeyMaterial::generate(Algorithm::Es256, &portcullis_testkit::SeededRandom::new(3)).unwrap();
    let kid = idp_key.kid().clone();
    let ring = SigningKeys::new();
    ring.insert(idp_key, KeyState::Active).unwrap();
    let ring = Arc::new(ring);
    let dpop = DpopVerifier::new(
        DpopConfig::default(),
        Arc::new(MemoryDpopReplayStore::new()),
        clock.provider(2),
    );
    let c = Client::new(13);
    let jkt = c.jkt(&dpop, 1_700_000_000);
    let svc = service(Arc::clone(&ring), &clock);
    // Any ES256 token with cnf.jkt; our service signs one with the ring's key.
    let issued = svc
        .issue_access_dpop(&tenant(), &alice(), None, &NoExtra {}, &jkt)
        .unwrap();
    let profile = IssuerProfile::new(ISSUER, &[AUDIENCE], &[Algorithm::Es256], ring)
        .unwrap()
        .typ(portcullis_tokens::TypHeader::Any);
    let v = IdpVerifier::new(vec![profile], clock.provider(4)).unwrap();
    assert!(matches!(
        v.verify(&issued.token),
        Err(TokenError::DpopBoundTokenAsBearer)
    ));
    let mut claims = c.claims("idp-1", 1_700_000_000);
    claims["ath"] = json!(
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(
            issued.token.as_bytes()
        ))
    );
    let (token, proof) = v
        .verify_dpop_async(
            &issued.token,
            &c.sign(&c.header(), &claims),
            &DpopRequest::new("GET", HTU),
            &dpop,
        )
        .await
        .unwrap();
    assert_eq!(token.dpop_jkt(), Some(jkt.as_str()));
    assert_eq!(token.kid, kid);
    assert_eq!(proof.jkt, jkt);
    let _ = Provider::system();
}

#[tokio::test]
async fn issued_nonces_rotate_by_window_and_are_shared_by_replicas() {
    use portcullis_core::SecretArray;
    use portcullis_tokens::DpopNonces;
    let clock = ManualClock::at(UnixTime::from_secs(1_700_000_000));
    let nonces = DpopNonces::new(
        SecretArray::new([1; 32]),
        Duration::from_secs(60),
        clock.provider(1),
    )
    .unwrap();
    let replica = DpopNonces::new(
        SecretArray::new([1; 32]),
        Duration::from_secs(60),
        clock.provider(2),
    )
    .unwrap();
    let other_key = DpopNonces::new(
        SecretArray::new([2; 32]),
        Duration::from_secs(60),
        clock.provider(3),
    )
    .unwrap();
    let n = nonces.current();
    assert_eq!(n, replica.current());
    assert_ne!(n, other_key.current());
    assert!(nonces.is_valid(&n) && replica.is_valid(&n) && !other_key.is_valid(&n));
    assert!(!nonces.is_valid("") && !nonces.is_valid(&n[1..]));
    assert!(!format!("{nonces:?}").contains("[1"));
    // The proof carrying it verifies; one window later still; two windows later not.
    let v = DpopVerifier::new(
        DpopConfig::default(),
        Arc::new(MemoryDpopReplayStore::new()),
        clock.provider(4),
    );
    let c = Client::new(21);
    let proof_with = |jti: &str, nonce: &str| {
        let mut claims = c.claims(jti, clock_secs(&clock));
        claims["nonce"] = json!(nonce);
        c.sign(&c.header(), &claims)
    };
    let req = DpopRequest::new("GET", HTU).with_nonces(&nonces);
    v.verify(&proof_with("n1", &n), &req).await.unwrap();
    clock.advance(Duration::from_secs(60));
    assert_ne!(nonces.current(), n);
    v.verify(&proof_with("n2", &n), &req).await.unwrap();
    clock.advance(Duration::from_secs(60));
    assert!(!nonces.is_valid(&n));
    assert!(matches!(
        v.verify(&proof_with("n3", &n), &req).await,
        Err(TokenError::DpopNonceRequired)
    ));
    assert!(matches!(
        v.verify(&c.proof("n4", clock_secs(&clock)), &req).await,
        Err(TokenError::DpopNonceRequired)
    ));
    v.verify(&proof_with("n5", &nonces.current()), &req)
        .await
        .unwrap();
    assert!(
        DpopNonces::new(
            SecretArray::new([1; 32]),
            Duration::from_secs(9),
            clock.provider(5)
        )
        .is_err()
    );
    assert!(
        DpopNonces::new(
            SecretArray::new([1; 32]),
            Duration::from_secs(3601),
            clock.provider(5)
        )
        .is_err()
    );
}

fn clock_secs(clock: &ManualClock) -> u64 {
    portcullis_core::Clock::now(clock).as_secs()
}

#[tokio::test]
async fn a_proof_of_exactly_8_kib_is_read_and_one_byte_more_is_refused() {
    let (v, _) = verifier_at(1_700_000_000);
    let c = Client::new(22);
    // base64url lengths move in steps, so pad both the header and the payload; the
    // signature is always 86 characters, so only the one that fits is signed.
    let sized = |jti: &str, len: usize| {
        (0..4)
            .flat_map(|h| (0..1000).map(move |pad| (h, pad)))
            .find_map(|(h, pad)| {
                let mut header = c.header();
                header["x"] = json!("y".repeat(h));
                let mut claims = c.claims(jti, 1_700_000_000);
                claims["pad"] = json!("x".repeat(5600 + pad));
                let n = URL_SAFE_NO_PAD.encode(header.to_string()).len()
                    + URL_SAFE_NO_PAD.encode(claims.to_string()).len()
                    + 2
                    + 86;
                (n == len).then(|| c.sign(&header, &claims))
            })
            .unwrap()
    };
    let req = DpopRequest::new("GET", HTU);
    let max = sized("max", 8192);
    assert_eq!(max.len(), 8192);
    v.verify(&max, &req).await.unwrap();
    let over = sized("over", 8193);
    assert!(matches!(
        v.verify(&over, &req).await,
        Err(TokenError::DpopProofInvalid { reason }) if reason.contains("8 KiB")
    ));
}

#[test]
fn window_bounds_are_inclusive() {
    let s = Duration::from_secs;
    assert!(DpopConfig::default().window(s(600), s(60)).is_ok());
    assert!(DpopConfig::default().window(s(1), s(0)).is_ok());
}

#[tokio::test]
async fn a_replay_late_in_the_window_is_still_refused() {
    let (v, clock) = verifier_at(1_700_000_000);
    let c = Client::new(23);
    // Issued 5 s ahead (the most the leeway allows): acceptable until iat + 65 s.
    let p = c.proof("late", 1_700_000_005);
    let req = DpopRequest::new("GET", HTU);
    v.verify(&p, &req).await.unwrap();
    clock.advance(Duration::from_secs(69));
    assert!(matches!(
        v.verify(&p, &req).await,
        Err(TokenError::DpopProofReplayed)
    ));
    clock.advance(Duration::from_secs(2));
    assert!(matches!(
        v.verify(&p, &req).await,
        Err(TokenError::DpopProofInvalid { reason }) if reason.contains("too old")
    ));
}
