//! A tenant transaction in two round trips, for the audit append: `BEGIN`, the session
//! setup and a first statement (the head lock) are sent together; the last statement and
//! `COMMIT` are sent together.
//!
//! tokio-postgres pipelines requests that are in flight at once on one connection, and the
//! server runs them in the order they were sent. If a statement fails, the transaction is
//! aborted and the pipelined `COMMIT` ends it as a rollback, so nothing is written; the
//! statement's own error is what the caller gets. The last statement must therefore fail
//! (not merely match nothing) when it must not commit.
//!
//! The transaction is driven by hand (no `Transaction` guard), so a [`Pipelined`] that is
//! dropped before [`Pipelined::run_and_commit`] finished (an error, a cancelled future)
//! takes its connection out of the pool and closes it: the server then rolls back, and no
//! connection goes back to the pool inside a transaction.

use deadpool_postgres::Object;
use portcullis_core::{BackendError, TenantId};

use super::query::{Fetch, Params};
use super::{PgPool, Role, SETUP_SQL, stale};
use crate::error;

/// An open transaction on a pooled connection (see the module docs).
pub(crate) struct Pipelined {
    client: Option<Object>,
}

impl Drop for Pipelined {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Detached from the pool and dropped: the connection closes.
            drop(Object::take(client));
        }
    }
}

async fn prepare(
    c: &Object,
    op: &'static str,
    sql: &str,
) -> Result<tokio_postgres::Statement, BackendError> {
    c.prepare_cached(sql).await.map_err(|e| error::db(op, e))
}

impl Pipelined {
    fn client(&self, op: &'static str) -> Result<&Object, BackendError> {
        self.client
            .as_ref()
            .ok_or_else(|| error::corrupt(op, "pipelined transaction already ended"))
    }

    /// `BEGIN`, the session setup (app role, `tenant`, deadlines) and `sql` in one round
    /// trip; returns the open transaction and `sql`'s result.
    pub(crate) async fn begin_then<T: Fetch>(
        pool: &PgPool,
        op: &'static str,
        tenant: &TenantId,
        sql: &str,
        params: Params<'_>,
    ) -> Result<(Self, T), BackendError> {
        let client = pool.get(op).await?;
        // Prepared before BEGIN (it touches no table, so the login's own rights suffice);
        // `sql` is parsed after the setup, as the role.
        let setup = client
            .prepare_cached(SETUP_SQL)
            .await
            .map_err(|e| stale(op, e))?;
        let this = Self {
            client: Some(client),
        };
        let c = this.client(op)?;
        let role = pool.role(Role::App);
        let ms = pool.statement_timeout_ms();
        let tenant = tenant.as_str();
        let (_, _, out) = futures::future::try_join3(
            async { c.batch_execute("BEGIN").await.map_err(|e| stale(op, e)) },
            async {
                c.execute(&setup, &[&role, &tenant, &ms])
                    .await
                    .map_err(|e| stale(op, e))
            },
            async {
                let stmt = prepare(c, op, sql).await?;
                T::run_on(c, &stmt, params)
                    .await
                    .map_err(|e| error::db(op, e))
            },
        )
        .await?;
        Ok((this, out))
    }

    /// Runs `sql` inside the transaction (its own round trip).
    pub(crate) async fn fetch<T: Fetch>(
        &self,
        op: &'static str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<T, BackendError> {
        let c = self.client(op)?;
        let stmt = prepare(c, op, sql).await?;
        T::run_on(c, &stmt, params)
            .await
            .map_err(|e| error::db(op, e))
    }

    /// Runs `sql` and `COMMIT` in one round trip. `sql`'s error (the transaction then
    /// rolled back) or `COMMIT`'s (a deferred constraint, a lost connection) is returned;
    /// on success the connection goes back to the pool.
    pub(crate) async fn run_and_commit<T: Fetch>(
        mut self,
        op: &'static str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<T, BackendError> {
        let c = self.client(op)?;
        // Prepared (if not cached) before COMMIT is sent: a statement still being parsed
        // when COMMIT went out would run after it, outside the transaction.
        let stmt = prepare(c, op, sql).await?;
        let (out, ()) = futures::future::try_join(
            async {
                T::run_on(c, &stmt, params)
                    .await
                    .map_err(|e| error::db(op, e))
            },
            async {
                c.batch_execute("COMMIT")
                    .await
                    .map_err(|e| error::db(op, e))
            },
        )
        .await?;
        // Committed: the connection is clean and goes back to the pool.
        drop(self.client.take());
        Ok(out)
    }
}
