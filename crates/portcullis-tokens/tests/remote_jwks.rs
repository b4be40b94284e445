#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `RemoteJwks` against a scripted in-memory `HttpClient` and a `ManualClock`, so every
//! fetch is counted and every deadline is exact: OpenID discovery (the document's issuer
//! must equal the configured one, its `jwks_uri` must pass the URL policy), the URL policy
//! of `discover` and `from_jwks_uri`, `Cache-Control` freshness within the configured
//! bounds, `ETag` revalidation, the unknown-`kid` refetch and its cooldown, stale serving
//! through an outage up to `max_staleness` then failing closed (also in the synchronous
//! `IdpVerifier::verify`, which never fetches), single-flight fetches under concurrency,
//! `refresh`/`cached`, keys a JWKS may hold but must never be used (symmetric, private,
//! unsupported), and `IssuerProfile::remote` refusing a set discovered from another
//! issuer. Tokens are signed with real Ed25519 and P-256 keys.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use portcullis_core::{KeyId, Provider, SecretArray, UnixTime};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, HttpClient, HttpError, HttpRequest, HttpResponse, IdpToken, IdpVerifier,
    IssuerProfile, KeyMaterial, KeyState, MAX_DOCUMENT_BYTES, RemoteJwks, RemoteJwksConfig,
    SigningKeys, TokenError,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example.com";
const DISCOVERY: &str = "https://idp.example.com/.well-known/openid-configuration";
const JWKS_URI: &str = "https://keys.idp.example.com/jwks.json";
const AUDIENCE: &str = "https://api.example.com";
const START: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------
// The scripted HTTP client.

type Reply = Result<HttpResponse, HttpError>;
/// Answers one request, given the `If-None-Match` it carried.
type Responder = Arc<dyn Fn(Option<&str>) -> Reply + Send + Sync>;

/// One request as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    url: String,
    if_none_match: Option<String>,
    max_body: usize,
}

#[derive(Default)]
struct Route {
    /// Answered first, each once, in order.
    once: VecDeque<Responder>,
    /// Answers every request once `once` is empty.
    always: Option<Responder>,
}

/// URL -> responses; records every request. A request to an unscripted URL panics.
#[derive(Default)]
struct Script {
    routes: Mutex<HashMap<String, Route>>,
    log: Mutex<Vec<Seen>>,
    delay: Mutex<Option<Duration>>,
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("requests", &self.log.lock().unwrap().len())
            .finish_non_exhaustive()
    }
}

impl Script {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Answers the next unanswered request to `url` with `reply` (before `always`).
    fn once(&self, url: &str, reply: Reply) {
        let mut routes = self.routes.lock().unwrap();
        let route = routes.entry(url.to_owned()).or_default();
        route.once.push_back(Arc::new(move |_| reply.clone()));
    }

    /// Answers every request to `url` with `reply` once the queued `once` replies are
    /// used up.
    fn always(&self, url: &str, reply: Reply) {
        self.respond_with(url, move |_| reply.clone());
    }

    /// Answers every request to `url` with `f(If-None-Match)` once the queued `once`
    /// replies are used up.
    fn respond_with(&self, url: &str, f: impl Fn(Option<&str>) -> Reply + Send + Sync + 'static) {
        let mut routes = self.routes.lock().unwrap();
        let route = routes.entry(url.to_owned()).or_default();
        route.always = Some(Arc::new(f));
    }

    /// Every response is delayed by `by` (real time, on the runtime's timer).
    fn delay(&self, by: Duration) {
        *self.delay.lock().unwrap() = Some(by);
    }

    fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, url: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.url == url)
            .count()
    }
}

#[async_trait]
impl HttpClient for Script {
    async fn get(&self, request: HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        let url = request.url.as_str().to_owned();
        let if_none_match = request.if_none_match.map(str::to_owned);
        self.log.lock().unwrap().push(Seen {
            url: url.clone(),
            if_none_match: if_none_match.clone(),
            max_body: request.max_body,
        });
        let responder = {
            let mut routes = self.routes.lock().unwrap();
            let route = routes
                .get_mut(&url)
                .unwrap_or_else(|| panic!("unscripted request to {url}"));
            route
                .once
                .pop_front()
                .or_else(|| route.always.clone())
                .unwrap_or_else(|| panic!("no response left for {url}"))
        };
        let delay = *self.delay.lock().unwrap();
        if let Some(by) = delay {
            tokio::time::sleep(by).await;
        }
        responder(if_none_match.as_deref())
    }
}

fn seen(url: &str, if_none_match: Option<&str>) -> Seen {
    Seen {
        url: url.to_owned(),
        if_none_match: if_none_match.map(str::to_owned),
        max_body: MAX_DOCUMENT_BYTES,
    }
}

fn json_reply(doc: &Value) -> Reply {
    Ok(HttpResponse::new(200, doc.to_string().into_bytes()))
}

fn json_with(doc: &Value, cache_control: &str) -> Reply {
    Ok(HttpResponse::new(200, doc.to_string().into_bytes()).with_cache_control(cache_control))
}

fn status(code: u16) -> Reply {
    Ok(HttpResponse::new(code, Vec::new()))
}

fn transport() -> Reply {
    Err(HttpError::Transport {
        reason: "connection refused".to_owned(),
    })
}

fn discovery_doc(issuer: &str, jwks_uri: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "id_token_signing_alg_values_supported": ["EdDSA", "ES256"],
    })
}

// ---------------------------------------------------------------------------------------
// Keys and tokens.

fn b64(v: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// An Ed25519 key of the provider, published under its own kid.
struct EdKey {
    seed: [u8; 32],
    kid: &'static str,
}

impl EdKey {
    const fn new(byte: u8, kid: &'static str) -> Self {
        Self {
            seed: [byte; 32],
            kid,
        }
    }

    /// Its public JWK, as `SigningKeys::jwks` exports it.
    fn jwk(&self) -> Value {
        let key = KeyMaterial::ed25519_from_seed(&SecretArray::new(self.seed))
            .unwrap()
            .with_key_id(KeyId::new(self.kid).unwrap());
        let ring = SigningKeys::new();
        ring.insert(key, KeyState::Active).unwrap();
        let jwks = ring.jwks().unwrap();
        assert_eq!(jwks.keys.len(), 1);
        serde_json::to_value(&jwks.keys[0]).unwrap()
    }

    fn token(&self) -> String {
        self.sign(&claims(ISSUER))
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "EdDSA", "kid": self.kid, "typ": "at+jwt"});
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = ed25519_dalek::SigningKey::from_bytes(&self.seed).sign(input.as_bytes());
        format!("{input}.{}", b64(sig.to_bytes()))
    }
}

