//! The cache of one issuer's remote JWKS: discovery, conditional refresh, the unknown-`kid`
//! cooldown, and the staleness bound past which verification fails closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use portcullis_core::KeyId;
use portcullis_core::{Provider, UnixTime};
use serde_json::Value;
use url::Url;

use super::freshness::lifetime;
use super::http::{HttpClient, HttpError, HttpRequest, HttpResponse, checked_url};
use crate::error::TokenError;
use crate::signing_keys::{Algorithm, KeyState, SigningKeys, parse_jwks};

/// The largest discovery or JWKS document read (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// How a [`RemoteJwks`] caches. Every bound has a safe default; see each setter.
#[derive(Debug, Clone)]
pub struct RemoteJwksConfig {
    cooldown: Duration,
    default_ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    max_staleness: Duration,
    rsa_default: Option<Algorithm>,
    allow_http_loopback: bool,
    accept_high_s: bool,
}

impl Default for RemoteJwksConfig {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            default_ttl: Duration::from_secs(15 * 60),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            max_staleness: Duration::from_secs(3600),
            rsa_default: Some(Algorithm::Rs256),
            allow_http_loopback: false,
            accept_high_s: false,
        }
    }
}

impl RemoteJwksConfig {
    /// The least time between two fetches triggered by a `kid` the cache does not hold, or
    /// by a retry after a failed fetch (default 30 s): however many distinct unknown kids
    /// arrive, the provider sees at most one fetch per cooldown.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] below 1 s.
    pub fn cooldown(mut self, cooldown: Duration) -> Result<Self, TokenError> {
        if cooldown < Duration::from_secs(1) {
            return Err(invalid("the refetch cooldown must be at least 1 s"));
        }
        self.cooldown = cooldown;
        Ok(self)
    }

    /// Freshness bounds: a document's `Cache-Control: max-age` is clamped to
    /// `[min, max]`; without one it is fresh for `default` (defaults 60 s, 24 h, 15 min).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] unless `1 s <= min <= default <= max <= 7 days`.
    pub fn ttl(
        mut self,
        min: Duration,
        default: Duration,
        max: Duration,
    ) -> Result<Self, TokenError> {
        if min < Duration::from_secs(1)
            || default < min
            || max < default
            || max > Duration::from_secs(7 * 86_400)
        {
            return Err(invalid(
                "JWKS freshness bounds must satisfy 1 s <= min <= default <= max <= 7 days",
            ));
        }
        (self.min_ttl, self.default_ttl, self.max_ttl) = (min, default, max);
        Ok(self)
    }

    /// How long past its freshness the last good key set keeps verifying while refreshes
    /// fail (default 1 h); after that, verification fails closed with
    /// [`TokenError::JwksUnavailable`]. Zero serves nothing stale.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] above 7 days.
    pub fn max_staleness(mut self, staleness: Duration) -> Result<Self, TokenError> {
        if staleness > Duration::from_secs(7 * 86_400) {
            return Err(invalid("the JWKS staleness bound must be at most 7 days"));
        }
        self.max_staleness = staleness;
        Ok(self)
    }

    /// The algorithm of RSA keys whose JWK has no `alg` (default RS256, as Entra ID
    /// publishes them); `None` skips such keys. See [`parse_jwks`].
    #[must_use]
    pub fn rsa_default(mut self, alg: Option<Algorithm>) -> Self {
        self.rsa_default = alg;
        self
    }

    /// Allows plain `http://` URLs whose host is a loopback address (`127.0.0.0/8`, `::1`,
    /// `localhost`), for tests against a local provider. Every other URL must be HTTPS.
    #[must_use]
    pub fn danger_allow_http_loopback(mut self) -> Self {
        self.allow_http_loopback = true;
        self
    }
}

