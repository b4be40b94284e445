//! Configuration, the shared connection (one server or a cluster) and the deadline every
//! operation runs under.

mod config;
mod transport;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use portcullis_core::{BackendError, BackendErrorKind, Provider, UnixTime};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;

#[cfg(feature = "tls")]
pub use config::TlsOptions;
pub use config::{RedisConfig, Topology};

use crate::error::{RedisError, backend};
use crate::keyspace::KeySpace;
use crate::scripts::Scripts;

/// A connection the backend runs on: a standalone server (auto-reconnecting manager) or a
/// Redis/Valkey Cluster (slot-aware client following `MOVED`/`ASK`). Built by
/// [`RedisBackend::connect`], or from a connection the application already has with
/// [`RedisBackend::from_connection`].
#[derive(Clone)]
#[non_exhaustive]
pub enum RedisConnection {
    /// One endpoint: a standalone server, a primary behind Sentinel-managed DNS, or a
    /// cluster proxy.
    Standalone(ConnectionManager),
    /// A Redis/Valkey Cluster.
    Cluster(ClusterConnection),
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Standalone(_) => "RedisConnection::Standalone",
            Self::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl From<ConnectionManager> for RedisConnection {
    fn from(c: ConnectionManager) -> Self {
        Self::Standalone(c)
    }
}

impl From<ClusterConnection> for RedisConnection {
    fn from(c: ClusterConnection) -> Self {
        Self::Cluster(c)
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Standalone(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// The connection (one server or a cluster), the key space, the scripts and the clock.
/// Cheap to clone; every store of this crate is built from one.
#[derive(Clone)]
pub struct RedisBackend {
    conn: RedisConnection,
    pub(crate) keys: KeySpace,
    pub(crate) scripts: Arc<Scripts>,
    pub(crate) provider: Provider,
    deadline: std::time::Duration,
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("conn", &self.conn)
            .field("keys", &self.keys)
            .field("provider", &self.provider)
            .field("command_timeout", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// An operation ran past its `command_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("no reply within the command timeout")]
struct DeadlinePassed;

impl RedisBackend {
    /// Connects to `url`, reading time from `provider` ([`Provider::system`] in
    /// production; see "Time" in the crate docs).
    ///
    /// - [`Topology::Standalone`] (the default): `url` is one
    ///   `redis://[user:password@]host:port[/db]` or `rediss://...` URL.
    /// - [`Topology::Cluster`] ([`RedisConfig::cluster`]): `url` is one or more seed nodes
    ///   of a Redis/Valkey Cluster, separated by commas
    ///   (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`); the client discovers the rest.
    ///
    /// `rediss://` needs the `tls` feature (on by default). Plain `redis://` to a host that
    /// is not a loopback address is refused unless
    /// [`RedisConfig::danger_allow_plaintext_remote`] says otherwise.
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidConfig`] for a bad URL, prefix or TLS setting (the message never
    /// contains the URL); [`RedisError::Backend`] if the server cannot be reached within the
    /// connect timeout.
    pub async fn connect(
        url: &str,
        config: RedisConfig,
        provider: Provider,
    ) -> Result<Self, RedisError> {
        let keys = KeySpace::new(config.prefix_str())?;
        let connect = async {
            match config.topology_value() {
                Topology::Standalone => {
                    let client = transport::standalone_client(url, &config)?;
                    let mgr_config = ConnectionManagerConfig::new()
                        .set_response_timeout(Some(config.command_timeout_value()))
                        .set_connection_timeout(Some(config.client_connect_timeout()))
                        .set_number_of_retries(config.reconnect_retries_value())
                        .set_max_delay(std::time::Duration::from_millis(200));
                    ConnectionManager::new_with_config(client, mgr_config)
                        .await
                        .map(RedisConnection::Standalone)
                        .map_err(|e| RedisError::Backend(backend("redis.connect", e)))
                }
                Topology::Cluster => {
                    let client = transport::cluster_client(url, &config)?;
                    client
                        .get_async_connection()
                        .await
                        .map(RedisConnection::Cluster)
                        .map_err(|e| RedisError::Backend(backend("redis.connect", e)))
                }
            }
        };
        let conn = match tokio::time::timeout(config.connect_timeout_value(), connect).await {
            Ok(conn) => conn?,
            Err(_) => {
                return Err(RedisError::Backend(BackendError::new(
                    BackendErrorKind::Timeout,
                    "redis.connect",
                    DeadlinePassed,
                )));
            }
        };
        Ok(Self::assemble(conn, keys, &config, provider))
    }

    /// A backend on a connection the application already has (a `ConnectionManager` or a
    /// cluster connection, converted with `.into()`), with `config`'s prefix and command
    /// timeout (its connection settings are the caller's).
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidConfig`] for a bad prefix.
    pub fn from_connection(
        conn: impl Into<RedisConnection>,
        config: RedisConfig,
        provider: Provider,
    ) -> Result<Self, RedisError> {
        let keys = KeySpace::new(config.prefix_str())?;
        Ok(Self::assemble(conn.into(), keys, &config, provider))
    }

    fn assemble(
        conn: RedisConnection,
        keys: KeySpace,
        config: &RedisConfig,
        provider: Provider,
    ) -> Self {
        Self {
            conn,
            keys,
            scripts: Arc::new(Scripts::new()),
            provider,
            deadline: config.command_timeout_value(),
        }
    }

    /// The key space (for operators and tests: where each record lives).
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    /// Whether this backend talks to a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, RedisConnection::Cluster(_))
    }

    /// Sends `PING` (to a random node on a cluster).
    ///
    /// # Errors
    ///
    /// A [`BackendError`] if the server does not answer within the command timeout.
    pub async fn ping(&self) -> Result<(), BackendError> {
        self.query::<String>("redis.ping", &redis::cmd("PING"))
            .await
            .map(|_| ())
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.provider.now()
    }

    /// Runs `fut` under the command deadline: whatever the client does inside (retries,
    /// reconnects, redirects), the operation ends by `command_timeout`.
    async fn bounded<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, BackendError> {
        match tokio::time::timeout(self.deadline, fut).await {
            Ok(r) => r.map_err(|e| backend(op, e)),
            Err(_) => Err(BackendError::new(
                BackendErrorKind::Timeout,
                op,
                DeadlinePassed,
            )),
        }
    }

    /// Runs a prepared script invocation (EVALSHA, then SCRIPT LOAD + EVALSHA on NOSCRIPT),
    /// all of it within the command timeout.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, BackendError> {
        let mut conn = self.conn.clone();
        self.bounded(op, invocation.invoke_async(&mut conn)).await
    }

    /// Runs one plain command within the command timeout.
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, BackendError> {
        let mut conn = self.conn.clone();
        self.bounded(op, cmd.query_async(&mut conn)).await
    }
}

/// Milliseconds from `now` to `until`, at least 1 (a PX argument).
pub(crate) fn ttl_ms(until: UnixTime, now: UnixTime) -> u64 {
    until.as_millis().saturating_sub(now.as_millis()).max(1)
}