/// A P-256 key of the provider (low-S signatures, as the strict default requires).
struct EsKey {
    scalar: [u8; 32],
    kid: &'static str,
}

impl EsKey {
    fn jwk(&self) -> Value {
        let key = KeyMaterial::es256_from_scalar(&SecretArray::new(self.scalar))
            .unwrap()
            .with_key_id(KeyId::new(self.kid).unwrap());
        let ring = SigningKeys::new();
        ring.insert(key, KeyState::Active).unwrap();
        serde_json::to_value(&ring.jwks().unwrap().keys[0]).unwrap()
    }

    fn token(&self) -> String {
        use p256::ecdsa::signature::Signer as _;
        let header = json!({"alg": "ES256", "kid": self.kid, "typ": "at+jwt"});
        let input = format!(
            "{}.{}",
            b64(header.to_string()),
            b64(claims(ISSUER).to_string())
        );
        let key = p256::ecdsa::SigningKey::from_slice(&self.scalar).unwrap();
        let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
        let sig = sig.normalize_s().unwrap_or(sig);
        format!("{input}.{}", b64(sig.to_bytes()))
    }
}

const A: EdKey = EdKey::new(1, "key-a");
const B: EdKey = EdKey::new(2, "key-b");
const C: EdKey = EdKey::new(3, "key-c");
const NEW: EdKey = EdKey::new(4, "new-kid");

fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer, "sub": "user-1", "aud": AUDIENCE,
        "iat": START, "exp": START + 30 * 86_400,
    })
}

