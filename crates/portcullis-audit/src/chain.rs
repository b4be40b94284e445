//! Per-tenant hash chain verification.

use portcullis_core::TenantId;
use subtle::ConstantTimeEq;

use crate::checkpoint::Checkpoint;
use crate::entry::Entry;
use crate::error::{AuditError, ChainFault};
use crate::hash::Hash;
use crate::merkle::MerkleTree;

/// The state after the last verified entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of entries (the next seq).
    pub size: u64,
    /// Hash of the last entry ([`Hash::ZERO`] for an empty chain).
    pub hash: Hash,
}

impl ChainHead {
    /// The head of an empty chain.
    pub const GENESIS: Self = Self {
        size: 0,
        hash: Hash::ZERO,
    };
}

/// Verifies entries one at a time, in order, from the genesis or from a trusted head.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    tenant: TenantId,
    head: ChainHead,
    scratch: Vec<u8>,
    tree: Option<MerkleTree>,
}

impl ChainVerifier {
    /// A verifier for `tenant`'s chain from seq 0.
    pub fn new(tenant: TenantId) -> Self {
        Self::resume(tenant, ChainHead::GENESIS)
    }

    /// A verifier continuing after a head the caller already trusts.
    pub fn resume(tenant: TenantId, head: ChainHead) -> Self {
        Self {
            tenant,
            head,
            scratch: Vec::with_capacity(512),
            tree: None,
        }
    }

    /// Also builds the Merkle tree of the verified entries (needed to compare with a
    /// checkpoint; only meaningful from seq 0).
    #[must_use]
    pub fn with_tree(mut self) -> Self {
        self.tree = Some(MerkleTree::new());
        self
    }

    /// The head after the entries verified so far.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// The Merkle tree, if [`ChainVerifier::with_tree`] was used.
    pub fn tree(&self) -> Option<&MerkleTree> {
        self.tree.as_ref()
    }

    fn fail(&self, fault: ChainFault) -> AuditError {
        AuditError::ChainBroken {
            seq: self.head.size,
            fault,
        }
    }

    /// Checks the next entry. A seq above the expected one is reported as a gap (use
    /// [`verify_chain`] to tell gaps from reorders with look-ahead).
    ///
    /// # Errors
    ///
    /// [`AuditError::ChainBroken`] naming the expected seq and the fault.
    pub fn push(&mut self, entry: &Entry) -> Result<(), AuditError> {
        if entry.tenant() != &self.tenant {
            return Err(self.fail(ChainFault::WrongTenant));
        }
        let found = entry.seq();
        if found > self.head.size {
            return Err(self.fail(ChainFault::Gap { found }));
        }
        if found < self.head.size {
            return Err(self.fail(ChainFault::Reorder { found }));
        }
        let computed = entry.compute_hash(&mut self.scratch);
        if !bool::from(computed.ct_eq(entry.hash())) {
            return Err(self.fail(ChainFault::HashMismatch));
        }
        if !bool::from(entry.prev().ct_eq(&self.head.hash)) {
            return Err(self.fail(ChainFault::BrokenLink));
        }
        if let Some(tree) = self.tree.as_mut() {
            tree.push(entry.leaf_hash());
        }
        self.head = ChainHead {
            size: found.saturating_add(1),
            hash: computed,
        };
        Ok(())
    }

    /// Reports a position whose line could not be parsed.
    pub fn malformed(&self) -> AuditError {
        self.fail(ChainFault::Malformed)
    }

    /// Compares the verified entries with a checkpoint already opened (signature and origin
    /// checked): the log must hold at least `checkpoint.size()` entries and its first
    /// `size` entries must have the checkpoint's root.
    ///
    /// # Errors
    ///
    /// [`AuditError::Truncated`] or [`AuditError::RootMismatch`]; [`AuditError::MalformedProof`]
    /// if the verifier was not built [`with_tree`](ChainVerifier::with_tree).
    pub fn check_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        let tree = self
            .tree
            .as_ref()
            .ok_or_else(|| AuditError::MalformedProof("verifier built without a tree".into()))?;
        if tree.size() < checkpoint.size() {
            return Err(AuditError::Truncated {
                checkpoint_size: checkpoint.size(),
                log_size: tree.size(),
            });
        }
        let root = tree.root_at(checkpoint.size())?;
        if !bool::from(root.ct_eq(checkpoint.root())) {
            return Err(AuditError::RootMismatch {
                size: checkpoint.size(),
            });
        }
        Ok(())
    }
}

/// Verifies `entries` as `tenant`'s complete chain from seq 0.
///
/// Returns the head, or names the first bad seq and what is wrong there: hash mismatch
/// (a field was altered), broken link (an entry before was removed, inserted or
/// rewritten), gap (entries missing), reorder (entries swapped or duplicated), wrong
/// tenant.
///
/// # Errors
///
/// [`AuditError::ChainBroken`].
pub fn verify_chain(tenant: &TenantId, entries: &[Entry]) -> Result<ChainHead, AuditError> {
    let mut v = ChainVerifier::new(tenant.clone());
    verify_into(&mut v, entries)?;
    Ok(v.head())
}

/// Verifies `entries` as the start of `tenant`'s chain and compares them with an opened
/// checkpoint (truncation and rewrite detection).
///
/// # Errors
///
/// [`AuditError::ChainBroken`], [`AuditError::Truncated`], [`AuditError::RootMismatch`].
pub fn verify_chain_against(
    tenant: &TenantId,
    entries: &[Entry],
    checkpoint: &Checkpoint,
) -> Result<ChainHead, AuditError> {
    let mut v = ChainVerifier::new(tenant.clone()).with_tree();
    verify_into(&mut v, entries)?;
    v.check_checkpoint(checkpoint)?;
    Ok(v.head())
}

fn verify_into(v: &mut ChainVerifier, entries: &[Entry]) -> Result<(), AuditError> {
    for (i, e) in entries.iter().enumerate() {
        match v.push(e) {
            Err(AuditError::ChainBroken {
                seq,
                fault: ChainFault::Gap { found },
            }) => {
                let later = entries.get(i + 1..).unwrap_or_default();
                let fault = if later.iter().any(|x| x.seq() == seq) {
                    ChainFault::Reorder { found }
                } else {
                    ChainFault::Gap { found }
                };
                return Err(AuditError::ChainBroken { seq, fault });
            }
            other => other?,
        }
    }
    Ok(())
}
