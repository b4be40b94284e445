//! Connection pool, options and the per-transaction session (role, tenant, timeouts); the
//! statement helpers of the stores are methods of the pool too (in `query`).

mod pipeline;
mod query;

pub(crate) use pipeline::Pipelined;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use portcullis_core::{BackendError, TenantId};
use tokio_postgres::NoTls;

use crate::error::{self, PostgresError};
use crate::tls::PgTls;

/// Which of the schema's two roles a transaction runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// [`SchemaName::app_role`]: tenant-scoped work.
    App,
    /// [`SchemaName::rotator_role`]: re-encryption over every tenant's blobs.
    Rotator,
}

/// The longest schema name: 63 bytes (PostgreSQL's identifier limit) less the `_rotator`
/// suffix of its role.
pub const MAX_SCHEMA_NAME_LEN: usize = 63 - "_rotator".len();

/// A PostgreSQL schema name: 1-55 bytes ([`MAX_SCHEMA_NAME_LEN`]) of `[a-z0-9_]`,
/// starting with a letter or `_`. Validated so it can be spliced into SQL as a quoted
/// identifier, and so its role names ([`app_role`](Self::app_role),
/// [`rotator_role`](Self::rotator_role)) fit PostgreSQL's 63-byte identifiers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

impl SchemaName {
    /// Validates a schema name.
    ///
    /// # Errors
    ///
    /// [`PostgresError::InvalidConfig`] if it is empty, longer than
    /// [`MAX_SCHEMA_NAME_LEN`] bytes, starts with `pg_` or holds a byte outside
    /// `[a-z0-9_]`.
    pub fn new(name: impl Into<String>) -> Result<Self, PostgresError> {
        let name = name.into();
        let first_ok = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
        let rest_ok = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !first_ok || !rest_ok || name.len() > MAX_SCHEMA_NAME_LEN || name.starts_with("pg_") {
            return Err(PostgresError::InvalidConfig {
                what: "schema name",
                value: name,
            });
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The schema's application role, `<schema>_app` (`portcullis_app` for the default
    /// schema): a `NOLOGIN` role [`migrate`](crate::migrate) creates, with the rights of
    /// tenant-scoped work on this schema's tables and on no other schema's.
    pub fn app_role(&self) -> String {
        format!("{}_app", self.0)
    }

    /// The schema's re-encryption role, `<schema>_rotator` (`portcullis_rotator` for the
    /// default schema): a `NOLOGIN` role [`migrate`](crate::migrate) creates, which may
    /// read every tenant's sealed blobs in this schema and swap them.
    pub fn rotator_role(&self) -> String {
        format!("{}_rotator", self.0)
    }

    /// `"schema".table`.
    pub(crate) fn table(&self, table: &str) -> String {
        format!("\"{}\".{table}", self.0)
    }
}

impl Default for SchemaName {
    fn default() -> Self {
        Self("portcullis".to_owned())
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Options of [`PgPool::connect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// The schema holding the tables; it also names the roles the stores switch to
    /// ([`SchemaName::app_role`], [`SchemaName::rotator_role`]). Default `portcullis`.
    pub schema: SchemaName,
    /// Connections in the pool. Default 16.
    pub max_connections: usize,
    /// Server-side `statement_timeout` (and `lock_timeout`) of every transaction. Default 5 s.
    pub statement_timeout: Duration,
    /// Client-side deadline of one whole store operation, including waiting for a pooled
    /// connection. Default 10 s.
    pub operation_timeout: Duration,
    /// Deadline to open a new connection. Default 5 s.
    pub connect_timeout: Duration,
    /// Check each pooled connection with a round trip before use (slower, but a
    /// connection the server closed is never handed out). Default `false`: a closed
    /// connection is detected without a round trip and replaced.
    pub verify_connections: bool,
    /// Transport security: roots, client certificate, the plaintext rule (see [`PgTls`]).
    /// Default: system roots when the URL says `sslmode=require`/`verify-full`, plain TCP
    /// only to loopback.
    pub tls: PgTls,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            schema: SchemaName::default(),
            max_connections: 16,
            statement_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            verify_connections: false,
            tls: PgTls::default(),
        }
    }
}

/// A pool of PostgreSQL connections and the options every store built on it shares.
/// Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    options: PgOptions,
    app_role: String,
    rotator_role: String,
}

impl fmt::Debug for PgPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgPool")
            .field("schema", &self.options.schema)
            .field("size", &status.size)
            .field("available", &status.available)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// Builds a pool for `url` (`postgres://user@host:port/db?...` or `key=value` form).
    /// Connections open lazily, on first use, on the tokio runtime that uses the pool.
    ///
    /// With `sslmode=verify-full` (or `require`, `verify-ca`: all verify chain and host
    /// name) every connection is TLS through rustls, against `sslrootcert`, the roots of
    /// [`PgOptions::tls`] or the system's; see [`PgTls`] for the table. Without it,
    /// connections are plain TCP and go only to loopback hosts or Unix sockets unless
    /// [`PgTls::danger_allow_plaintext_remote`].
    ///
    /// # Errors
    ///
    /// [`PostgresError::InvalidDatabaseUrl`] if the URL does not parse (the error holds
    /// no part of it); [`PostgresError::Transport`] for the plaintext rule or certificates
    /// that do not load; [`PostgresError::InvalidConfig`] if the pool cannot be built.
    pub fn connect(url: &str, options: PgOptions) -> Result<Self, PostgresError> {
        let prepared = crate::tls::prepare(url, &options.tls)?;
        let mut config = prepared.config;
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("portcullis");
        }
        let recycling_method = if options.verify_connections {
            RecyclingMethod::Verified
        } else {
            RecyclingMethod::Fast
        };
        let manager_config = ManagerConfig { recycling_method };
        #[cfg(feature = "tls")]
        let manager = match prepared.tls {
            Some(tls) => Manager::from_config(config, tls, manager_config),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        #[cfg(not(feature = "tls"))]
        let manager = Manager::from_config(config, NoTls, manager_config);
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.operation_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| PostgresError::InvalidConfig {
                what: "pool",
                value: e.to_string(),
            })?;
        Ok(Self {
            pool,
            app_role: options.schema.app_role(),
            rotator_role: options.schema.rotator_role(),
            options,
        })
    }

    /// The options.
    pub fn options(&self) -> &PgOptions {
        &self.options
    }

    /// The schema.
    pub fn schema(&self) -> &SchemaName {
        &self.options.schema
    }

    /// Closes the pool: waiting and future checkouts fail as unavailable.
    pub fn close(&self) {
        self.pool.close();
    }

    pub(crate) async fn get(
        &self,
        operation: &'static str,
    ) -> Result<deadpool_postgres::Object, BackendError> {
        self.pool.get().await.map_err(|e| error::pool(operation, e))
    }

    /// Runs `fut` under the client-side operation deadline.
    pub(crate) async fn deadline<T, E>(
        &self,
        operation: &'static str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        E: From<BackendError>,
    {
        match tokio::time::timeout(self.options.operation_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(BackendError::timeout(operation).into()),
        }
    }

    /// Runs `attempt` under the client-side operation deadline, starting it again (on a
    /// fresh connection) only if it failed because its pooled connection turned out to be
    /// closed before its transaction began, which is always safe: nothing was sent that
    /// could have changed anything. Any later failure is returned as is.
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        operation: &'static str,
        mut attempt: F,
    ) -> Result<T, E>
    where
        E: From<BackendError> + StaleCheck,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let tries = self.options.max_connections.max(1).saturating_add(1);
        self.deadline(operation, async {
            let mut n = 1;
            loop {
                match attempt().await {
                    Err(e) if e.is_stale() && n < tries => n += 1,
                    other => return other,
                }
            }
        })
        .await
    }

    /// The statement and lock timeout of every transaction, in ms (at least 1), as text.
    fn statement_timeout_ms(&self) -> String {
        self.options
            .statement_timeout
            .as_millis()
            .max(1)
            .to_string()
    }

    /// The name of `role` for this pool's schema.
    pub(crate) fn role(&self, role: Role) -> &str {
        match role {
            Role::App => &self.app_role,
            Role::Rotator => &self.rotator_role,
        }
    }

    /// Starts a transaction as `role`, with `portcullis.tenant_id` set to `tenant` (empty
    /// if `None`: row-level security then shows no tenant row) and the statement and lock
    /// timeouts, all `LOCAL` to the transaction so nothing leaks to the next checkout.
    pub(crate) async fn begin<'c>(
        &self,
        client: &'c mut deadpool_postgres::Object,
        operation: &'static str,
        role: Role,
        tenant: Option<&TenantId>,
    ) -> Result<deadpool_postgres::Transaction<'c>, BackendError> {
        let (tx, setup, params) = self.open(client, operation, role, tenant).await?;
        let [role, tenant, ms] = &params;
        tx.execute(&setup, &[role, tenant, ms])
            .await
            .map_err(|e| stale(operation, e))?;
        Ok(tx)
    }

