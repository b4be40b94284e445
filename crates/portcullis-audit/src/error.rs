//! The one error type of this crate.

use portcullis_core::BackendError;

/// What is wrong at the first bad position of a hash chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainFault {
    /// The entry's stored hash is not the SHA-256 of its canonical encoding: a field was
    /// changed after the entry was written.
    HashMismatch,
    /// The entry's previous-hash field does not equal the hash of the entry before it:
    /// an entry was removed, inserted or rewritten before this one.
    BrokenLink,
    /// The entry carries a later seq than expected and the expected one never follows:
    /// entries are missing.
    Gap {
        /// The seq the entry at this position carries.
        found: u64,
    },
    /// The entry carries a different seq than its position and the expected seq appears
    /// elsewhere (or an earlier seq repeats): entries were reordered or duplicated.
    Reorder {
        /// The seq the entry at this position carries.
        found: u64,
    },
    /// The entry belongs to another tenant.
    WrongTenant,
    /// The line holding this position could not be parsed as an entry.
    Malformed,
}

impl std::fmt::Display for ChainFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HashMismatch => f.write_str("hash mismatch"),
            Self::BrokenLink => f.write_str("broken link to the previous entry"),
            Self::Gap { found } => write!(f, "gap (found seq {found})"),
            Self::Reorder { found } => {
                write!(f, "reordered or duplicated entry (found seq {found})")
            }
            Self::WrongTenant => f.write_str("entry of another tenant"),
            Self::Malformed => f.write_str("malformed entry"),
        }
    }
}

/// Every failure of `portcullis-audit`.
///
/// Structural problems are specific; signature failures are opaque on purpose.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A field of an entry is not acceptable (too long, bad characters, ...).
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Metadata is not a JSON object this crate can encode canonically.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// A hash chain is broken; `seq` is the first bad position.
    #[error("chain broken at seq {seq}: {fault}")]
    ChainBroken {
        /// The seq expected at the first bad position.
        seq: u64,
        /// What is wrong there.
        fault: ChainFault,
    },
    /// A Merkle proof or its parameters are malformed (wrong length, index ≥ size, size 0,
    /// a hash that is not 32 bytes).
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    /// A well-formed Merkle proof does not lead to the expected root.
    #[error("proof does not match the root")]
    ProofMismatch,
    /// A signed note or checkpoint does not parse.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// A key string does not parse.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// No valid signature by the pinned key (opaque on purpose).
    #[error("invalid signature")]
    InvalidSignature,
    /// A checkpoint names another log or tenant.
    #[error("checkpoint origin `{found}` is not the expected `{expected}`")]
    OriginMismatch {
        /// The origin the verifier pinned.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// The log holds fewer entries than a checkpoint already committed to.
    #[error("log truncated: checkpoint covers {checkpoint_size} entries, log has {log_size}")]
    Truncated {
        /// The size the checkpoint commits to.
        checkpoint_size: u64,
        /// The number of entries present.
        log_size: u64,
    },
    /// The log's first `size` entries do not produce the checkpoint's root: the log was
    /// rewritten.
    #[error("log rewritten: the first {size} entries do not match the checkpoint root")]
    RootMismatch {
        /// The checkpoint size at which roots differ.
        size: u64,
    },
    /// A checkpoint is older (smaller) than one already stored.
    #[error("checkpoint size {new} is below the stored checkpoint size {stored}")]
    CheckpointRegression {
        /// Size of the stored checkpoint.
        stored: u64,
        /// Size of the rejected one.
        new: u64,
    },
    /// A read asked for entries that do not exist.
    #[error("range {start}..{end} is outside the log of {size} entries")]
    OutOfRange {
        /// First seq asked for.
        start: u64,
        /// One past the last seq asked for.
        end: u64,
        /// Entries in the log.
        size: u64,
    },
    /// The operation needs a checkpoint signer and none is configured.
    #[error("no checkpoint signer configured")]
    NoSigner,
    /// The file store found an incomplete last line (a write torn by a crash). Nothing was
    /// dropped or accepted; an operator must inspect and repair the file.
    #[error("torn write: line {line} of `{path}` is incomplete")]
    TornWrite {
        /// The file.
        path: String,
        /// The 1-based line number of the incomplete line.
        line: u64,
    },
    /// A redactor or pseudonymizer could not do its job.
    #[error("redaction failed: {0}")]
    Redaction(String),
    /// A store or key service failed; callers must fail closed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl AuditError {
    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
