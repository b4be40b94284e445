//! [`Verification`]: the answer of a verify.

/// The answer of [`crate::Passwords::verify`] for a well-formed stored hash.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. When `needs_rehash` is true, hash it again with
    /// [`crate::Passwords::hash`] and store the new string now, while the password is at hand:
    /// the stored hash is a legacy scheme, older Argon2 parameters, or an old pepper.
    Verified {
        /// Whether the stored hash is below the current policy.
        needs_rehash: bool,
    },
    /// The password does not match (or there is no such user).
    Mismatch,
}

impl Verification {
    /// True for [`Verification::Verified`].
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::Verified { .. })
    }

    /// True when verified and the stored hash should be replaced.
    pub fn needs_rehash(&self) -> bool {
        matches!(self, Self::Verified { needs_rehash: true })
    }
}
