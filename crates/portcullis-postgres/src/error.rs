//! The crate's error type and the mapping of driver errors onto [`BackendError`].

use portcullis_core::{BackendError, BackendErrorKind};

/// Every failure of `portcullis-postgres` outside the trait methods (which return the
/// trait's own error wrapping a [`BackendError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// A configuration value is not acceptable.
    #[error("invalid {what}: `{value}`")]
    InvalidConfig {
        /// What was rejected.
        what: &'static str,
        /// The rejected value (never secret).
        value: String,
    },
    /// A migration already applied in the database differs from the one embedded in this
    /// build (someone edited a migration after release, or two versions disagree).
    #[error("migration {version} `{name}` in the database differs from the embedded one")]
    MigrationMismatch {
        /// The migration's version.
        version: i32,
        /// The migration's name.
        name: &'static str,
    },
    /// The database holds a migration newer than this build knows.
    #[error("the database has migration {0}, newer than this build knows")]
    MigrationFromTheFuture(i32),
    /// The database failed, timed out or returned something unexpected; fail closed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// SQLSTATE classes and codes that mean "try again later" rather than "bad request".
fn kind_of(err: &tokio_postgres::Error) -> BackendErrorKind {
    if err.is_closed() {
        return BackendErrorKind::Unavailable;
    }
    let Some(code) = err.code() else {
        // No SQLSTATE: an I/O or protocol failure on the connection.
        return BackendErrorKind::Unavailable;
    };
    let code = code.code();
    match code {
        // query_canceled (statement_timeout), lock_not_available (lock_timeout).
        "57014" | "55P03" => BackendErrorKind::Timeout,
        // serialization_failure, deadlock_detected, unique_violation.
        "40001" | "40P01" | "23505" => BackendErrorKind::Conflict,
        // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now,
        // too_many_connections.
        "57P01" | "57P02" | "57P03" | "53300" => BackendErrorKind::Unavailable,
        c if c.starts_with("08") => BackendErrorKind::Unavailable,
        // data_corrupted, index_corrupted.
        "XX001" | "XX002" => BackendErrorKind::Corrupt,
        _ => BackendErrorKind::Other,
    }
}

/// Maps a driver error of `operation` onto a typed [`BackendError`], keeping the source.
pub(crate) fn db(operation: &'static str, err: tokio_postgres::Error) -> BackendError {
    BackendError::new(kind_of(&err), operation, err)
}

/// Maps a pool failure (no connection within the wait timeout, connect refused, ...).
pub(crate) fn pool(operation: &'static str, err: deadpool_postgres::PoolError) -> BackendError {
    use deadpool_postgres::PoolError;
    match err {
        PoolError::Timeout(_) => BackendError::timeout(operation),
        PoolError::Backend(e) => db(operation, e),
        other => BackendError::unavailable(operation, other),
    }
}

/// A stored value that does not decode (a wrong-length hash, a negative size, ...).
pub(crate) fn corrupt(operation: &'static str, what: impl Into<String>) -> BackendError {
    BackendError::corrupt(operation, CorruptRow(what.into()))
}

/// The source of a [`corrupt`] error.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row: {0}")]
pub(crate) struct CorruptRow(String);
