//! [`RedisConfig`]: prefix, topology, deadlines, transport security.

use std::time::Duration;

/// Whether [`RedisBackend::connect`](crate::RedisBackend::connect) talks to one endpoint
/// or to a Redis/Valkey Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Topology {
    /// One endpoint (a standalone server, a Sentinel-managed primary behind DNS, a proxy).
    #[default]
    Standalone,
    /// A Redis/Valkey Cluster: the URL lists seed nodes, commands follow the slot map.
    Cluster,
}

/// TLS settings for `rediss://` (feature `tls`): the roots to trust and an optional client
/// certificate. Without a CA, the system's roots are used. Certificates are PEM.
#[cfg(feature = "tls")]
#[derive(Clone, Default)]
pub struct TlsOptions {
    pub(crate) root_ca_pem: Option<Vec<u8>>,
    pub(crate) client_cert_pem: Option<Vec<u8>>,
    pub(crate) client_key_pem: Option<portcullis_core::SecretBytes>,
}

#[cfg(feature = "tls")]
impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("root_ca", &self.root_ca_pem.as_ref().map(|_| "custom"))
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(feature = "tls")]
impl TlsOptions {
    /// System roots, no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust only the CA certificate(s) in `pem` instead of the system roots.
    #[must_use]
    pub fn root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca_pem = Some(pem.into());
        self
    }

    /// Present a client certificate (chain, PEM) and its private key (PEM, kept in a
    /// zeroizing buffer) for mutual TLS.
    #[must_use]
    pub fn client_cert_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: portcullis_core::SecretBytes,
    ) -> Self {
        self.client_cert_pem = Some(cert_chain.into());
        self.client_key_pem = Some(key);
        self
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    prefix: String,
    command_timeout: Duration,
    connect_timeout: Duration,
    reconnect_retries: usize,
    topology: Topology,
    plaintext_remote: bool,
    #[cfg(feature = "tls")]
    tls: Option<TlsOptions>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            prefix: "portcullis".to_owned(),
            command_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            reconnect_retries: 2,
            topology: Topology::Standalone,
            plaintext_remote: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl RedisConfig {
    /// Defaults: prefix `portcullis`, standalone, 500 ms per operation, 1 s to connect,
    /// 2 reconnect attempts inside an operation's deadline, plain TCP only to loopback.
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

    /// The deadline of each operation, end to end: the script or command, a `NOSCRIPT`
    /// reload, cluster redirects, and any reconnection it waits for. Past it the
    /// operation fails with a `Timeout` backend error (and grants nothing).
    #[must_use]
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The longest [`RedisBackend::connect`](crate::RedisBackend::connect) (and each
    /// reconnection attempt) may take.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times the standalone connection manager retries a reconnection (always
    /// within the operation's deadline).
    #[must_use]
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// Talk to a Redis/Valkey Cluster: the URL given to `connect` lists seed nodes,
    /// separated by commas.
    #[must_use]
    pub fn cluster(mut self) -> Self {
        self.topology = Topology::Cluster;
        self
    }

    /// Sets the topology explicitly (for configuration files).
    #[must_use]
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = topology;
        self
    }

    /// Allows plain `redis://` to hosts that are not loopback addresses. Without it,
    /// `connect` refuses them: tokens, revocations and rate-limit state would cross the
    /// network readable and forgeable by anyone on the path. Use only on a network you
    /// trust end to end (a private link, a sidecar proxy doing TLS).
    #[must_use]
    pub fn danger_allow_plaintext_remote(mut self) -> Self {
        self.plaintext_remote = true;
        self
    }

    /// TLS settings for `rediss://` URLs (custom CA, client certificate). Without this,
    /// `rediss://` verifies the server against the system roots.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    pub(crate) fn prefix_str(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn command_timeout_value(&self) -> Duration {
        self.command_timeout
    }

    pub(crate) fn connect_timeout_value(&self) -> Duration {
        self.connect_timeout
    }

    /// The connect timeout handed to the redis client itself: a little longer than ours,
    /// so our own deadline (the end-to-end bound, reported as a timeout) always fires
    /// first and the client's never races it with a connection error of another kind.
    pub(crate) fn client_connect_timeout(&self) -> Duration {
        self.connect_timeout
            .saturating_add(Duration::from_millis(250))
    }

    pub(crate) fn reconnect_retries_value(&self) -> usize {
        self.reconnect_retries
    }

    pub(crate) fn topology_value(&self) -> Topology {
        self.topology
    }

    pub(crate) fn plaintext_remote_allowed(&self) -> bool {
        self.plaintext_remote
    }

    #[cfg(feature = "tls")]
    pub(crate) fn tls_options(&self) -> Option<&TlsOptions> {
        self.tls.as_ref()
    }
}