fn jwks_doc(keys: &[&EdKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

fn kids(keys: &SigningKeys) -> Vec<String> {
    keys.states()
        .unwrap()
        .into_iter()
        .map(|(kid, _, _)| kid.as_str().to_owned())
        .collect()
}

#[track_caller]
fn assert_unavailable<T: fmt::Debug>(r: Result<T, TokenError>) {
    assert!(
        matches!(r, Err(TokenError::JwksUnavailable { .. })),
        "expected JwksUnavailable, got {r:?}"
    );
}

#[track_caller]
fn assert_invalid_config<T: fmt::Debug>(r: Result<T, TokenError>) {
    assert!(
        matches!(r, Err(TokenError::InvalidConfig { .. })),
        "expected InvalidConfig, got {r:?}"
    );
}

#[track_caller]
fn assert_unknown_key<T: fmt::Debug>(r: Result<T, TokenError>, expected: &str) {
    match r {
        Err(TokenError::UnknownKey { kid }) => assert_eq!(kid, expected),
        other => panic!("expected UnknownKey({expected}), got {other:?}"),
    }
}

#[track_caller]
fn assert_verified(r: Result<IdpToken, TokenError>, kid: &str) {
    let t = r.unwrap_or_else(|e| panic!("expected {kid} to verify, got {e:?}"));
    assert_eq!(t.kid.as_str(), kid);
    assert_eq!(t.subject, "user-1");
}

// ---------------------------------------------------------------------------------------
// The fixture: a clock, a script, a RemoteJwks and a verifier over it.

fn provider(clock: &ManualClock) -> Provider {
    Provider::with_clock(Arc::new(clock.clone()))
}

fn verifier(issuer: &str, jwks: &RemoteJwks, clock: &ManualClock) -> IdpVerifier {
    let profile = IssuerProfile::remote(
        issuer,
        &[AUDIENCE],
        &[Algorithm::EdDsa, Algorithm::Es256, Algorithm::Hs256],
        jwks.clone(),
    )
    .unwrap();
    IdpVerifier::new(vec![profile], provider(clock)).unwrap()
}

struct Idp {
    clock: ManualClock,
    http: Arc<Script>,
    jwks: RemoteJwks,
    verifier: IdpVerifier,
}

impl Idp {
    /// Discovery of [`ISSUER`] (its document always answered, pointing at [`JWKS_URI`]);
    /// the JWKS is left for the test to script.
    fn discovered(config: RemoteJwksConfig) -> Self {
        let clock = ManualClock::at(UnixTime::from_secs(START));
        let http = Script::new();
        http.always(DISCOVERY, json_reply(&discovery_doc(ISSUER, JWKS_URI)));
        let jwks = RemoteJwks::discover(ISSUER, http.clone(), provider(&clock), config).unwrap();
        let verifier = verifier(ISSUER, &jwks, &clock);
        Self {
            clock,
            http,
            jwks,
            verifier,
        }
    }

    /// A fixed [`JWKS_URI`], no discovery.
    fn fixed(config: RemoteJwksConfig) -> Self {
        let clock = ManualClock::at(UnixTime::from_secs(START));
        let http = Script::new();
        let jwks =
            RemoteJwks::from_jwks_uri(JWKS_URI, http.clone(), provider(&clock), config).unwrap();
        let verifier = verifier(ISSUER, &jwks, &clock);
        Self {
            clock,
            http,
            jwks,
            verifier,
        }
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    async fn verify(&self, token: &str) -> Result<IdpToken, TokenError> {
        self.verifier.verify_async(token).await
    }

    fn verify_sync(&self, token: &str) -> Result<IdpToken, TokenError> {
        self.verifier.verify(token)
    }

    fn jwks_requests(&self) -> usize {
        self.http.count(JWKS_URI)
    }

    /// (discovery fetches, JWKS fetches, 304s, failures).
    fn counts(&self) -> (u64, u64, u64, u64) {
        let s = self.jwks.stats();
        (
            s.discovery_fetches,
            s.jwks_fetches,
            s.not_modified,
            s.failures,
        )
    }
}

fn cfg() -> RemoteJwksConfig {
    RemoteJwksConfig::default()
}

// ---------------------------------------------------------------------------------------
// 1. Discovery.

#[tokio::test]
async fn discovery_then_jwks_then_the_cache() {
    let idp = Idp::discovered(cfg());
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
    assert!(
        idp.http.requests().is_empty(),
        "nothing is fetched up front"
    );
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(
        idp.http.requests(),
        [seen(DISCOVERY, None), seen(JWKS_URI, None)]
    );
    assert_eq!(idp.counts(), (1, 1, 0, 0));
    // Cached: neither path fetches again.
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_verified(idp.verify_sync(&A.token()), "key-a");
    assert_eq!(idp.http.requests().len(), 2);
    assert_eq!(idp.jwks.issuer(), Some(ISSUER));
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused_and_no_jwks_is_fetched() {
    let idp = Idp::discovered(cfg());
    idp.http.always(
        DISCOVERY,
        json_reply(&discovery_doc("https://evil.example.com", JWKS_URI)),
    );
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
    assert_unavailable(idp.verify(&A.token()).await);
    assert_eq!(idp.http.requests(), [seen(DISCOVERY, None)]);
    assert_eq!(idp.counts(), (1, 0, 0, 1));
    assert!(idp.jwks.cached().is_none());
    assert_unavailable(idp.verify_sync(&A.token()));
    // `refresh` refuses it the same way.
    assert_unavailable(idp.jwks.refresh().await);
    assert_eq!(
        idp.http.requests(),
        [seen(DISCOVERY, None), seen(DISCOVERY, None)]
    );
    assert_eq!(idp.counts(), (2, 0, 0, 2));
}

#[tokio::test]
async fn every_bad_discovery_answer_fails_closed_without_a_jwks_request() {
    let with_uri = |uri: Value| json_reply(&json!({"issuer": ISSUER, "jwks_uri": uri}));
    let cases: Vec<(&str, Reply)> = vec![
        (
            "404 with a valid body",
            Ok(HttpResponse::new(
                404,
                discovery_doc(ISSUER, JWKS_URI).to_string().into_bytes(),
            )),
        ),
        ("500", status(500)),
        ("304", status(304)),
        (
            "not JSON",
            Ok(HttpResponse::new(200, b"<html>hello</html>".to_vec())),
        ),
        ("a JSON array", json_reply(&json!([ISSUER, JWKS_URI]))),
        ("no issuer", json_reply(&json!({"jwks_uri": JWKS_URI}))),
        ("no jwks_uri", json_reply(&json!({"issuer": ISSUER}))),
        ("a numeric jwks_uri", with_uri(json!(42))),
        (
            "http jwks_uri",
            with_uri(json!("http://keys.idp.example.com/jwks.json")),
        ),
        (
            "http loopback jwks_uri without the danger flag",
            with_uri(json!("http://127.0.0.1:8080/jwks.json")),
        ),
        ("a jwks_uri that is not a URL", with_uri(json!("not a url"))),
        ("a relative jwks_uri", with_uri(json!("/jwks.json"))),
        (
            "a jwks_uri with credentials",
            with_uri(json!("https://user:pw@keys.idp.example.com/jwks.json")),
        ),
        (
            "a jwks_uri with a fragment",
            with_uri(json!("https://keys.idp.example.com/jwks.json#x")),
        ),
        (
            "an ftp jwks_uri",
            with_uri(json!("ftp://keys.idp.example.com/jwks.json")),
        ),
        ("a transport error", transport()),
        (
            "a body over the limit",
            Err(HttpError::BodyTooLarge {
                max: MAX_DOCUMENT_BYTES,
            }),
        ),
    ];
    for (what, reply) in cases {
        let idp = Idp::discovered(cfg());
        idp.http.always(DISCOVERY, reply);
        idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
        let r = idp.verify(&A.token()).await;
        assert!(
            matches!(r, Err(TokenError::JwksUnavailable { .. })),
            "{what}: {r:?}"
        );
        assert_eq!(idp.http.requests(), [seen(DISCOVERY, None)], "{what}");
        assert_eq!(idp.counts(), (1, 0, 0, 1), "{what}");
        assert!(idp.jwks.cached().is_none(), "{what}");
    }
}

#[tokio::test]
async fn an_issuer_with_a_trailing_slash_is_discovered_without_doubling_it_and_matched_exactly() {
    const SLASHED: &str = "https://idp.example.com/tenant/";
    const UNSLASHED: &str = "https://idp.example.com/tenant";
    const WELL_KNOWN: &str = "https://idp.example.com/tenant/.well-known/openid-configuration";
    let clock = ManualClock::at(UnixTime::from_secs(START));
    // (configured issuer, the document's issuer, whether it verifies)
    for (configured, documented, ok) in [
        (SLASHED, SLASHED, true),
        (SLASHED, UNSLASHED, false),
        (UNSLASHED, SLASHED, false),
        (UNSLASHED, UNSLASHED, true),
    ] {
        let http = Script::new();
        http.always(WELL_KNOWN, json_reply(&discovery_doc(documented, JWKS_URI)));
        http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
        let jwks = RemoteJwks::discover(configured, http.clone(), provider(&clock), cfg()).unwrap();
        assert_eq!(jwks.issuer(), Some(configured));
        let v = verifier(configured, &jwks, &clock);
        let r = v.verify_async(&A.sign(&claims(configured))).await;
        if ok {
            assert_verified(r, "key-a");
            assert_eq!(
                http.requests(),
                [seen(WELL_KNOWN, None), seen(JWKS_URI, None)]
            );
        } else {
            assert_unavailable(r);
            assert_eq!(http.requests(), [seen(WELL_KNOWN, None)]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. The URL policy of the constructors.

#[tokio::test]
async fn discover_and_from_jwks_uri_refuse_unsafe_urls() {
    let clock = ManualClock::at(UnixTime::from_secs(START));
    let http = Script::new();
    let refused = [
        "http://idp.example.com",
        "http://idp.example.com/jwks.json",
        "https://user:pw@idp.example.com",
        "https://user@idp.example.com",
        "https://:pw@idp.example.com",
        "https://idp.example.com/#fragment",
        "https://idp.example.com/jwks.json#",
        "ftp://idp.example.com",
        "file:///etc/passwd",
        "ws://idp.example.com",
        "idp.example.com",
        "/jwks.json",
        "",
        "not a url",
        // Loopback over plain HTTP needs the danger flag.
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
    ];
    for url in refused {
        assert_invalid_config(RemoteJwks::discover(
            url,
            http.clone(),
            provider(&clock),
            cfg(),
        ));
        assert_invalid_config(RemoteJwks::from_jwks_uri(
            url,
            http.clone(),
            provider(&clock),
            cfg(),
        ));
    }
    // The danger flag allows loopback only.
    let loopback = || cfg().danger_allow_http_loopback();
    for url in [
        "http://idp.example.com",
        "http://localhost.evil.example",
        "http://10.0.0.1",
        "https://user:pw@127.0.0.1",
        "ftp://127.0.0.1",
    ] {
        assert_invalid_config(RemoteJwks::discover(
            url,
            http.clone(),
            provider(&clock),
            loopback(),
        ));
        assert_invalid_config(RemoteJwks::from_jwks_uri(
            url,
            http.clone(),
            provider(&clock),
            loopback(),
        ));
    }
    for url in [
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:8080",
        "http://[::1]:8080",
        "https://idp.example.com",
    ] {
        RemoteJwks::discover(url, http.clone(), provider(&clock), loopback()).unwrap();
        RemoteJwks::from_jwks_uri(url, http.clone(), provider(&clock), loopback()).unwrap();
    }
    // An issuer has no query; a JWKS URL may.
    assert_invalid_config(RemoteJwks::discover(
        "https://idp.example.com/?tenant=1",
        http.clone(),
        provider(&clock),
        cfg(),
    ));
    RemoteJwks::from_jwks_uri(
        "https://idp.example.com/jwks?tenant=1",
        http.clone(),
        provider(&clock),
        cfg(),
    )
    .unwrap();
    // Constructing never fetches.
    assert!(http.requests().is_empty());
}

#[tokio::test]
async fn plain_http_to_loopback_works_with_the_danger_flag_and_only_to_loopback() {
    const LOOP_ISSUER: &str = "http://127.0.0.1:8080";
    const LOOP_DISCOVERY: &str = "http://127.0.0.1:8080/.well-known/openid-configuration";
    const LOOP_JWKS: &str = "http://127.0.0.1:8080/jwks";
    let clock = ManualClock::at(UnixTime::from_secs(START));
    let http = Script::new();
    http.always(
        LOOP_DISCOVERY,
        json_reply(&discovery_doc(LOOP_ISSUER, LOOP_JWKS)),
    );
    http.always(LOOP_JWKS, json_reply(&jwks_doc(&[&A])));
    let config = cfg().danger_allow_http_loopback();
    let jwks = RemoteJwks::discover(LOOP_ISSUER, http.clone(), provider(&clock), config).unwrap();
    let v = verifier(LOOP_ISSUER, &jwks, &clock);
    assert_verified(v.verify_async(&A.sign(&claims(LOOP_ISSUER))).await, "key-a");
    assert_eq!(
        http.requests(),
        [seen(LOOP_DISCOVERY, None), seen(LOOP_JWKS, None)]
    );
    // Even with the flag, discovery may not point the JWKS at a remote plain-HTTP host.
    let http = Script::new();
    http.always(
        LOOP_DISCOVERY,
        json_reply(&discovery_doc(
            LOOP_ISSUER,
            "http://keys.idp.example.com/jwks",
        )),
    );
    let config = cfg().danger_allow_http_loopback();
    let jwks = RemoteJwks::discover(LOOP_ISSUER, http.clone(), provider(&clock), config).unwrap();
    assert_unavailable(jwks.refresh().await);
    assert_eq!(http.requests(), [seen(LOOP_DISCOVERY, None)]);
}

// ---------------------------------------------------------------------------------------
// 3. Freshness.

#[tokio::test]
async fn max_age_is_honoured_within_the_bounds_and_discovery_is_reused() {
    let config = cfg()
        .cooldown(Duration::from_secs(5))
        .unwrap()
        .ttl(
            Duration::from_secs(10),
            Duration::from_secs(100),
            Duration::from_secs(3600),
        )
        .unwrap();
    let idp = Idp::discovered(config);
    let doc = jwks_doc(&[&A]);
    idp.http
        .once(JWKS_URI, json_with(&doc, "public, max-age=300"));
    idp.http.once(JWKS_URI, json_with(&doc, "max-age=5")); // clamped up to 10 s
    idp.http.once(JWKS_URI, json_with(&doc, "max-age=100000")); // clamped down to 3600 s
    idp.http.once(JWKS_URI, json_reply(&doc)); // no header: the default, 100 s
    idp.http.once(JWKS_URI, json_with(&doc, "no-cache")); // the lower bound
    idp.http.always(JWKS_URI, json_reply(&doc));
    let token = A.token();
    // (seconds to advance, JWKS requests after a verification)
    let steps = [
        (0, 1),    // t=0: first fetch, max-age=300
        (299, 1),  // t=299: fresh
        (1, 2),    // t=300: stale, refetched (max-age=5 -> 10 s)
        (9, 2),    // t=309
        (1, 3),    // t=310: refetched (max-age=100000 -> 3600 s)
        (3599, 3), // t=3909
        (1, 4),    // t=3910: refetched (no header -> 100 s)
        (99, 4),   // t=4009
        (1, 5),    // t=4010: refetched (no-cache -> 10 s)
        (9, 5),    // t=4019
        (1, 6),    // t=4020
    ];
    for (i, (advance, expected)) in steps.into_iter().enumerate() {
        idp.advance(advance);
        assert_verified(idp.verify(&token).await, "key-a");
        assert_eq!(idp.jwks_requests(), expected, "step {i}");
    }
    // Discovery (no Cache-Control: fresh for the upper bound, 3600 s) was fetched once for
    // the first three JWKS fetches, and again for the one at t=3910.
    let discoveries: Vec<usize> = idp
        .http
        .requests()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.url == DISCOVERY)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(discoveries, [0, 4]);
    assert_eq!(idp.counts(), (2, 6, 0, 0));
}

#[tokio::test]
async fn a_discovery_max_age_is_honoured_and_a_failed_rediscovery_keeps_the_known_jwks_uri() {
    let config = cfg()
        .cooldown(Duration::from_secs(5))
        .unwrap()
        .ttl(
            Duration::from_secs(10),
            Duration::from_secs(100),
            Duration::from_secs(1000),
        )
        .unwrap();
    let idp = Idp::discovered(config);
    idp.http.always(
        DISCOVERY,
        json_with(&discovery_doc(ISSUER, JWKS_URI), "max-age=200"),
    );
    idp.http
        .always(JWKS_URI, json_with(&jwks_doc(&[&A]), "max-age=100"));
    let token = A.token();
    assert_verified(idp.verify(&token).await, "key-a"); // t=0: discovery, JWKS
    idp.advance(100);
    assert_verified(idp.verify(&token).await, "key-a"); // t=100: JWKS only
    idp.advance(100);
    assert_verified(idp.verify(&token).await, "key-a"); // t=200: discovery due again
    assert_eq!(idp.counts(), (2, 3, 0, 0));
    // Discovery now fails. The known jwks_uri is still used, and discovery is retried on
    // each refresh once its 200 s have passed (t=400), not before (t=300).
    idp.http.always(DISCOVERY, status(503));
    idp.advance(100);
    assert_verified(idp.verify(&token).await, "key-a"); // t=300
    assert_eq!(idp.counts(), (2, 4, 0, 0));
    idp.advance(100);
    assert_verified(idp.verify(&token).await, "key-a"); // t=400
    assert_eq!(idp.counts(), (3, 5, 0, 0));
    idp.advance(100);
    assert_verified(idp.verify(&token).await, "key-a"); // t=500
    assert_eq!(idp.counts(), (4, 6, 0, 0));
    let urls: Vec<String> = idp.http.requests().into_iter().map(|s| s.url).collect();
    assert_eq!(
        urls,
        [
            DISCOVERY, JWKS_URI, JWKS_URI, DISCOVERY, JWKS_URI, JWKS_URI, DISCOVERY, JWKS_URI,
            DISCOVERY, JWKS_URI
        ]
    );
}

// ---------------------------------------------------------------------------------------
// 4. ETag.

/// A server that honours `If-None-Match`: 304 when it matches the current version's ETag.
fn etag_server(idp: &Idp) -> Arc<Mutex<(String, Value)>> {
    let current = Arc::new(Mutex::new(("\"v1\"".to_owned(), jwks_doc(&[&A]))));
    let state = Arc::clone(&current);
    idp.http.respond_with(JWKS_URI, move |inm| {
        let (etag, doc) = state.lock().unwrap().clone();
        let response = if inm == Some(etag.as_str()) {
            HttpResponse::new(304, Vec::new())
        } else {
            HttpResponse::new(200, doc.to_string().into_bytes())
        };
        Ok(response.with_etag(etag).with_cache_control("max-age=60"))
    });
    current
}

#[tokio::test]
async fn a_refresh_sends_the_etag_and_a_304_keeps_the_keys_fresh() {
    let idp = Idp::fixed(cfg());
    let server = etag_server(&idp);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.counts(), (0, 1, 0, 0));
    idp.advance(60);
    assert_verified(idp.verify(&A.token()).await, "key-a"); // 304
    assert_eq!(idp.counts(), (0, 2, 1, 0));
    assert_eq!(kids(&idp.jwks.cached().unwrap()), ["key-a"]);
    // The 304 renewed the freshness: 60 s more without a request.
    idp.advance(59);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.jwks_requests(), 2);
    idp.advance(1);
    assert_verified(idp.verify(&A.token()).await, "key-a"); // 304 again
    assert_eq!(idp.counts(), (0, 3, 2, 0));
    // A new version: the stale ETag gets a 200, and the next refresh sends the new ETag.
    *server.lock().unwrap() = ("\"v2\"".to_owned(), jwks_doc(&[&A, &B]));
    idp.advance(60);
    assert_verified(idp.verify(&B.token()).await, "key-b");
    idp.advance(60);
    assert_verified(idp.verify(&B.token()).await, "key-b"); // 304 for v2
    assert_eq!(idp.counts(), (0, 5, 3, 0));
    assert_eq!(
        idp.http.requests(),
        [
            seen(JWKS_URI, None),
            seen(JWKS_URI, Some("\"v1\"")),
            seen(JWKS_URI, Some("\"v1\"")),
            seen(JWKS_URI, Some("\"v1\"")),
            seen(JWKS_URI, Some("\"v2\"")),
        ]
    );
}

#[tokio::test]
async fn a_304_to_a_request_without_an_etag_is_a_failure() {
    // Cold: a 304 to the first request has nothing to keep.
    let idp = Idp::fixed(cfg());
    idp.http.always(JWKS_URI, status(304));
    assert_unavailable(idp.verify(&A.token()).await);
    assert_eq!(idp.counts(), (0, 1, 0, 1));
    assert!(idp.jwks.cached().is_none());

    // Warm, but the stored copy has no ETag: we sent no If-None-Match, so a 304 is not an
    // answer to us; the stale keys keep serving and the failure is counted.
    let idp = Idp::fixed(cfg());
    idp.http
        .once(JWKS_URI, json_with(&jwks_doc(&[&A]), "max-age=60"));
    idp.http.always(
        JWKS_URI,
        Ok(HttpResponse::new(304, Vec::new()).with_etag("\"v1\"")),
    );
    assert_verified(idp.verify(&A.token()).await, "key-a");
    idp.advance(60);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.counts(), (0, 2, 0, 1));
    assert_eq!(
        idp.http.requests(),
        [seen(JWKS_URI, None), seen(JWKS_URI, None)]
    );
    // The failed 304 did not store its ETag either.
    idp.advance(30);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.http.requests().last(), Some(&seen(JWKS_URI, None)));
    assert_eq!(idp.counts(), (0, 3, 0, 2));
}

#[tokio::test]
async fn a_304_without_an_etag_header_keeps_the_stored_etag() {
    let idp = Idp::fixed(cfg());
    idp.http.once(
        JWKS_URI,
        Ok(
            HttpResponse::new(200, jwks_doc(&[&A]).to_string().into_bytes())
                .with_etag("\"v1\"")
                .with_cache_control("max-age=60"),
        ),
    );
    idp.http.always(
        JWKS_URI,
        Ok(HttpResponse::new(304, Vec::new()).with_cache_control("max-age=60")),
    );
    assert_verified(idp.verify(&A.token()).await, "key-a");
    idp.advance(60);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    idp.advance(60);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(
        idp.http.requests(),
        [
            seen(JWKS_URI, None),
            seen(JWKS_URI, Some("\"v1\"")),
            seen(JWKS_URI, Some("\"v1\"")),
        ]
    );
    assert_eq!(idp.counts(), (0, 3, 2, 0));
}

// ---------------------------------------------------------------------------------------
// 5. Unknown kids and removed keys.

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_cooldown() {
    let idp = Idp::discovered(cfg()); // cooldown 30 s, default freshness 15 min
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
    assert_verified(idp.verify(&A.token()).await, "key-a"); // t=0, fetch 1
    // The first fetch started the cooldown: an unknown kid right after it does not fetch.
    idp.advance(1);
    assert_unknown_key(idp.verify(&B.token()).await, "key-b");
    assert_eq!(idp.jwks_requests(), 1);
    idp.advance(29); // t=30
    assert_unknown_key(idp.verify(&B.token()).await, "key-b"); // fetch 2: still unknown
    assert_eq!(idp.jwks_requests(), 2);
    // A second distinct unknown kid within the cooldown: no fetch.
    idp.advance(1); // t=31
    assert_unknown_key(idp.verify(&C.token()).await, "key-c");
    let keys = idp.jwks.keys_for(Some("key-d")).await.unwrap();
    assert_eq!(kids(&keys), ["key-a"], "the set returned may lack the kid");
    assert_eq!(idp.jwks_requests(), 2);
    // The provider publishes key-c; still cooling down until t=60.
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A, &C])));
    idp.advance(28); // t=59
    assert_unknown_key(idp.verify(&C.token()).await, "key-c");
    assert_eq!(idp.jwks_requests(), 2);
    idp.advance(1); // t=60
    assert_verified(idp.verify(&C.token()).await, "key-c"); // fetch 3
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_unknown_key(idp.verify(&B.token()).await, "key-b");
    assert_eq!(idp.jwks_requests(), 3);
    // Discovery was fetched once for all of them.
    assert_eq!(idp.counts(), (1, 3, 0, 0));
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_after_the_refresh() {
    let idp = Idp::fixed(cfg());
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A, &B])));
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_verified(idp.verify(&B.token()).await, "key-b");
    // The provider drops key-a. Until the cache refreshes, key-a still verifies.
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&B])));
    idp.advance(899);
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.jwks_requests(), 1);
    // At the end of the default freshness (15 min), key-a's own token triggers the
    // refresh, and is refused by the new set.
    idp.advance(1);
    assert_unknown_key(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.jwks_requests(), 2);
    assert_unknown_key(idp.verify_sync(&A.token()), "key-a");
    assert_verified(idp.verify(&B.token()).await, "key-b");
    assert_verified(idp.verify_sync(&B.token()), "key-b");
    assert_eq!(kids(&idp.jwks.cached().unwrap()), ["key-b"]);
    // An explicit refresh removes a key just as well.
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&C])));
    idp.jwks.refresh().await.unwrap();
    assert_unknown_key(idp.verify_sync(&B.token()), "key-b");
    assert_verified(idp.verify_sync(&C.token()), "key-c");
    assert_eq!(idp.counts(), (0, 3, 0, 0));
}

