//! [`AuditLog`]: the front door that redacts, timestamps, appends, checkpoints and proves.

use std::sync::Arc;

use portcullis_core::{Provider, TenantId};

use crate::chain::{ChainHead, ChainVerifier};
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::NewEntry;
use crate::error::AuditError;
use crate::hash::Hash;
use crate::merkle::MerkleTree;
use crate::note::{NoteSigner, NoteVerifier};
use crate::redact::Redactor;
use crate::store::{AppendReceipt, AuditStore, PendingEntry};

/// An append and the proof that it is included in a fresh signed checkpoint.
#[derive(Debug, Clone)]
pub struct ProvenAppend {
    /// The entry's seq and hash.
    pub receipt: AppendReceipt,
    /// The checkpoint the proof is against (signed, stored).
    pub checkpoint: SignedCheckpoint,
    /// The RFC 6962 inclusion proof of the entry's leaf in `checkpoint`.
    pub proof: Vec<Hash>,
}

/// Redacts, timestamps and appends entries to a store; signs and checks checkpoints.
#[derive(Debug, Clone)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    provider: Provider,
    redactors: Vec<Arc<dyn Redactor>>,
    signer: Option<Arc<NoteSigner>>,
    verifier: Option<NoteVerifier>,
    log_name: Option<String>,
}

impl AuditLog {
    /// A log over `store`, reading time from `provider`, with no redactors and no signer.
    pub fn new(store: Arc<dyn AuditStore>, provider: Provider) -> Self {
        Self {
            store,
            provider,
            redactors: Vec::new(),
            signer: None,
            verifier: None,
            log_name: None,
        }
    }

    /// Adds a redactor (applied in the order added, before hashing).
    #[must_use]
    pub fn with_redactor(mut self, redactor: Arc<dyn Redactor>) -> Self {
        self.redactors.push(redactor);
        self
    }

