//! The random-nonce budget across processes and restarts: a shared, persistent count of
//! seals per (purpose, master key version), from which each process reserves blocks
//! before it seals.
//!
//! NIST SP 800-38D caps random 96-bit nonces at 2^32 seals per key. A per-process count
//! forgets every restart and ignores the other replicas; here every seal is covered by a
//! reservation recorded in a [`SealBudgetStore`] first. Reserved seals a process never
//! uses (it crashed, or stopped) are lost from the budget, never reused: the count can
//! only overstate the seals performed, which errs on the side of rotating early.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::lock::Mutex as AsyncMutex;
use portcullis_core::TenantId;

use crate::KeysError;
use crate::derive::Purpose;
use crate::keyring::KeyVersion;
use crate::sealer::Sealer;
use crate::usage::{UsagePolicy, VersionUsage};

/// A shared, persistent count of reserved seals per (purpose, key version).
///
/// Implementations: [`MemorySealBudgetStore`] (tests, one process),
/// `portcullis_postgres::PgSealBudgetStore`. Every implementation passes the conformance
/// suite in `portcullis_testkit::conformance::seal_budget`.
#[async_trait]
pub trait SealBudgetStore: Send + Sync + fmt::Debug {
    /// Atomically raises the reserved total of (`purpose`, `version`) by up to `want`,
    /// never past `limit`, and returns how many were granted (0 once the total is at
    /// `limit`). Concurrent callers never receive overlapping grants: the sum of all grants
    /// is the stored total.
    ///
    /// # Errors
    /// [`KeysError::Backend`] if the store fails (nothing granted then).
    async fn reserve(
        &self,
        purpose: &Purpose,
        version: KeyVersion,
        want: u64,
        limit: u64,
    ) -> Result<u64, KeysError>;

    /// The reserved total of (`purpose`, `version`) (0 if none).
    ///
    /// # Errors
    /// [`KeysError::Backend`] if the store fails.
    async fn reserved(&self, purpose: &Purpose, version: KeyVersion) -> Result<u64, KeysError>;
}

/// A [`SealBudgetStore`] in memory: for tests and single-process tools (it forgets
/// everything when dropped, so it does not survive restarts).
#[derive(Debug, Default)]
pub struct MemorySealBudgetStore {
    totals: Mutex<HashMap<(String, KeyVersion), u64>>,
}

impl MemorySealBudgetStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SealBudgetStore for MemorySealBudgetStore {
    async fn reserve(
        &self,
        purpose: &Purpose,
        version: KeyVersion,
        want: u64,
        limit: u64,
    ) -> Result<u64, KeysError> {
        let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        let total = totals
            .entry((purpose.as_str().to_owned(), version))
            .or_insert(0);
        let granted = want.min(limit.saturating_sub(*total));
        *total = total.saturating_add(granted);
        Ok(granted)
    }

    async fn reserved(&self, purpose: &Purpose, version: KeyVersion) -> Result<u64, KeysError> {
        let totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(totals
            .get(&(purpose.as_str().to_owned(), version))
            .copied()
            .unwrap_or(0))
    }
}

/// Keeps a [`Sealer`] with [`crate::SealerConfig::reserved_seals_only`] supplied with
/// reserved seals: it reserves blocks for the primary version from the shared
/// [`SealBudgetStore`] when fewer than half a block are left, one reservation at a time.
///
/// ```
/// # use std::sync::Arc;
/// # use portcullis_core::{Provider, TenantId};
/// # use portcullis_keys::*;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Provider::system();
/// let config = SealerConfig { reserved_seals_only: true, ..SealerConfig::default() };
/// let sealer = Sealer::with_config(
///     Purpose::new("credentials")?,
///     MasterKeys::new(KeyVersion::new(1)?, MasterKey::generate(&provider)?),
///     provider,
///     config,
/// );
/// // In production the store is shared (PostgreSQL); every replica uses the same one.
/// let budget = SealBudget::new(Arc::new(MemorySealBudgetStore::new()), config.usage);
/// let acme: TenantId = "acme".parse()?;
/// // Without a reservation the sealer refuses...
/// assert!(matches!(sealer.seal(&acme, b"c", b"x"), Err(KeysError::SealsNotReserved(_))));
/// // ...and sealing through the budget reserves first.
/// let blob = budget.seal(&sealer, &acme, b"c", b"x").await?;
/// assert_eq!(sealer.open(&acme, b"c", &blob)?.expose_secret(), b"x");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SealBudget {
    store: Arc<dyn SealBudgetStore>,
    policy: UsagePolicy,
    block: u64,
    reserving: AsyncMutex<()>,
}