// ---------------------------------------------------------------------------------------
// 6. Outages.

fn outages() -> Vec<(&'static str, Reply)> {
    vec![
        ("transport error", transport()),
        ("timeout", Err(HttpError::Timeout)),
        ("HTTP 500", status(500)),
        ("HTTP 404", status(404)),
        (
            "invalid JSON",
            Ok(HttpResponse::new(200, b"{\"keys\": [".to_vec())),
        ),
        (
            "JSON without a keys array",
            json_reply(&json!({"keys": "none"})),
        ),
        (
            "BodyTooLarge from the client",
            Err(HttpError::BodyTooLarge {
                max: MAX_DOCUMENT_BYTES,
            }),
        ),
        (
            "a body over the limit from a misbehaving client",
            Ok(HttpResponse::new(200, {
                // A valid JWKS padded with whitespace to one byte over the limit.
                let mut body = jwks_doc(&[&A]).to_string().into_bytes();
                body.resize(MAX_DOCUMENT_BYTES + 1, b' ');
                body
            })),
        ),
    ]
}

#[tokio::test]
async fn stale_keys_serve_through_an_outage_until_the_bound_then_fail_closed() {
    for (what, failure) in outages() {
        let config = cfg()
            .ttl(
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(3600),
            )
            .unwrap()
            .max_staleness(Duration::from_secs(600))
            .unwrap(); // cooldown 30 s
        let idp = Idp::discovered(config);
        idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
        let token = A.token();
        assert_verified(idp.verify(&token).await, "key-a"); // t=0: fresh until 300
        idp.http.always(JWKS_URI, failure);
        // Stale from t=300, servable until t=900; a retry at most every 30 s.
        idp.advance(300);
        for t in (300..900).step_by(15) {
            let r = idp.verify(&token).await;
            assert!(r.is_ok(), "{what} at t={t}: {r:?}");
            let r = idp.verify_sync(&token);
            assert!(r.is_ok(), "{what} at t={t}: {r:?}");
            assert!(idp.jwks.cached().is_some(), "{what} at t={t}");
            idp.advance(15);
        }
        // Retries at 300, 330, ..., 870 (none at the calls in between).
        assert_eq!(idp.counts(), (1, 21, 0, 20), "{what}");
        // t=900: past the bound. The retry is due and fails: closed, in both paths.
        assert_unavailable(idp.verify(&token).await);
        assert_unavailable(idp.verify_sync(&token));
        assert!(idp.jwks.cached().is_none(), "{what}");
        assert_eq!(idp.counts(), (1, 22, 0, 21), "{what}");
        // Within the cooldown: closed, without a request.
        idp.advance(29);
        assert_unavailable(idp.verify(&token).await);
        assert_unavailable(idp.jwks.keys_for(None).await);
        assert_eq!(idp.jwks_requests(), 22, "{what}");
        // The provider recovers: the next retry (t=930) serves again.
        idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
        idp.advance(1);
        assert_verified(idp.verify(&token).await, "key-a");
        assert_verified(idp.verify_sync(&token), "key-a");
        assert_eq!(idp.counts(), (1, 23, 0, 21), "{what}");
        // Every request carried the body limit.
        assert!(
            idp.http
                .requests()
                .iter()
                .all(|s| s.max_body == MAX_DOCUMENT_BYTES)
        );
    }
}