impl RemoteJwksConfig {
    /// Accepts high-S ECDSA signatures from this issuer's keys (see
    /// [`KeyMaterial::danger_accept_high_s`](crate::KeyMaterial::danger_accept_high_s)).
    /// Signers that do not normalise S (OpenSSL, and so Node's `jose`) produce a high-S
    /// signature about half the time; with the strict default those tokens are refused.
    /// Accepting them makes each such token malleable: its string is not unique, so it
    /// must not be used as a replay or revocation key.
    #[must_use]
    pub fn danger_accept_high_s(mut self) -> Self {
        self.accept_high_s = true;
        self
    }
}

fn invalid(reason: &str) -> TokenError {
    TokenError::InvalidConfig {
        reason: reason.to_owned(),
    }
}

fn unavailable(reason: impl Into<String>) -> TokenError {
    TokenError::JwksUnavailable {
        reason: reason.into(),
    }
}

/// Counters of a [`RemoteJwks`], for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RemoteJwksStats {
    /// Discovery documents fetched.
    pub discovery_fetches: u64,
    /// JWKS requests sent (including those answered 304).
    pub jwks_fetches: u64,
    /// JWKS requests answered 304 Not Modified.
    pub not_modified: u64,
    /// Refreshes that failed (transport, status, or document).
    pub failures: u64,
}

#[derive(Debug)]
struct Snapshot {
    keys: Arc<SigningKeys>,
    /// The kids of `keys` (fixed: the set is never changed after import).
    kids: Vec<KeyId>,
    /// Serve without refreshing until then.
    fresh_until: UnixTime,
    /// Serve at all until then (fresh_until + max_staleness).
    serve_until: UnixTime,
    /// The freshness lifetime it was given (kept by a 304 without `Cache-Control`).
    ttl: Duration,
    /// Where it was fetched from.
    url: Url,
    etag: Option<String>,
}

#[derive(Debug)]
enum Source {
    Discovery { issuer: String, url: Url },
    Jwks,
}

#[derive(Debug, Default)]
struct FetchState {
    /// The JWKS URL: fixed, or from discovery (with when to discover again).
    jwks_uri: Option<(Url, UnixTime)>,
    last_attempt: Option<UnixTime>,
}

#[derive(Debug)]
struct Inner {
    source: Source,
    http: Arc<dyn HttpClient>,
    provider: Provider,
    config: RemoteJwksConfig,
    /// Replaced whole by each refresh; read without a lock on the hot path.
    snapshot: ArcSwapOption<Snapshot>,
    /// Bumped by every completed refresh attempt; lets a waiter see that one happened.
    generation: AtomicU64,
    fetch: tokio::sync::Mutex<FetchState>,
    discovery_fetches: AtomicU64,
    jwks_fetches: AtomicU64,
    not_modified: AtomicU64,
    failures: AtomicU64,
}