/// Default number of seals reserved at a time.
pub const DEFAULT_SEAL_BLOCK: u64 = 65_536;

impl SealBudget {
    /// A budget over `store` with the limit and warning threshold of `policy` (use the
    /// sealer's [`crate::SealerConfig::usage`]), reserving [`DEFAULT_SEAL_BLOCK`] seals at a
    /// time.
    pub fn new(store: Arc<dyn SealBudgetStore>, policy: UsagePolicy) -> Self {
        Self {
            store,
            policy,
            block: DEFAULT_SEAL_BLOCK,
            reserving: AsyncMutex::new(()),
        }
    }

    /// Reserves `block` seals at a time (at least 1; builder style). Smaller blocks waste
    /// less budget when a process stops, larger ones call the store less often.
    #[must_use]
    pub fn with_block(mut self, block: u64) -> Self {
        self.block = block.max(1);
        self
    }

    /// Reserves a block for `sealer`'s primary version unless at least half a block of
    /// reserved seals is left. Returns the shared count after a reservation (`None` when
    /// none was made), with its state against the policy (rotate at `Warning`). Once the
    /// shared count is at the limit, seals still reserved here are used up first.
    ///
    /// # Errors
    /// [`KeysError::SealLimitReached`] when the shared count of the primary version is at
    /// the limit and no reserved seal is left here (rotate the master key), [`KeysError::InvalidInput`] if the sealer does
    /// not use reserved seals, [`KeysError::Backend`] if the store fails.
    pub async fn top_up(&self, sealer: &Sealer) -> Result<Option<VersionUsage>, KeysError> {
        if !sealer.uses_reserved_seals() {
            return Err(KeysError::InvalidInput {
                what: "sealer",
                value: "does not use reserved seals (SealerConfig::reserved_seals_only)".to_owned(),
            });
        }
        if self.enough_left(sealer) {
            return Ok(None);
        }
        let _one_at_a_time = self.reserving.lock().await;
        if self.enough_left(sealer) {
            return Ok(None);
        }
        let version = sealer.seal_allowance().version;
        let granted = self
            .store
            .reserve(sealer.purpose(), version, self.block, self.policy.limit)
            .await?;
        if granted == 0 {
            // The shared count is spent: seal what is still reserved here, then stop.
            let a = sealer.seal_allowance();
            if a.version == version && a.reserved.unwrap_or(0) > a.seals {
                return Ok(None);
            }
            return Err(KeysError::SealLimitReached(version));
        }
        sealer.grant_reserved(version, granted)?;
        let total = self.store.reserved(sealer.purpose(), version).await?;
        Ok(Some(VersionUsage {
            version,
            seals: total,
            state: self.policy.state(total),
        }))
    }

    fn enough_left(&self, sealer: &Sealer) -> bool {
        let a = sealer.seal_allowance();
        let left = a.reserved.unwrap_or(0).saturating_sub(a.seals);
        left >= self.block.div_ceil(2)
    }

    /// Seals through `sealer` after [`SealBudget::top_up`]: the shortest correct call for
    /// an async service whose sealer uses reserved seals.
    ///
    /// # Errors
    /// As for [`SealBudget::top_up`] and [`Sealer::seal`].
    pub async fn seal(
        &self,
        sealer: &Sealer,
        tenant: &TenantId,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeysError> {
        loop {
            self.top_up(sealer).await?;
            match sealer.seal(tenant, context, plaintext) {
                // Others used up the half block left since the check: reserve again.
                Err(KeysError::SealsNotReserved(_)) => {}
                other => return other,
            }
        }
    }
}
