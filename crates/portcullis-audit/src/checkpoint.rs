//! C2SP tlog-checkpoints (<https://c2sp.org/tlog-checkpoint>), one origin per tenant.
//!
//! Checkpoint text (the body of a signed note):
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeros>\n
//! <root hash, standard padded base64 of 32 bytes>\n
//! ```
//!
//! The origin of a tenant's log is `<log name>/<tenant id>`. Extension lines after the
//! root are accepted when parsing and ignored; this crate writes none.

use portcullis_core::TenantId;

use crate::error::AuditError;
use crate::hash::Hash;
use crate::merkle;
use crate::note::{NoteSigner, NoteVerifier};

/// An unsigned checkpoint: origin, tree size and root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

/// A checkpoint together with its signed-note text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
    /// The full signed note (text, blank line, signature lines).
    pub note: String,
}

fn mal(m: impl Into<String>) -> AuditError {
    AuditError::MalformedCheckpoint(m.into())
}

impl Checkpoint {
    /// A checkpoint for `origin` at `size` with `root`.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedCheckpoint`] if the origin is empty or has control characters.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, AuditError> {
        let origin = origin.into();
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(mal("origin must be non-empty without control characters"));
        }
        Ok(Self { origin, size, root })
    }

    /// The origin line of `tenant`'s log in the log named `log_name`: `<log_name>/<tenant>`.
    pub fn origin_for(log_name: &str, tenant: &TenantId) -> String {
        format!("{log_name}/{tenant}")
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The tree size (number of entries covered).
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The Merkle root of the first `size` entries.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The checkpoint text (three lines, each ending in a newline).
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        )
    }

    /// Parses checkpoint text.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedCheckpoint`] if a line is missing or malformed.
    pub fn parse_text(text: &str) -> Result<Self, AuditError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| mal("text must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or_else(|| mal("missing origin"))?;
        let size = lines.next().ok_or_else(|| mal("missing tree size"))?;
        let root = lines.next().ok_or_else(|| mal("missing root hash"))?;
        if lines.any(str::is_empty) {
            return Err(mal("empty extension line"));
        }
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !size_ok {
            return Err(mal(format!(
                "tree size `{}` is not a decimal number",
                size.escape_debug()
            )));
        }
        let size = size
            .parse::<u64>()
            .map_err(|_| mal("tree size out of range"))?;
        let root = Hash::from_base64(root).map_err(|_| mal("root is not base64 of 32 bytes"))?;
        Self::new(origin, size, root)
    }

    /// Signs this checkpoint as a C2SP signed note.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedCheckpoint`] if the text is not a valid note text.
    pub fn sign(&self, signer: &NoteSigner) -> Result<SignedCheckpoint, AuditError> {
        Ok(SignedCheckpoint {
            note: signer.sign(&self.to_text())?,
            checkpoint: self.clone(),
        })
    }

    /// Opens a signed checkpoint note: verifies the signature by the pinned `verifier` and
    /// that the origin is `expected_origin`.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidSignature`], [`AuditError::MalformedCheckpoint`] or
    /// [`AuditError::OriginMismatch`] (a checkpoint of another tenant or log).
    pub fn open(
        note: &str,
        verifier: &NoteVerifier,
        expected_origin: &str,
    ) -> Result<Self, AuditError> {
        let text = verifier.open(note)?;
        let cp = Self::parse_text(text)?;
        if cp.origin != expected_origin {
            return Err(AuditError::OriginMismatch {
                expected: expected_origin.to_owned(),
                found: cp.origin,
            });
        }
        Ok(cp)
    }

    /// Checks that `newer` extends this checkpoint (same origin, not smaller, consistency
    /// proof valid), so the log was neither truncated nor rewritten between them.
    ///
    /// # Errors
    ///
    /// [`AuditError::OriginMismatch`], [`AuditError::Truncated`] if `newer` is smaller,
    /// [`AuditError::MalformedProof`] or [`AuditError::RootMismatch`].
    pub fn verify_extended_by<T: AsRef<[u8]>>(
        &self,
        newer: &Self,
        proof: &[T],
    ) -> Result<(), AuditError> {
        if newer.origin != self.origin {
            return Err(AuditError::OriginMismatch {
                expected: self.origin.clone(),
                found: newer.origin.clone(),
            });
        }
        if newer.size < self.size {
            return Err(AuditError::Truncated {
                checkpoint_size: self.size,
                log_size: newer.size,
            });
        }
        if self.size == 0 {
            if self.root != merkle::empty_root() || !proof.is_empty() {
                return Err(AuditError::RootMismatch { size: 0 });
            }
            return Ok(());
        }
        merkle::verify_consistency(
            self.size,
            newer.size,
            self.root.as_bytes(),
            newer.root.as_bytes(),
            proof,
        )
        .map_err(|e| match e {
            AuditError::ProofMismatch => AuditError::RootMismatch { size: self.size },
            other => other,
        })
    }
}
