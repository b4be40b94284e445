//! Typed errors. None of them echoes a password, a pepper or the bytes of a stored hash:
//! a malformed hash is described by which part is wrong, never by its content.

use portcullis_core::RandomError;

/// Why hashing or verifying did not produce an answer. A wrong password is not an error
/// (it is [`crate::Verification::Mismatch`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is longer than the bound that keeps the cost of hashing bounded.
    #[error("the password is longer than {max} bytes")]
    TooLong {
        /// The bound, in UTF-8 bytes.
        max: usize,
    },
    /// A bcrypt hash can only check the first 72 bytes of a password; a longer candidate
    /// is refused rather than truncated (truncation would accept any suffix).
    #[error(
        "bcrypt checks at most 72 bytes of a password; this one has {len} (refused, not truncated)"
    )]
    BcryptTooLong {
        /// The candidate's length in bytes.
        len: usize,
    },
    /// The limit on hashes in flight was reached and no slot freed up within the wait.
    #[error("too many password hashes in flight; try again shortly")]
    Busy,
    /// The stored hash is not a well-formed string of a scheme we verify.
    #[error("the stored hash is malformed ({reason})")]
    MalformedHash {
        /// Which part is wrong (never the hash's bytes).
        reason: &'static str,
    },
    /// The stored hash is of a scheme this crate does not verify.
    #[error("the stored hash uses an unsupported scheme ({scheme})")]
    UnsupportedScheme {
        /// The scheme, or `"unknown"`.
        scheme: &'static str,
    },
    /// The stored hash asks for more work than this verifier allows (a denial-of-service
    /// guard against planted or corrupted hashes).
    #[error("the stored hash's {what} ({value}) is above this verifier's limit ({limit})")]
    CostAboveLimit {
        /// Which parameter.
        what: &'static str,
        /// Its value in the hash.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The stored hash was made with a pepper this verifier does not hold.
    #[error("the stored hash names pepper {id}, which this verifier does not hold")]
    UnknownPepper {
        /// The pepper id in the hash.
        id: u32,
    },
    /// The random generator failed (no salt, so no hash).
    #[error("the random generator failed")]
    Random(#[from] RandomError),
    /// The hash function refused its inputs (should not happen with validated parameters).
    #[error("hashing failed ({reason})")]
    Hashing {
        /// What failed.
        reason: &'static str,
    },
}

/// A configuration the builder refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Argon2 parameters below the enforced floor.
    #[error("Argon2 parameters below the floor: {reason}")]
    BelowFloor {
        /// Which bound.
        reason: &'static str,
    },
    /// A value out of its allowed range.
    #[error("{what} out of range: {reason}")]
    OutOfRange {
        /// The setting.
        what: &'static str,
        /// The allowed range.
        reason: &'static str,
    },
    /// A pepper shorter than 32 bytes, or two peppers with one id.
    #[error("pepper refused: {reason}")]
    Pepper {
        /// Why.
        reason: &'static str,
    },
}
