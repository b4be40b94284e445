//! A cached reader for runtime secrets: a database-first source, the environment as a
//! fallback for bootstrap secrets, a TTL, single-flight on a miss (every waiter gets the
//! one lookup's outcome: value, none or error), failures remembered briefly, and optional
//! serve-stale on an outage (never for a secret the source has since said it lacks).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::lock::Mutex as AsyncMutex;
use portcullis_core::{BackendError, BackendErrorKind, Provider, SecretString, UnixTime};
use serde::{Deserialize, Serialize};

use crate::KeysError;

/// The name of a runtime secret: 1-128 bytes of `[A-Za-z0-9_.:/-]`, starting with a
/// letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    /// Validates a name.
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] if empty, too long or outside the alphabet.
    pub fn new(name: impl Into<String>) -> Result<Self, KeysError> {
        let name = name.into();
        let ok_start = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        let ok_chars = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'/' | b'-'));
        if !ok_start || !ok_chars || name.len() > 128 {
            return Err(KeysError::InvalidInput {
                what: "secret name",
                value: name,
            });
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SecretName {
    type Err = KeysError;
    fn from_str(s: &str) -> Result<Self, KeysError> {
        Self::new(s)
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The primary store of runtime secrets (a database table of sealed values, Vault, ...).
#[async_trait]
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// The current value of `name`, or `None` if the source does not hold it.
    ///
    /// # Errors
    /// [`KeysError::Backend`] if the source cannot answer.
    async fn fetch(&self, name: &SecretName) -> Result<Option<SecretString>, KeysError>;
}

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Environment fallback for bootstrap secrets (for example a database password that is
/// not stored in the database). Only names registered here ever read the environment, and
/// only when the source answers that it holds no value (`Ok(None)`): a source error never
/// reads the environment, and environment values are not cached (see
/// [`SecretResolver::get`]). A secret needed to reach the source itself must therefore be
/// read by the caller directly, not through a resolver over that same source.
#[derive(Clone)]
pub struct EnvFallback {
    vars: HashMap<SecretName, String>,
    lookup: Lookup,
}

impl fmt::Debug for EnvFallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvFallback")
            .field("vars", &self.vars)
            .finish_non_exhaustive()
    }
}

impl Default for EnvFallback {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvFallback {
    /// Reads the process environment (`std::env::var`).
    pub fn new() -> Self {
        Self::with_lookup(|var| std::env::var(var).ok())
    }

    /// Reads variables through `lookup` (for tests or a config map).
    pub fn with_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            vars: HashMap::new(),
            lookup: Arc::new(lookup),
        }
    }

    /// Registers `name` as a bootstrap secret read from variable `var`.
    #[must_use]
    pub fn bootstrap(mut self, name: SecretName, var: impl Into<String>) -> Self {
        self.vars.insert(name, var.into());
        self
    }

    fn get(&self, name: &SecretName) -> Option<SecretString> {
        let var = self.vars.get(name)?;
        (self.lookup)(var).map(SecretString::new)
    }
}

/// Resolver tuning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolverConfig {
    /// How long a fetched value is served from memory. Default 5 minutes.
    pub ttl: Duration,
    /// When the source fails, serve an expired value for up to this long past its TTL.
    /// Default `None`: fail closed.
    pub serve_stale_for: Option<Duration>,
    /// After the source fails for a name, calls within this long get the same failure
    /// without asking the source again (serve-stale still applies). Default 1 s; zero
    /// asks again at once (still one call per flight of concurrent callers).
    pub failure_ttl: Duration,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            serve_stale_for: None,
            failure_ttl: Duration::from_secs(1),
        }
    }
}

/// Counters of a [`SecretResolver`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverStats {
    /// Answers from the cache.
    pub hits: u64,
    /// Calls to the source.
    pub fetches: u64,
    /// Answers from the environment fallback.
    pub env_fallbacks: u64,
    /// Expired values served because the source failed.
    pub stale_served: u64,
}

#[derive(Debug)]
struct Cached {
    value: SecretString,
    fetched: UnixTime,
}

/// The last lookup of a name that did not yield a value, handed to the callers that
/// waited on it (and, for a failure, to callers within `failure_ttl`).
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Ordered with the tickets callers take before they wait.
    seq: u64,
    at: UnixTime,
    kind: OutcomeKind,
}

#[derive(Debug, Clone, Copy)]
enum OutcomeKind {
    /// The source holds no value.
    Missing,
    /// The source failed (its kind and operation, to hand out as a `Backend` error).
    Failed(BackendErrorKind, &'static str),
}

/// Cached, single-flight access to runtime secrets.
///
/// `Debug` shows the configuration and counters only (never values, nor the source's own
/// `Debug`, which may be less careful).
pub struct SecretResolver {
    source: Arc<dyn SecretSource>,
    env: EnvFallback,
    provider: Provider,
    config: ResolverConfig,
    cache: Mutex<HashMap<SecretName, Cached>>,
    outcomes: Mutex<HashMap<SecretName, Outcome>>,
    seq: AtomicU64,
    flights: Mutex<HashMap<SecretName, Arc<AsyncMutex<()>>>>,
    hits: AtomicU64,
    fetches: AtomicU64,
    env_fallbacks: AtomicU64,
    stale_served: AtomicU64,
}

impl fmt::Debug for SecretResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretResolver")
            .field("env", &self.env)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SecretResolver {
    /// A resolver over `source`, with `env` for bootstrap secrets.
    pub fn new(
        source: Arc<dyn SecretSource>,
        env: EnvFallback,
        provider: Provider,
        config: ResolverConfig,
    ) -> Self {
        Self {
            source,
            env,
            provider,
            config,
            cache: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            flights: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            env_fallbacks: AtomicU64::new(0),
            stale_served: AtomicU64::new(0),
        }
    }

    fn age_ok(&self, fetched: UnixTime, now: UnixTime, extra: Duration) -> bool {
        fetched
            .checked_add(self.config.ttl)
            .and_then(|t| t.checked_add(extra))
            .is_some_and(|until| now < until)
            && now >= fetched
    }

    fn cached(&self, name: &SecretName, extra: Duration) -> Option<SecretString> {
        let now = self.provider.now();
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(name)
            .filter(|c| self.age_ok(c.fetched, now, extra))
            .map(|c| c.value.clone())
    }

    fn store(&self, name: &SecretName, value: &SecretString) {
        let fetched = self.provider.now();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                name.clone(),
                Cached {
                    value: value.clone(),
                    fetched,
                },
            );
    }