#[tokio::test]
async fn never_fetched_and_failing_is_unavailable_and_retried_once_per_cooldown() {
    for (what, failure) in outages() {
        let idp = Idp::fixed(cfg());
        idp.http.always(JWKS_URI, failure);
        // The synchronous path never fetches.
        assert_unavailable(idp.verify_sync(&A.token()));
        assert!(idp.http.requests().is_empty(), "{what}");
        assert_unavailable(idp.verify(&A.token()).await);
        assert_eq!(idp.counts(), (0, 1, 0, 1), "{what}");
        for _ in 0..5 {
            assert_unavailable(idp.verify(&A.token()).await);
            assert_unavailable(idp.verify(&B.token()).await);
            idp.advance(5);
        }
        assert_eq!(idp.jwks_requests(), 1, "{what}");
        idp.advance(5); // t=30
        assert_unavailable(idp.verify(&A.token()).await);
        assert_eq!(idp.counts(), (0, 2, 0, 2), "{what}");
        assert!(idp.jwks.cached().is_none(), "{what}");
    }
}

#[tokio::test]
async fn zero_staleness_serves_nothing_stale() {
    let config = cfg().max_staleness(Duration::ZERO).unwrap();
    let idp = Idp::fixed(config);
    idp.http
        .once(JWKS_URI, json_with(&jwks_doc(&[&A]), "max-age=120"));
    idp.http.always(JWKS_URI, status(500));
    assert_verified(idp.verify(&A.token()).await, "key-a");
    idp.advance(119);
    assert_verified(idp.verify_sync(&A.token()), "key-a");
    idp.advance(1);
    assert!(idp.jwks.cached().is_none());
    assert_unavailable(idp.verify_sync(&A.token()));
    assert_unavailable(idp.verify(&A.token()).await);
    assert_eq!(idp.counts(), (0, 2, 0, 1));
}

