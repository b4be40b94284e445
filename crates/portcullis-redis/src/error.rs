//! The one error type of this crate, and the mapping of Redis failures to
//! [`BackendError`].

use portcullis_core::{BackendError, BackendErrorKind};

/// Why a Redis backend could not be built.
///
/// Store operations return the error type of the trait they implement (for example
/// `TokenError::Backend`), always wrapping a [`BackendError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// A configuration value is out of range or malformed.
    #[error("invalid redis configuration: {reason}")]
    InvalidConfig {
        /// What was wrong.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Maps a client error to a [`BackendError`] of the right kind, keeping it as the source.
pub(crate) fn backend(operation: &'static str, e: redis::RedisError) -> BackendError {
    let kind = if e.is_timeout() {
        BackendErrorKind::Timeout
    } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        BackendErrorKind::Unavailable
    } else {
        match e.kind() {
            redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => {
                BackendErrorKind::Corrupt
            }
            redis::ErrorKind::Io => BackendErrorKind::Unavailable,
            _ => BackendErrorKind::Other,
        }
    };
    BackendError::new(kind, operation, e)
}

/// A value read from Redis that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("stored field `{0}` does not decode")]
pub(crate) struct BadField(pub(crate) &'static str);

/// A script returned a shape it never returns.
#[derive(Debug, thiserror::Error)]
#[error("unexpected script reply")]
pub(crate) struct BadReply;

pub(crate) fn corrupt(operation: &'static str, field: &'static str) -> BackendError {
    BackendError::corrupt(operation, BadField(field))
}
