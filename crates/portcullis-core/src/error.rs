//! The error every store, cache and key-service failure is wrapped in.

use std::error::Error as StdError;
use std::fmt;

/// What kind of failure a backend reported.
///
/// Callers must treat every kind as "cannot answer" and fail closed: a backend error never
/// means "valid", "allowed" or "not revoked".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The backend could not be reached or refused the connection.
    Unavailable,
    /// The backend did not answer within the configured time.
    Timeout,
    /// The backend answered with data that does not decode or violates an invariant.
    Corrupt,
    /// The backend rejected the operation because of a conflicting concurrent change.
    Conflict,
    /// The backend refused the call because of a rate or quota limit (AWS KMS
    /// `ThrottlingException`, HTTP 429): retry later, with backoff.
    Throttled,
    /// Any other failure; the source says more.
    Other,
}

impl fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "backend unavailable",
            Self::Timeout => "backend timed out",
            Self::Corrupt => "backend returned corrupt data",
            Self::Conflict => "backend reported a conflict",
            Self::Throttled => "backend throttled the call",
            Self::Other => "backend failed",
        })
    }
}

/// A failure of a store, cache or key service, with its original error kept as the source.
///
/// The message names the operation (for example `refresh.rotate`) and the kind; it never
/// contains the values involved, so it is safe to log.
///
/// ```
/// use portcullis_core::{BackendError, BackendErrorKind};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// let err = BackendError::unavailable("refresh.rotate", io);
/// assert_eq!(err.kind(), BackendErrorKind::Unavailable);
/// assert_eq!(err.to_string(), "backend unavailable during `refresh.rotate`");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind} during `{operation}`")]
pub struct BackendError {
    kind: BackendErrorKind,
    operation: &'static str,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl BackendError {
    /// Creates an error of the given kind for `operation`, keeping `source`.
    pub fn new(
        kind: BackendErrorKind,
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            operation,
            source: Some(source.into()),
        }
    }

    /// Creates an error with no underlying source (for example a timeout measured by us).
    pub fn without_source(kind: BackendErrorKind, operation: &'static str) -> Self {
        Self {
            kind,
            operation,
            source: None,
        }
    }

    /// The backend could not be reached.
    pub fn unavailable(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(BackendErrorKind::Unavailable, operation, source)
    }

    /// The backend did not answer in time.
    pub fn timeout(operation: &'static str) -> Self {
        Self::without_source(BackendErrorKind::Timeout, operation)
    }

    /// The backend returned data that does not decode or breaks an invariant.
    pub fn corrupt(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(BackendErrorKind::Corrupt, operation, source)
    }

    /// Any other backend failure.
    pub fn other(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(BackendErrorKind::Other, operation, source)
    }

    /// The kind of failure.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// The operation that failed, as named by the backend (for example `audit.append`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_kind_and_operation_and_keeps_source() {
        let err = BackendError::corrupt("audit.read", "bad row");
        assert_eq!(
            err.to_string(),
            "backend returned corrupt data during `audit.read`"
        );
        assert_eq!(err.kind(), BackendErrorKind::Corrupt);
        assert_eq!(err.operation(), "audit.read");
        assert_eq!(
            StdError::source(&err).map(|s| s.to_string()).as_deref(),
            Some("bad row")
        );
    }

    #[test]
    fn timeout_has_no_source() {
        let err = BackendError::timeout("tickets.consume");
        assert!(StdError::source(&err).is_none());
        assert_eq!(
            err.to_string(),
            "backend timed out during `tickets.consume`"
        );
    }

    #[test]
    fn is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + StdError>() {}
        assert_bounds::<BackendError>();
    }
}