    /// Signs checkpoints with `signer`, whose name is also the log name in origins unless
    /// [`with_log_name`](AuditLog::with_log_name) says otherwise.
    #[must_use]
    pub fn with_signer(mut self, signer: NoteSigner) -> Self {
        self.verifier = Some(signer.verifier());
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Sets the log name used in origins (`<log name>/<tenant>`).
    #[must_use]
    pub fn with_log_name(mut self, name: impl Into<String>) -> Self {
        self.log_name = Some(name.into());
        self
    }

    /// The checkpoint origin of `tenant`.
    ///
    /// # Errors
    ///
    /// [`AuditError::NoSigner`] if neither a log name nor a signer is configured.
    pub fn origin(&self, tenant: &TenantId) -> Result<String, AuditError> {
        let name = match (&self.log_name, &self.verifier) {
            (Some(n), _) => n.as_str(),
            (None, Some(v)) => v.name(),
            (None, None) => return Err(AuditError::NoSigner),
        };
        Ok(Checkpoint::origin_for(name, tenant))
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    fn prepare(&self, tenant: &TenantId, mut body: NewEntry) -> Result<PendingEntry, AuditError> {
        for r in &self.redactors {
            r.redact(tenant, &mut body)?;
        }
        Ok(PendingEntry {
            time: self.provider.now(),
            body,
        })
    }

    /// Redacts and appends one entry, returning its seq and hash.
    ///
    /// # Errors
    ///
    /// A redactor's error or the store's (nothing is appended).
    pub async fn append(
        &self,
        tenant: &TenantId,
        entry: NewEntry,
    ) -> Result<AppendReceipt, AuditError> {
        let pending = self.prepare(tenant, entry)?;
        self.store
            .append(tenant, vec![pending])
            .await?
            .pop()
            .ok_or_else(|| AuditError::field("batch", "store returned no receipt"))
    }

    /// Redacts and appends entries atomically as consecutive seqs.
    ///
    /// # Errors
    ///
    /// A redactor's error or the store's (nothing is appended).
    pub async fn append_batch(
        &self,
        tenant: &TenantId,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        let batch = entries
            .into_iter()
            .map(|e| self.prepare(tenant, e))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.append(tenant, batch).await
    }

    /// Appends, then signs a checkpoint covering the entry and returns the entry's inclusion
    /// proof against it. Costs a full read of the tenant's log.
    ///
    /// # Errors
    ///
    /// As [`append`](AuditLog::append) and [`checkpoint`](AuditLog::checkpoint).
    pub async fn append_with_proof(
        &self,
        tenant: &TenantId,
        entry: NewEntry,
    ) -> Result<ProvenAppend, AuditError> {
        let receipt = self.append(tenant, entry).await?;
        let (checkpoint, tree) = self.checkpoint_with_tree(tenant).await?;
        let proof = tree.inclusion_proof(receipt.seq, checkpoint.checkpoint.size())?;
        Ok(ProvenAppend {
            receipt,
            checkpoint,
            proof,
        })
    }

    /// Reads and verifies the whole chain of `tenant` and builds its Merkle tree.
    ///
    /// # Errors
    ///
    /// [`AuditError::ChainBroken`] or the store's error.
    pub async fn verified_tree(
        &self,
        tenant: &TenantId,
    ) -> Result<(ChainHead, MerkleTree), AuditError> {
        let entries = self.store.read(tenant, 0, u64::MAX).await?;
        let mut v = ChainVerifier::new(tenant.clone()).with_tree();
        for e in &entries {
            v.push(e)?;
        }
        let head = v.head();
        let tree = v.tree().cloned().unwrap_or_default();
        Ok((head, tree))
    }

    async fn checkpoint_with_tree(
        &self,
        tenant: &TenantId,
    ) -> Result<(SignedCheckpoint, MerkleTree), AuditError> {
        let signer = self.signer.as_ref().ok_or(AuditError::NoSigner)?;
        let origin = self.origin(tenant)?;
        let (head, tree) = self.verified_tree(tenant).await?;
        let cp = Checkpoint::new(origin, head.size, tree.root_at(head.size)?)?;
        if let Some(prev) = self.latest_checkpoint(tenant).await? {
            if prev.size() > 0 {
                let proof = tree.consistency_proof(prev.size(), cp.size())?;
                prev.verify_extended_by(&cp, &proof)?;
            } else {
                prev.verify_extended_by::<[u8; 32]>(&cp, &[])?;
            }
        }
        let signed = cp.sign(signer)?;
        self.store
            .store_checkpoint(tenant, cp.size(), &signed.note)
            .await?;
        Ok((signed, tree))
    }

    /// Signs a checkpoint of `tenant`'s current log after verifying the chain and its
    /// consistency with the previous checkpoint, and stores it.
    ///
    /// # Errors
    ///
    /// [`AuditError::NoSigner`], [`AuditError::ChainBroken`], [`AuditError::Truncated`] or
    /// [`AuditError::RootMismatch`] if the log no longer extends the previous checkpoint,
    /// or the store's error.
    pub async fn checkpoint(&self, tenant: &TenantId) -> Result<SignedCheckpoint, AuditError> {
        Ok(self.checkpoint_with_tree(tenant).await?.0)
    }

    /// The latest stored checkpoint, opened with this log's key and origin.
    ///
    /// # Errors
    ///
    /// [`AuditError::NoSigner`] without a key, [`AuditError::InvalidSignature`] or
    /// [`AuditError::OriginMismatch`] for a stored note that does not verify.
    pub async fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Checkpoint>, AuditError> {
        let verifier = self.verifier.as_ref().ok_or(AuditError::NoSigner)?;
        let origin = self.origin(tenant)?;
        match self.store.latest_checkpoint(tenant).await? {
            None => Ok(None),
            Some(stored) => {
                let cp = Checkpoint::open(&stored.note, verifier, &origin)?;
                if cp.size() != stored.size {
                    return Err(AuditError::MalformedCheckpoint(
                        "stored size differs from the note".into(),
                    ));
                }
                Ok(Some(cp))
            }
        }
    }

    /// Verifies `tenant`'s chain and, when a key is configured and a checkpoint exists, that
    /// the log still contains exactly what the latest checkpoint committed to.
    ///
    /// # Errors
    ///
    /// [`AuditError::ChainBroken`], [`AuditError::Truncated`], [`AuditError::RootMismatch`],
    /// checkpoint errors, or the store's error.
    pub async fn verify(&self, tenant: &TenantId) -> Result<ChainHead, AuditError> {
        let (head, tree) = self.verified_tree(tenant).await?;
        if self.verifier.is_some() {
            if let Some(cp) = self.latest_checkpoint(tenant).await? {
                if tree.size() < cp.size() {
                    return Err(AuditError::Truncated {
                        checkpoint_size: cp.size(),
                        log_size: tree.size(),
                    });
                }
                if &tree.root_at(cp.size())? != cp.root() {
                    return Err(AuditError::RootMismatch { size: cp.size() });
                }
            }
        }
        Ok(head)
    }

    /// The consistency proof between two sizes of `tenant`'s tree.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] for bad sizes, chain or store errors.
    pub async fn consistency_proof(
        &self,
        tenant: &TenantId,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, AuditError> {
        self.verified_tree(tenant)
            .await?
            .1
            .consistency_proof(old_size, new_size)
    }

    /// The inclusion proof of entry `seq` in `tenant`'s tree of `size` entries.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] for bad parameters, chain or store errors.
    pub async fn inclusion_proof(
        &self,
        tenant: &TenantId,
        seq: u64,
        size: u64,
    ) -> Result<Vec<Hash>, AuditError> {
        self.verified_tree(tenant)
            .await?
            .1
            .inclusion_proof(seq, size)
    }
}
