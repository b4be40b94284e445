//! Configuration and the shared connection.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{BackendError, Provider, UnixTime};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{RedisError, backend};
use crate::keyspace::KeySpace;
use crate::scripts::Scripts;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    prefix: String,
    command_timeout: Duration,
    connect_timeout: Duration,
    reconnect_retries: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            prefix: "portcullis".to_owned(),
            command_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            reconnect_retries: 2,
        }
    }
}

impl RedisConfig {
    /// Defaults: prefix `portcullis`, 500 ms per command, 1 s to connect, 2 reconnect
    /// attempts per failed command.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key starts with `prefix:` (1-64 characters of `[A-Za-z0-9._:-]`), so several
    /// services or environments can share one server.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a command (script) may take before it fails with a `Timeout` backend
    /// error.
    #[must_use]
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The longest a (re)connection may take.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times the connection manager retries a reconnection before giving up on
    /// one command (each command still fails within its own deadline).
    #[must_use]
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }
}

/// A connection to one Redis/Valkey server (auto-reconnecting, multiplexed), the key
/// space and the scripts. Cheap to clone; every store of this crate is built from one.
#[derive(Clone)]
pub struct RedisBackend {
    pub(crate) conn: ConnectionManager,
    pub(crate) keys: KeySpace,
    pub(crate) scripts: Arc<Scripts>,
    pub(crate) provider: Provider,
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("keys", &self.keys)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` where
    /// the `redis` crate was built with TLS), reading time from `provider`
    /// ([`Provider::system`] in production; see "Time" in the crate docs: the clock
    /// computes retention and the replay guard's and limiter's "now").
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidConfig`] for a bad URL or prefix, [`RedisError::Backend`] if
    /// the server cannot be reached within the connect timeout.
    pub async fn connect(
        url: &str,
        config: RedisConfig,
        provider: Provider,
    ) -> Result<Self, RedisError> {
        let keys = KeySpace::new(&config.prefix)?;
        let client = redis::Client::open(url).map_err(|_| RedisError::InvalidConfig {
            reason: "redis url does not parse".to_owned(),
        })?;
        let mgr_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.command_timeout))
            .set_connection_timeout(Some(config.connect_timeout))
            .set_number_of_retries(config.reconnect_retries)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_with_config(client, mgr_config)
            .await
            .map_err(|e| backend("redis.connect", e))?;
        Ok(Self {
            conn,
            keys,
            scripts: Arc::new(Scripts::new()),
            provider,
        })
    }

    /// The key space (for operators and tests: where each record lives).
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    /// Sends `PING`.
    ///
    /// # Errors
    ///
    /// A [`BackendError`] if the server does not answer.
    pub async fn ping(&self) -> Result<(), BackendError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| backend("redis.ping", e))
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.provider.now()
    }

    /// Runs a prepared script invocation (EVALSHA, then SCRIPT LOAD + EVALSHA on NOSCRIPT).
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, BackendError> {
        let mut conn = self.conn.clone();
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| backend(op, e))
    }

    /// Runs one plain command.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, BackendError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn).await.map_err(|e| backend(op, e))
    }
}

/// Milliseconds from `now` to `until`, at least 1 (a PX argument).
pub(crate) fn ttl_ms(until: UnixTime, now: UnixTime) -> u64 {
    until.as_millis().saturating_sub(now.as_millis()).max(1)
}
