//! Running statements on a [`PgPool`]: prepare through the connection's statement cache,
//! run, and map every driver error onto a [`BackendError`] of the operation (which each
//! store's error type wraps with `?`).

use std::future::Future;

use deadpool_postgres::{Object, Transaction};
use portcullis_core::{BackendError, TenantId};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use super::{PgPool, Role};
use crate::error;

/// The parameters of one statement.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What one statement returns, and which driver call produces it.
pub(crate) trait Fetch: Sized {
    /// Runs the prepared `stmt` with `params` in `tx`.
    fn run(
        tx: &Transaction<'_>,
        stmt: &Statement,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Self, tokio_postgres::Error>> + Send;

    /// Runs the prepared `stmt` with `params` on `client` (inside a transaction driven by
    /// hand, see `pipeline`).
    fn run_on(
        client: &tokio_postgres::Client,
        stmt: &Statement,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Self, tokio_postgres::Error>> + Send;
}

macro_rules! fetch_via {
    ($(#[$doc:meta])* $ty:ty => $method:ident) => {
        $(#[$doc])*
        impl Fetch for $ty {
            fn run(
                tx: &Transaction<'_>,
                stmt: &Statement,
                params: Params<'_>,
            ) -> impl Future<Output = Result<Self, tokio_postgres::Error>> + Send {
                tx.$method(stmt, params)
            }

            fn run_on(
                client: &tokio_postgres::Client,
                stmt: &Statement,
                params: Params<'_>,
            ) -> impl Future<Output = Result<Self, tokio_postgres::Error>> + Send {
                client.$method(stmt, params)
            }
        }
    };
}

fetch_via!(
    /// At most one row (`query_opt`; more than one is an error).
    Option<Row> => query_opt
);
fetch_via!(
    /// Exactly one row (`query_one`).
    Row => query_one
);
fetch_via!(
    /// Every row (`query`).
    Vec<Row> => query
);
fetch_via!(
    /// The number of rows touched (`execute`).
    u64 => execute
);

impl PgPool {
    /// Runs `sql` (prepared once per connection) in `tx`, a transaction of this pool; the
    /// annotated result type picks the driver call (see [`Fetch`]).
    pub(crate) async fn fetch<T: Fetch>(
        &self,
        tx: &Transaction<'_>,
        op: &'static str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<T, BackendError> {
        let stmt = tx.prepare_cached(sql).await.map_err(|e| error::db(op, e))?;
        T::run(tx, &stmt, params)
            .await
            .map_err(|e| error::db(op, e))
    }

    /// Commits `tx`, a transaction of this pool.
    pub(crate) async fn commit(
        &self,
        tx: Transaction<'_>,
        op: &'static str,
    ) -> Result<(), BackendError> {
        tx.commit().await.map_err(|e| error::db(op, e))
    }

    /// Opens a transaction on `client` as the application role, scoped to `tenant`.
    pub(crate) async fn begin_tenant<'c>(
        &self,
        client: &'c mut Object,
        op: &'static str,
        tenant: &TenantId,
    ) -> Result<Transaction<'c>, BackendError> {
        self.begin(client, op, Role::App, Some(tenant)).await
    }

    /// Runs one statement in its own transaction as `role` (scoped to `tenant` if given) on
    /// a pooled client, and commits.
    pub(crate) async fn single_statement<T: Fetch>(
        &self,
        op: &'static str,
        role: Role,
        tenant: Option<&TenantId>,
        sql: &str,
        params: Params<'_>,
    ) -> Result<T, BackendError> {
        let mut client = self.get(op).await?;
        let tx = self.begin(&mut client, op, role, tenant).await?;
        let out = self.fetch(&tx, op, sql, params).await?;
        self.commit(tx, op).await?;
        Ok(out)
    }
}
