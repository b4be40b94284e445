//! Seal counters per key version, so operators rotate before random nonces get risky.
//!
//! NIST SP 800-38D §8.3 caps the number of AES-GCM invocations with random 96-bit nonces
//! under one key at 2^32 (collision probability then stays below 2^-32). Keys here are
//! derived per tenant, so every derived key sees at most as many seals as its master
//! version; counting per master version is therefore conservative.

use serde::{Deserialize, Serialize};

use crate::keyring::KeyVersion;

/// Thresholds for the per-version seal counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePolicy {
    /// From this many seals on, a version reports [`UsageState::Warning`].
    pub warn_after: u64,
    /// At this many seals the version refuses to seal ([`crate::KeysError::SealLimitReached`]).
    pub limit: u64,
}

impl Default for UsagePolicy {
    /// Warn at 2^31 seals, refuse at 2^32.
    fn default() -> Self {
        Self {
            warn_after: 1 << 31,
            limit: 1 << 32,
        }
    }
}

/// How close a version is to its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UsageState {
    /// Below the warning threshold.
    Ok,
    /// At or above the warning threshold: rotate soon.
    Warning,
    /// At the limit: this version no longer seals.
    Exhausted,
}

/// The seal count of one key version in this process (plus any restored count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionUsage {
    /// The key version.
    pub version: KeyVersion,
    /// Seals counted.
    pub seals: u64,
    /// Where that count stands against the policy.
    pub state: UsageState,
}

impl UsagePolicy {
    pub(crate) fn state(&self, seals: u64) -> UsageState {
        if seals >= self.limit {
            UsageState::Exhausted
        } else if seals >= self.warn_after {
            UsageState::Warning
        } else {
            UsageState::Ok
        }
    }
}
