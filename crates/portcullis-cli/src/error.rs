//! The CLI's one error type and its exit codes.

use std::fmt;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or an input it names is unusable (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A check failed or the operation could not be completed (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A usage error from anything displayable.
    pub(crate) fn usage(e: impl fmt::Display) -> Self {
        Self::Usage(e.to_string())
    }

    /// A failure from anything displayable.
    pub(crate) fn failed(e: impl fmt::Display) -> Self {
        Self::Failed(e.to_string())
    }

    /// The process exit code.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
        }
    }
}

/// The result of one command.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;