#[tokio::test]
async fn a_document_of_exactly_the_limit_is_read() {
    let idp = Idp::fixed(cfg());
    let mut body = jwks_doc(&[&A]).to_string().into_bytes();
    body.resize(MAX_DOCUMENT_BYTES, b' ');
    idp.http.always(JWKS_URI, Ok(HttpResponse::new(200, body)));
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_eq!(idp.counts(), (0, 1, 0, 0));
}

// ---------------------------------------------------------------------------------------
// 7. Single flight.

const CALLERS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_for_an_unknown_kid_share_one_fetch() {
    let idp = Arc::new(Idp::discovered(cfg()));
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
    assert_verified(idp.verify(&A.token()).await, "key-a");
    idp.advance(31); // past the cooldown, still fresh
    idp.http
        .always(JWKS_URI, json_reply(&jwks_doc(&[&A, &NEW])));
    idp.http.delay(Duration::from_millis(200));
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|i| {
            let (idp, barrier) = (Arc::clone(&idp), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                if i % 2 == 0 {
                    let keys = idp.jwks.keys_for(Some("new-kid")).await.unwrap();
                    assert_eq!(kids(&keys), ["key-a", "new-kid"]);
                } else {
                    assert_verified(idp.verify(&NEW.token()).await, "new-kid");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(idp.jwks_requests(), 2);
    assert_eq!(idp.counts(), (1, 2, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_on_a_cold_cache_share_one_discovery_and_one_fetch() {
    let idp = Arc::new(Idp::discovered(cfg()));
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
    idp.http.delay(Duration::from_millis(100));
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (idp, barrier) = (Arc::clone(&idp), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                assert_verified(idp.verify(&A.token()).await, "key-a");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        idp.http.requests(),
        [seen(DISCOVERY, None), seen(JWKS_URI, None)]
    );
    assert_eq!(idp.counts(), (1, 1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_on_a_stale_cache_share_one_refresh_and_are_served_meanwhile() {
    let idp = Arc::new(Idp::fixed(cfg()));
    idp.http.always(JWKS_URI, json_reply(&jwks_doc(&[&A])));
    assert_verified(idp.verify(&A.token()).await, "key-a");
    idp.advance(900); // stale, servable
    idp.http.delay(Duration::from_millis(200));
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (idp, barrier) = (Arc::clone(&idp), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                assert_verified(idp.verify(&A.token()).await, "key-a");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(idp.jwks_requests(), 2);
    assert_eq!(idp.counts(), (0, 2, 0, 0));
}

// ---------------------------------------------------------------------------------------
// 8. refresh() and cached().

#[tokio::test]
async fn refresh_fetches_whatever_the_freshness_and_cooldown() {
    let idp = Idp::discovered(cfg());
    idp.http
        .always(JWKS_URI, json_with(&jwks_doc(&[&A]), "max-age=86400"));
    assert!(idp.jwks.cached().is_none());
    assert_unavailable(idp.verify_sync(&A.token()));
    idp.jwks.refresh().await.unwrap();
    assert_eq!(
        idp.http.requests(),
        [seen(DISCOVERY, None), seen(JWKS_URI, None)]
    );
    assert_eq!(kids(&idp.jwks.cached().unwrap()), ["key-a"]);
    assert_verified(idp.verify_sync(&A.token()), "key-a");
    // Fresh for a day and inside the cooldown: refresh fetches anyway (discovery reused).
    idp.http
        .always(JWKS_URI, json_with(&jwks_doc(&[&B]), "max-age=86400"));
    idp.jwks.refresh().await.unwrap();
    assert_eq!(kids(&idp.jwks.cached().unwrap()), ["key-b"]);
    assert_verified(idp.verify_sync(&B.token()), "key-b");
    assert_unknown_key(idp.verify_sync(&A.token()), "key-a");
    assert_eq!(idp.counts(), (1, 2, 0, 0));
    // A failed refresh says so, and the previous set keeps serving.
    idp.http.always(JWKS_URI, status(502));
    assert_unavailable(idp.jwks.refresh().await);
    assert_eq!(kids(&idp.jwks.cached().unwrap()), ["key-b"]);
    assert_verified(idp.verify(&B.token()).await, "key-b");
    assert_eq!(idp.counts(), (1, 3, 0, 1));
}

// ---------------------------------------------------------------------------------------
// 9. Keys a JWKS may hold that must never be used.

#[tokio::test]
async fn symmetric_private_and_unsupported_keys_in_a_jwks_are_skipped() {
    const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
    const PRIVATE: EdKey = EdKey::new(9, "private");
    const ED448: EdKey = EdKey::new(10, "ed448");
    let es = EsKey {
        scalar: [7; 32],
        kid: "es-1",
    };
    let mut private = PRIVATE.jwk();
    private["d"] = json!(b64(PRIVATE.seed));
    let mut ed448 = ED448.jwk();
    ed448["crv"] = json!("Ed448");
    ed448["x"] = json!(b64([5u8; 57]));
    let doc = json!({"keys": [
        {"kty": "oct", "k": b64(SECRET), "alg": "HS256", "kid": "sym", "use": "sig"},
        private,
        ed448,
        {"kty": "EC", "crv": "P-521", "x": b64([1u8; 66]), "y": b64([2u8; 66]), "kid": "p521"},
        {"kty": "RSA", "n": b64([0xC1u8; 256]), "e": "AQAB", "alg": "RSA-OAEP", "use": "enc",
         "kid": "enc"},
        A.jwk(),
        es.jwk(),
    ]});
    let idp = Idp::fixed(cfg());
    idp.http.always(JWKS_URI, json_reply(&doc));
    assert_verified(idp.verify(&A.token()).await, "key-a");
    assert_verified(idp.verify(&es.token()).await, "es-1");
    assert_eq!(kids(&idp.jwks.cached().unwrap()), ["key-a", "es-1"]);
    // An HS256 token under the published secret, and tokens signed by the published
    // private key and under the unsupported key's kid: none verifies.
    let hs = {
        use hmac::Mac as _;
        let header = json!({"alg": "HS256", "kid": "sym", "typ": "at+jwt"});
        let input = format!(
            "{}.{}",
            b64(header.to_string()),
            b64(claims(ISSUER).to_string())
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(mac.finalize().into_bytes()))
    };
    assert_unknown_key(idp.verify(&hs).await, "sym");
    assert_unknown_key(idp.verify(&PRIVATE.token()).await, "private");
    assert_unknown_key(idp.verify(&ED448.token()).await, "ed448");
    // Still after a refetch for them (past the cooldown).
    idp.advance(30);
    assert_unknown_key(idp.verify(&hs).await, "sym");
    assert_unknown_key(idp.verify_sync(&PRIVATE.token()), "private");
    assert_eq!(idp.counts(), (0, 2, 0, 0));
}

// ---------------------------------------------------------------------------------------
// 10. IssuerProfile::remote.

#[tokio::test]
async fn a_profile_refuses_a_jwks_discovered_from_another_issuer() {
    let clock = ManualClock::at(UnixTime::from_secs(START));
    let http = Script::new();
    let algs = [Algorithm::EdDsa];
    let discovered = RemoteJwks::discover(ISSUER, http.clone(), provider(&clock), cfg()).unwrap();
    for other in [
        "https://other.example.com",
        "https://idp.example.com/",
        "https://IDP.example.com",
        "https://idp.example.com/tenant",
    ] {
        assert_invalid_config(IssuerProfile::remote(
            other,
            &[AUDIENCE],
            &algs,
            discovered.clone(),
        ));
    }
    let profile = IssuerProfile::remote(ISSUER, &[AUDIENCE], &algs, discovered).unwrap();
    assert_eq!(profile.remote_jwks().unwrap().issuer(), Some(ISSUER));
    assert!(profile.keys().is_none());
    // A fixed jwks_uri names no issuer: any profile may use it.
    let fixed = RemoteJwks::from_jwks_uri(JWKS_URI, http.clone(), provider(&clock), cfg()).unwrap();
    assert_eq!(fixed.issuer(), None);
    IssuerProfile::remote("https://other.example.com", &[AUDIENCE], &algs, fixed).unwrap();
    assert!(http.requests().is_empty());
}

#[test]
fn config_bounds_are_exact() {
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    let c = RemoteJwksConfig::default;
    assert!(c().cooldown(s(1)).is_ok());
    assert!(c().cooldown(ms(999)).is_err());
    assert!(c().ttl(s(1), s(1), s(1)).is_ok());
    assert!(c().ttl(s(1), s(2), s(7 * 86_400)).is_ok());
    assert!(c().ttl(ms(999), s(2), s(3)).is_err());
    assert!(c().ttl(s(2), s(1), s(3)).is_err());
    assert!(c().ttl(s(1), s(3), s(2)).is_err());
    assert!(c().ttl(s(1), s(2), s(7 * 86_400 + 1)).is_err());
    assert!(c().max_staleness(s(7 * 86_400)).is_ok());
    assert!(c().max_staleness(s(7 * 86_400 + 1)).is_err());
    assert!(c().max_staleness(Duration::ZERO).is_ok());
}

/// `rsa_default` decides the algorithm of an RSA key whose JWK has no `alg` (RFC 7515
/// A.2's key here): RS256 by default, the one given, or skipped with `None`.
#[tokio::test]
async fn rsa_keys_without_alg_take_the_configured_default() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/rfc7515_a2_rs256.txt"
    ))
    .unwrap();
    let member = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let doc = json!({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": member("n"), "e": member("e")}]});
    for (config, expected) in [
        (cfg(), Some(Algorithm::Rs256)),
        (
            cfg().rsa_default(Some(Algorithm::Ps256)),
            Some(Algorithm::Ps256),
        ),
        (cfg().rsa_default(None), None),
    ] {
        let idp = Idp::fixed(config);
        idp.http.always(JWKS_URI, json_reply(&doc));
        idp.jwks.refresh().await.unwrap();
        let states = idp.jwks.cached().unwrap().states().unwrap();
        assert_eq!(states.first().map(|(_, alg, _)| *alg), expected);
    }
}

/// The strict default refuses the high-S form of an ES256 signature; an issuer configured
/// with `danger_accept_high_s` accepts both forms.
#[tokio::test]
async fn high_s_signatures_only_with_the_opt_in() {
    const K: EsKey = EsKey {
        scalar: [5; 32],
        kid: "es-1",
    };
    let low = K.token();
    let (input, sig) = low.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let (r, s) = sig.split_scalars();
    let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    let high = format!("{input}.{}", b64(high.to_bytes()));
    for (config, high_ok) in [(cfg(), false), (cfg().danger_accept_high_s(), true)] {
        let idp = Idp::fixed(config);
        idp.http
            .always(JWKS_URI, json_reply(&json!({"keys": [K.jwk()]})));
        assert_verified(idp.verify(&low).await, "es-1");
        let got = idp.verify(&high).await;
        if high_ok {
            assert_verified(got, "es-1");
        } else {
            assert!(matches!(got, Err(TokenError::InvalidSignature)), "{got:?}");
        }
    }
}

/// An `ETag` is stored only if it is ASCII and at most 256 bytes; otherwise the next
/// refresh is unconditional.
#[tokio::test]
async fn only_short_ascii_etags_are_stored() {
    let long = format!("\"{}\"", "e".repeat(255)); // 257 bytes
    let edge = format!("\"{}\"", "e".repeat(254)); // 256 bytes
    for (etag, stored) in [
        (long.as_str(), false),
        ("\"é\"", false),
        (edge.as_str(), true),
    ] {
        let idp = Idp::fixed(cfg());
        let doc = jwks_doc(&[&A]);
        let tag = etag.to_owned();
        idp.http.always(
            JWKS_URI,
            Ok(HttpResponse::new(200, doc.to_string().into_bytes()).with_etag(tag)),
        );
        idp.jwks.refresh().await.unwrap();
        idp.jwks.refresh().await.unwrap();
        let sent = idp.http.requests()[1].if_none_match.clone();
        assert_eq!(sent.as_deref(), stored.then_some(etag), "{etag:?}");
    }
}