/// One issuer's JWKS fetched over HTTP(S) and cached: from OpenID discovery
/// ([`RemoteJwks::discover`]) or a fixed `jwks_uri` ([`RemoteJwks::from_jwks_uri`]).
/// Cheap to clone (shared state).
///
/// - Fresh for the document's `Cache-Control: max-age`, clamped (see
///   [`RemoteJwksConfig::ttl`]); refreshed with `If-None-Match` when it has an `ETag`.
/// - A `kid` the cached set lacks triggers one refetch, at most one per
///   [`cooldown`](RemoteJwksConfig::cooldown) whatever the number of distinct unknown
///   kids; concurrent callers share one fetch.
/// - A failed refresh keeps the last good set serving for
///   [`max_staleness`](RemoteJwksConfig::max_staleness) past its freshness, then
///   verification fails closed ([`TokenError::JwksUnavailable`]).
/// - A refresh replaces the set whole: a key that left the JWKS stops verifying.
/// - Keys are pinned to their algorithm as [`parse_jwks`] imports them; keys it skips
///   (symmetric, private, unsupported) are never used.
#[derive(Debug, Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl RemoteJwks {
    /// The JWKS of `issuer`, found through OpenID Connect discovery: `{issuer}/.well-known/
    /// openid-configuration` (its `issuer` must equal `issuer` exactly, OpenID Connect
    /// Discovery §4.3), then its `jwks_uri`. Nothing is fetched until first needed (or
    /// [`RemoteJwks::refresh`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] if `issuer` is not an HTTPS URL (see
    /// [`RemoteJwksConfig::danger_allow_http_loopback`]) or carries a query.
    pub fn discover(
        issuer: &str,
        http: Arc<dyn HttpClient>,
        provider: Provider,
        config: RemoteJwksConfig,
    ) -> Result<Self, TokenError> {
        let base = checked_url(issuer, config.allow_http_loopback)
            .map_err(|r| invalid(&format!("issuer: {r}")))?;
        if base.query().is_some() {
            return Err(invalid("issuer: an issuer URL has no query"));
        }
        let well_known = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let url = checked_url(&well_known, config.allow_http_loopback)
            .map_err(|r| invalid(&format!("issuer: {r}")))?;
        Ok(Self::build(
            Source::Discovery {
                issuer: issuer.to_owned(),
                url,
            },
            None,
            http,
            provider,
            config,
        ))
    }

    /// The JWKS at `jwks_uri`, without discovery.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] if `jwks_uri` is not an HTTPS URL (see
    /// [`RemoteJwksConfig::danger_allow_http_loopback`]).
    pub fn from_jwks_uri(
        jwks_uri: &str,
        http: Arc<dyn HttpClient>,
        provider: Provider,
        config: RemoteJwksConfig,
    ) -> Result<Self, TokenError> {
        let url = checked_url(jwks_uri, config.allow_http_loopback)
            .map_err(|r| invalid(&format!("jwks_uri: {r}")))?;
        Ok(Self::build(
            Source::Jwks,
            Some((url, UnixTime::from_millis(u64::MAX))),
            http,
            provider,
            config,
        ))
    }

    fn build(
        source: Source,
        jwks_uri: Option<(Url, UnixTime)>,
        http: Arc<dyn HttpClient>,
        provider: Provider,
        config: RemoteJwksConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                http,
                provider,
                config,
                snapshot: ArcSwapOption::empty(),
                generation: AtomicU64::new(0),
                fetch: tokio::sync::Mutex::new(FetchState {
                    jwks_uri,
                    last_attempt: None,
                }),
                discovery_fetches: AtomicU64::new(0),
                jwks_fetches: AtomicU64::new(0),
                not_modified: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        }
    }

    /// The issuer this set was discovered from, if it was.
    pub fn issuer(&self) -> Option<&str> {
        match &self.inner.source {
            Source::Discovery { issuer, .. } => Some(issuer),
            Source::Jwks => None,
        }
    }

    /// The counters.
    pub fn stats(&self) -> RemoteJwksStats {
        let i = &self.inner;
        RemoteJwksStats {
            discovery_fetches: i.discovery_fetches.load(Ordering::Relaxed),
            jwks_fetches: i.jwks_fetches.load(Ordering::Relaxed),
            not_modified: i.not_modified.load(Ordering::Relaxed),
            failures: i.failures.load(Ordering::Relaxed),
        }
    }

    /// The cached key set if it may still be served (fresh, or stale within the bound),
    /// without fetching.
    pub fn cached(&self) -> Option<Arc<SigningKeys>> {
        let snap = self.snapshot()?;
        (self.inner.provider.now() < snap.serve_until).then(|| Arc::clone(&snap.keys))
    }

    /// The key set to verify a token whose header names `kid`: the cached set if it is
    /// fresh and holds `kid` (or `kid` is `None`); otherwise after a refresh, subject to
    /// the cooldown. The set returned may still lack `kid` (verification then says
    /// [`TokenError::UnknownKey`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::JwksUnavailable`] when no set may be served: never fetched
    /// successfully, or stale past the bound, and the refresh failed or is cooling down.
    pub async fn keys_for(&self, kid: Option<&str>) -> Result<Arc<SigningKeys>, TokenError> {
        let now = self.inner.provider.now();
        let holds = |s: &Snapshot| kid.is_none_or(|k| s.kids.iter().any(|x| x.as_str() == k));
        // The hot path: a fresh set holding the kid, read without a lock or a count.
        if let Some(s) = self.inner.snapshot.load().as_deref() {
            if now < s.fresh_until && holds(s) {
                return Ok(Arc::clone(&s.keys));
            }
        }
        let snap = self.snapshot();
        let servable = snap.as_ref().filter(|s| now < s.serve_until);
        // Stale but servable, and the set holds the kid: the caller that finds no refresh
        // running refreshes (waiting for it); the others serve the stale set at once.
        if let Some(s) = servable.filter(|s| holds(s)) {
            if let Ok(mut state) = self.inner.fetch.try_lock() {
                if self.may_fetch(&state, now) {
                    // The outcome is served from the snapshot; a failure is counted.
                    let _ = self.fetch_locked(&mut state).await;
                }
            }
            return Ok(self.cached().unwrap_or_else(|| Arc::clone(&s.keys)));
        }
        let seen = self.inner.generation.load(Ordering::Acquire);
        let mut state = self.inner.fetch.lock().await;
        let now = self.inner.provider.now();
        let waited_for_a_fetch = self.inner.generation.load(Ordering::Acquire) != seen;
        let result = if !waited_for_a_fetch && self.may_fetch(&state, now) {
            self.fetch_locked(&mut state).await
        } else {
            Ok(())
        };
        drop(state);
        match (self.cached(), result) {
            (Some(keys), _) => Ok(keys),
            (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(unavailable(
                "no JWKS may be served and a refresh is cooling down",
            )),
        }
    }

    /// Fetches now (discovery first if due), whatever the freshness and cooldown, and waits
    /// for the result: to warm the cache at startup, or after learning of a rotation.
    ///
    /// # Errors
    ///
    /// [`TokenError::JwksUnavailable`] if the fetch failed (the previous set, if any,
    /// keeps serving within its bounds).
    pub async fn refresh(&self) -> Result<(), TokenError> {
        let mut state = self.inner.fetch.lock().await;
        self.fetch_locked(&mut state).await
    }

    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.inner.snapshot.load_full()
    }

    fn may_fetch(&self, state: &FetchState, now: UnixTime) -> bool {
        state
            .last_attempt
            .is_none_or(|t| now >= t.saturating_add(self.inner.config.cooldown))
    }

    async fn fetch_locked(&self, state: &mut FetchState) -> Result<(), TokenError> {
        let now = self.inner.provider.now();
        state.last_attempt = Some(now);
        let result = self.fetch_inner(state, now).await;
        if result.is_err() {
            self.inner.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.generation.fetch_add(1, Ordering::Release);
        result
    }

    async fn fetch_inner(&self, state: &mut FetchState, now: UnixTime) -> Result<(), TokenError> {
        let cfg = &self.inner.config;
        let known = state.jwks_uri.clone();
        let jwks_uri = match (known, &self.inner.source) {
            (Some((uri, until)), _) if now < until => uri,
            (previous, Source::Discovery { issuer, url }) => {
                match self.discover_jwks_uri(issuer, url).await {
                    Ok((uri, ttl)) => {
                        state.jwks_uri = Some((uri.clone(), now.saturating_add(ttl)));
                        uri
                    }
                    // Discovery failed but an earlier jwks_uri is known: keep using it
                    // (discovery is tried again on the next refresh).
                    Err(e) => match previous {
                        Some((uri, _)) => uri,
                        None => return Err(e),
                    },
                }
            }
            (Some((uri, _)), Source::Jwks) => uri,
            (None, Source::Jwks) => return Err(unavailable("no jwks_uri")),
        };
        let previous = self.snapshot();
        // The stored ETag is the one of this URL only (discovery may have moved it).
        let etag = previous
            .as_ref()
            .filter(|s| s.url == jwks_uri)
            .and_then(|s| s.etag.clone());
        self.inner.jwks_fetches.fetch_add(1, Ordering::Relaxed);
        let response = self
            .get(&jwks_uri, etag.as_deref())
            .await
            .map_err(|e| unavailable(format!("JWKS: {e}")))?;
        let asked = |cc: Option<&str>| lifetime(cc, cfg.default_ttl, cfg.min_ttl, cfg.max_ttl);
        let new_etag = response.etag.filter(|e| e.len() <= 256 && e.is_ascii());
        let (keys, ttl, etag) = match (response.status, previous) {
            // RFC 9111 §4.3.4: a 304 updates the stored response; headers it lacks keep
            // their stored values.
            (304, Some(prev)) if etag.is_some() => {
                self.inner.not_modified.fetch_add(1, Ordering::Relaxed);
                let ttl = match response.cache_control.as_deref() {
                    Some(cc) => asked(Some(cc)),
                    None => prev.ttl,
                };
                (Arc::clone(&prev.keys), ttl, new_etag.or(etag))
            }
            (200, _) => (
                Arc::new(self.import(&response.body)?),
                asked(response.cache_control.as_deref()),
                new_etag,
            ),
            (status, _) => return Err(unavailable(format!("JWKS: HTTP status {status}"))),
        };
        let fresh_until = self.inner.provider.now().saturating_add(ttl);
        let kids = keys
            .states()
            .map_err(|e| unavailable(format!("JWKS: {e}")))?
            .into_iter()
            .map(|(kid, _, _)| kid)
            .collect();
        let snap = Snapshot {
            keys,
            kids,
            fresh_until,
            serve_until: fresh_until.saturating_add(cfg.max_staleness),
            ttl,
            url: jwks_uri,
            etag,
        };
        self.inner.snapshot.store(Some(Arc::new(snap)));
        Ok(())
    }

    async fn get(&self, url: &Url, etag: Option<&str>) -> Result<HttpResponse, HttpError> {
        let response = self
            .inner
            .http
            .get(HttpRequest {
                url,
                if_none_match: etag,
                max_body: MAX_DOCUMENT_BYTES,
            })
            .await?;
        if response.body.len() > MAX_DOCUMENT_BYTES {
            return Err(HttpError::BodyTooLarge {
                max: MAX_DOCUMENT_BYTES,
            });
        }
        Ok(response)
    }

    async fn discover_jwks_uri(
        &self,
        issuer: &str,
        url: &Url,
    ) -> Result<(Url, Duration), TokenError> {
        let cfg = &self.inner.config;
        self.inner.discovery_fetches.fetch_add(1, Ordering::Relaxed);
        let response = self
            .get(url, None)
            .await
            .map_err(|e| unavailable(format!("discovery: {e}")))?;
        if response.status != 200 {
            return Err(unavailable(format!(
                "discovery: HTTP status {}",
                response.status
            )));
        }
        let doc: Value = serde_json::from_slice(&response.body)
            .map_err(|_| unavailable("discovery: the document is not JSON"))?;
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
            return Err(unavailable(
                "discovery: the document's issuer is not the configured issuer",
            ));
        }
        let raw = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| unavailable("discovery: the document has no string jwks_uri"))?;
        let jwks_uri = checked_url(raw, cfg.allow_http_loopback)
            .map_err(|r| unavailable(format!("discovery: jwks_uri refused: {r}")))?;
        let ttl = lifetime(
            response.cache_control.as_deref(),
            cfg.max_ttl,
            cfg.min_ttl,
            cfg.max_ttl,
        );
        Ok((jwks_uri, ttl))
    }

    fn import(&self, body: &[u8]) -> Result<SigningKeys, TokenError> {
        let parsed = parse_jwks(body, self.inner.config.rsa_default)
            .map_err(|e| unavailable(format!("JWKS: {e}")))?;
        let keys = SigningKeys::new();
        for key in parsed.keys {
            let key = if self.inner.config.accept_high_s {
                key.danger_accept_high_s()
            } else {
                key
            };
            keys.insert(key, KeyState::VerifyOnly)
                .map_err(|e| unavailable(format!("JWKS: {e}")))?;
        }
        Ok(keys)
    }
}
