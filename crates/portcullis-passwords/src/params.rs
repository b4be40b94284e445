//! Argon2id parameters with enforced floors, and the limits on what a stored hash may ask
//! a verifier to do.

use crate::ConfigError;

/// Argon2id cost parameters: memory in KiB (`m`), passes (`t`), lanes (`p`).
///
/// [`Argon2Params::OWASP`] (m = 19 MiB, t = 2, p = 1) is the default: the first of the
/// equivalent configurations in OWASP's Password Storage Cheat Sheet. [`Argon2Params::new`]
/// enforces a floor that every configuration in that list meets: `m ≥ 7168` KiB (7 MiB),
/// `t ≥ 1`, `m × t ≥ 35840` (OWASP's weakest listed pair, m = 7 MiB with t = 5), `p ≥ 1`,
/// and Argon2's own `m ≥ 8p`. There is no way to build weaker parameters for hashing;
/// verification of older, weaker hashes still works and answers `needs_rehash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// The smallest memory cost the floor allows, in KiB.
pub const FLOOR_MEMORY_KIB: u32 = 7 * 1024;
/// The smallest `m × t` the floor allows (KiB × passes).
pub const FLOOR_MEMORY_TIMES_PASSES: u64 = 7 * 1024 * 5;

impl Argon2Params {
    /// OWASP's first recommendation: m = 19456 KiB (19 MiB), t = 2, p = 1.
    pub const OWASP: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Parameters at or above the floor (see the type's docs).
    ///
    /// # Errors
    /// [`ConfigError::BelowFloor`] below the floor; [`ConfigError::OutOfRange`] for
    /// more than 1 GiB, 64 passes or 16 lanes.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, ConfigError> {
        let below = |reason| Err(ConfigError::BelowFloor { reason });
        if memory_kib < FLOOR_MEMORY_KIB {
            return below("memory must be at least 7168 KiB");
        }
        if iterations < 1 {
            return below("at least one pass");
        }
        if u64::from(memory_kib) * u64::from(iterations) < FLOOR_MEMORY_TIMES_PASSES {
            return below("memory × passes must be at least 35840 (e.g. 19456 KiB × 2)");
        }
        if parallelism < 1 {
            return below("at least one lane");
        }
        let range = |what, reason| Err(ConfigError::OutOfRange { what, reason });
        if memory_kib > 1024 * 1024 {
            return range("Argon2 memory", "at most 1048576 KiB (1 GiB)");
        }
        if iterations > 64 {
            return range("Argon2 passes", "at most 64");
        }
        if parallelism > 16 {
            return range("Argon2 lanes", "at most 16");
        }
        if u64::from(memory_kib) < 8 * u64::from(parallelism) {
            return below("memory must be at least 8 KiB per lane");
        }
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

/// The most work a stored hash may ask for before verification refuses it with
/// [`crate::PasswordError::CostAboveLimit`] (no hashing is done). A hash in the database
/// is not fully trusted: a planted `m=4194304` would make every login allocate 4 GiB.
/// Defaults are generous for real imports and bounded for memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyLimits {
    /// Argon2 memory, KiB (default 262144, 256 MiB).
    pub argon2_memory_kib: u32,
    /// Argon2 passes (default 16).
    pub argon2_iterations: u32,
    /// Argon2 lanes (default 16).
    pub argon2_parallelism: u32,
    /// bcrypt cost, log2 rounds (default 14).
    pub bcrypt_cost: u32,
    /// scrypt memory, `128 × r × 2^ln` bytes (default 268435456, 256 MiB).
    pub scrypt_memory_bytes: u64,
    /// scrypt parallelism `p` (default 16).
    pub scrypt_parallelism: u32,
    /// PBKDF2 iterations (default 5,000,000; OWASP recommends 600,000 for SHA-256).
    pub pbkdf2_iterations: u32,
}

impl Default for VerifyLimits {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 256 * 1024,
            argon2_iterations: 16,
            argon2_parallelism: 16,
            bcrypt_cost: 14,
            scrypt_memory_bytes: 256 * 1024 * 1024,
            scrypt_parallelism: 16,
            pbkdf2_iterations: 5_000_000,
        }
    }
}

impl VerifyLimits {
    /// Sets the Argon2 limits (memory KiB, passes, lanes).
    pub fn with_argon2(mut self, memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        self.argon2_memory_kib = memory_kib;
        self.argon2_iterations = iterations;
        self.argon2_parallelism = parallelism;
        self
    }

    /// Sets the largest bcrypt cost.
    pub fn with_bcrypt_cost(mut self, cost: u32) -> Self {
        self.bcrypt_cost = cost;
        self
    }

    /// Sets the scrypt limits (memory bytes, parallelism).
    pub fn with_scrypt(mut self, memory_bytes: u64, parallelism: u32) -> Self {
        self.scrypt_memory_bytes = memory_bytes;
        self.scrypt_parallelism = parallelism;
        self
    }

    /// Sets the largest PBKDF2 iteration count.
    pub fn with_pbkdf2_iterations(mut self, iterations: u32) -> Self {
        self.pbkdf2_iterations = iterations;
        self
    }
}