    /// `BEGIN`, and the session-setup statement with its parameters (role, tenant,
    /// deadline in ms), prepared but not run.
    async fn open<'c>(
        &self,
        client: &'c mut deadpool_postgres::Object,
        operation: &'static str,
        role: Role,
        tenant: Option<&TenantId>,
    ) -> Result<
        (
            deadpool_postgres::Transaction<'c>,
            tokio_postgres::Statement,
            [String; 3],
        ),
        BackendError,
    > {
        let role = self.role(role).to_owned();
        let tx = client
            .transaction()
            .await
            .map_err(|e| stale(operation, e))?;
        let ms = self.statement_timeout_ms();
        let tenant = tenant.map_or("", TenantId::as_str).to_owned();
        let setup = tx
            .prepare_cached(SETUP_SQL)
            .await
            .map_err(|e| stale(operation, e))?;
        Ok((tx, setup, [role, tenant, ms]))
    }
}

/// The session setup of every transaction: the role, the RLS tenant (empty for none) and
/// the statement and lock timeouts (ms), all local to the transaction.
const SETUP_SQL: &str = "SELECT set_config('role', $1, true), set_config('portcullis.tenant_id', $2, true), \
     set_config('statement_timeout', $3, true), set_config('lock_timeout', $3, true)";

/// A pooled connection that was already closed when its transaction was to begin.
#[derive(Debug, thiserror::Error)]
#[error("connection closed before the transaction began")]
pub(crate) struct StaleConnection(#[source] tokio_postgres::Error);

fn stale(operation: &'static str, e: tokio_postgres::Error) -> BackendError {
    if e.is_closed() {
        BackendError::unavailable(operation, StaleConnection(e))
    } else {
        error::db(operation, e)
    }
}

/// Whether an error is a [`StaleConnection`] (safe to retry on another connection).
pub(crate) trait StaleCheck {
    fn is_stale(&self) -> bool;
}

impl StaleCheck for BackendError {
    fn is_stale(&self) -> bool {
        std::error::Error::source(self).is_some_and(|s| s.is::<StaleConnection>())
    }
}

impl StaleCheck for portcullis_audit::AuditError {
    fn is_stale(&self) -> bool {
        matches!(self, Self::Backend(b) if b.is_stale())
    }
}

impl StaleCheck for portcullis_keys::KeysError {
    fn is_stale(&self) -> bool {
        matches!(self, Self::Backend(b) if b.is_stale())
    }
}
