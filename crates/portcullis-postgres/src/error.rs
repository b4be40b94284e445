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
    /// The database URL does not parse. The error holds no part of the URL, in its
    /// message or as a source, since the URL may carry a password (in the userinfo or
    /// as `password=` in the query or key=value form) anywhere.
    #[error(
        "the database url does not parse as a PostgreSQL URL or key=value string (not shown: it may hold a password)"
    )]
    InvalidDatabaseUrl,
    /// The transport security settings are not acceptable (plain TCP to a remote host,
    /// an unknown `sslmode`, certificates that do not load). The message is fixed: it
    /// never holds the URL or a file's contents.
    #[error("invalid transport security: {reason}")]
    Transport {
        /// What was wrong.
        reason: &'static str,
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
    /// A role [`migrate`](crate::migrate) would adopt as one of the schema's roles
    /// already exists with an attribute that defeats it: `LOGIN` (anyone with its
    /// password is the application), `SUPERUSER` or `BYPASSRLS` (row-level security does
    /// not apply). Nothing was changed; drop or alter the role, or use another schema.
    #[error("role `{role}` exists with {attribute}; migrate will not adopt it")]
    UnsafeRole {
        /// The role's name (derived from the schema name; never secret).
        role: String,
        /// `LOGIN`, `SUPERUSER` or `BYPASSRLS`.
        attribute: &'static str,
    },
    /// [`migrate_with`](crate::migrate_with) asked for audit tables hash-partitioned into
    /// `requested` partitions, but the schema's audit tables have `found` partitions (0:
    /// plain tables). The layout is chosen once, when the audit tables are created empty;
    /// nothing was changed. Use [`migrate`](crate::migrate) (which accepts either layout)
    /// or a fresh schema.
    #[error(
        "the audit tables have {found} hash partitions (0: not partitioned), not the {requested} asked for; the layout is fixed when they are created"
    )]
    AuditLayoutMismatch {
        /// The partition count asked for.
        requested: u16,
        /// The partition count found.
        found: u16,
    },
    /// The database holds a migration newer than this build knows.
    #[error("the database has migration {0}, newer than this build knows")]
    MigrationFromTheFuture(i32),
    /// The database failed, timed out or returned something unexpected; fail closed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A tenant's audit rows disagree with each other: found by [`PgAuditStore`]'s reads
/// (so by [`AuditLog::verify`](portcullis_audit::AuditLog::verify)), which fail with
/// [`AuditError::Backend`](portcullis_audit::AuditError::Backend) of kind
/// [`BackendErrorKind::Corrupt`] whose [`source`](std::error::Error::source) is this error.
/// Since migration 4 the database refuses to commit such rows; they can still exist from
/// before it, or be written by a role that disables the triggers. The crate docs give the
/// repair procedure.
///
/// [`PgAuditStore`]: crate::PgAuditStore
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditIntegrityError {
    /// An entry is stored at or beyond the head's size: it was inserted without the head
    /// move that every append commits with it.
    #[error("audit entry {seq} lies at or beyond the head's size {head_size}")]
    EntryBeyondHead {
        /// The lowest such seq.
        seq: u64,
        /// The head's size.
        head_size: u64,
    },
    /// The head does not name its last entry: the entry at `head_size - 1` is missing or
    /// has another hash (or a size-0 head has a non-zero hash). The head was moved past
    /// the entries or rewritten.
    #[error("the audit head (size {head_size}) does not name its last entry")]
    HeadMismatch {
        /// The head's size.
        head_size: u64,
    },
    /// A stored checkpoint commits to more entries than the head holds.
    #[error("a checkpoint of size {checkpoint_size} exceeds the head's size {head_size}")]
    CheckpointBeyondHead {
        /// The largest stored checkpoint size.
        checkpoint_size: u64,
        /// The head's size.
        head_size: u64,
    },
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
        // data_corrupted, index_corrupted; and the audit consistency triggers
        // (migration 4: PC001 entry beyond the head, PC002 head not naming its last
        // entry, PC003 checkpoint beyond the head).
        "XX001" | "XX002" | "PC001" | "PC002" | "PC003" => BackendErrorKind::Corrupt,
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

/// The SQLSTATE of the driver error behind `err`, if it is one.
pub(crate) fn sqlstate(err: &BackendError) -> Option<&tokio_postgres::error::SqlState> {
    std::error::Error::source(err)?
        .downcast_ref::<tokio_postgres::Error>()?
        .code()
}