    /// The value of `name`: from the cache if fresh, else from the source (one fetch even
    /// when many tasks miss at once), else, only when the source answers that it has no
    /// value (`Ok(None)`), from the environment if `name` is a bootstrap secret.
    ///
    /// Only source values are cached. An environment value is never cached: every call
    /// that misses the cache asks the source again, so a value later stored at the source
    /// takes over at once. A source error never falls back to the environment (a secret
    /// deleted at the source would otherwise reappear during an outage); it fails closed
    /// unless serve-stale applies to a previously fetched source value.
    ///
    /// # Errors
    /// [`KeysError::SecretNotFound`] if the source has no value and the environment holds
    /// none either; the source's [`KeysError::Backend`] error if it fails and serve-stale
    /// does not apply (even for bootstrap names).
    pub async fn get(&self, name: &SecretName) -> Result<SecretString, KeysError> {
        if let Some(v) = self.cached(name, Duration::ZERO) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        // Outcomes recorded after this ticket answer this call: it waited for them.
        let ticket = self.seq.load(Ordering::SeqCst);
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(flights.entry(name.clone()).or_default())
        };
        let _guard = flight.lock().await;
        if let Some(v) = self.cached(name, Duration::ZERO) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        let now = self.provider.now();
        let last = self
            .outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .copied();
        if let Some(o) = last {
            let waited = o.seq > ticket;
            let recent_failure = matches!(o.kind, OutcomeKind::Failed(..))
                && o.at
                    .checked_add(self.config.failure_ttl)
                    .is_some_and(|t| now < t);
            if waited || recent_failure {
                return self.replay(name, o.kind);
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.source.fetch(name).await {
            Ok(Some(value)) => {
                self.store(name, &value);
                self.outcomes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(name);
                Ok(value)
            }
            // The source is authoritative: the environment answers only when the source
            // positively says it has no value, and that answer is not cached, so a value
            // added at the source takes over on the next call. A value cached earlier is
            // dropped: deleted at the source, it must not come back as a stale value
            // during a later outage.
            Ok(None) => {
                self.invalidate(name);
                self.record(name, OutcomeKind::Missing);
                self.replay(name, OutcomeKind::Missing)
            }
            // Never the environment on an error: a secret deleted at the source must not
            // reappear from a stale variable while the source is down.
            Err(error) => {
                let kind = match &error {
                    KeysError::Backend(e) => OutcomeKind::Failed(e.kind(), e.operation()),
                    _ => OutcomeKind::Failed(BackendErrorKind::Other, "secret source"),
                };
                self.record(name, kind);
                match self.stale(name) {
                    Some(v) => Ok(v),
                    None => Err(error),
                }
            }
        }
    }

    fn record(&self, name: &SecretName, kind: OutcomeKind) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        self.outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                name.clone(),
                Outcome {
                    seq,
                    at: self.provider.now(),
                    kind,
                },
            );
    }

    /// The answer an outcome gives without asking the source.
    fn replay(&self, name: &SecretName, kind: OutcomeKind) -> Result<SecretString, KeysError> {
        match kind {
            OutcomeKind::Missing => self
                .env_value(name)
                .ok_or_else(|| KeysError::SecretNotFound(name.as_str().to_owned())),
            OutcomeKind::Failed(kind, operation) => match self.stale(name) {
                Some(v) => Ok(v),
                None => Err(KeysError::Backend(BackendError::without_source(
                    kind, operation,
                ))),
            },
        }
    }

    /// An expired source value within the serve-stale bound, if configured.
    fn stale(&self, name: &SecretName) -> Option<SecretString> {
        let extra = self.config.serve_stale_for?;
        let v = self.cached(name, extra)?;
        self.stale_served.fetch_add(1, Ordering::Relaxed);
        Some(v)
    }

    fn env_value(&self, name: &SecretName) -> Option<SecretString> {
        let value = self.env.get(name)?;
        self.env_fallbacks.fetch_add(1, Ordering::Relaxed);
        Some(value)
    }

    /// Forgets the cached value of `name` (after it was changed at the source).
    pub fn invalidate(&self, name: &SecretName) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    /// Counters so far.
    pub fn stats(&self) -> ResolverStats {
        ResolverStats {
            hits: self.hits.load(Ordering::Relaxed),
            fetches: self.fetches.load(Ordering::Relaxed),
            env_fallbacks: self.env_fallbacks.load(Ordering::Relaxed),
            stale_served: self.stale_served.load(Ordering::Relaxed),
        }
    }
}
