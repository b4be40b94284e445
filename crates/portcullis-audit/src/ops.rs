//! One-call operations for the command-line tool (synchronous, file based).

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use portcullis_core::{ActorId, Clock, SecretString, SecureRandom, TenantId};

use crate::chain::{ChainHead, ChainVerifier};
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::{Entry, NewEntry};
use crate::error::AuditError;
use crate::metadata::Metadata;
use crate::note::{NoteSigner, NoteVerifier};
use crate::redact::Redactor;
use crate::store::{AppendReceipt, FileStore, PendingEntry};

/// The fields of one CLI append.
#[derive(Debug, Clone)]
pub struct AppendRequest<'a> {
    /// Tenant.
    pub tenant: &'a TenantId,
    /// Actor.
    pub actor: &'a ActorId,
    /// Action, e.g. `user.login`.
    pub action: &'a str,
    /// Resource.
    pub resource: &'a str,
    /// Client IP, if any.
    pub ip: Option<IpAddr>,
    /// Metadata as JSON object text (`{}` if none).
    pub metadata_json: &'a str,
}

/// Appends one entry to the file store in `dir` (applying `redactors` first), fsyncs,
/// and returns its seq and hash.
///
/// # Errors
///
/// Invalid fields or metadata, [`AuditError::TornWrite`], or I/O errors.
pub fn append_to_file_store(
    dir: &Path,
    req: &AppendRequest<'_>,
    clock: &dyn Clock,
    redactors: &[&dyn Redactor],
) -> Result<AppendReceipt, AuditError> {
    let mut body = NewEntry::new(req.actor.clone(), req.action, req.resource)?
        .with_metadata(Metadata::parse(req.metadata_json)?);
    if let Some(ip) = req.ip {
        body = body.with_ip(ip);
    }
    for r in redactors {
        r.redact(req.tenant, &mut body)?;
    }
    let store = FileStore::open(dir)?;
    store
        .append_blocking(
            req.tenant,
            vec![PendingEntry {
                time: clock.now(),
                body,
            }],
        )?
        .pop()
        .ok_or_else(|| AuditError::field("batch", "store returned no receipt"))
}

/// The result of a successful [`verify_log_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The tenant whose chain was verified.
    pub tenant: TenantId,
    /// Number of entries and hash of the last.
    pub head: ChainHead,
    /// The checkpoint size checked, if a checkpoint was given.
    pub checkpoint_size: Option<u64>,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ok: {} entries", self.head.size)?;
        if let Some(n) = self.checkpoint_size {
            write!(f, " (checkpoint at {n} verified)")?;
        }
        Ok(())
    }
}

/// A checkpoint to verify a log file against: the signed note, the pinned key, and the
/// log name of the origin (`None`: the key's name).
#[derive(Debug, Clone, Copy)]
pub struct CheckpointCheck<'a> {
    /// The signed checkpoint note.
    pub note: &'a str,
    /// The pinned public key.
    pub verifier: &'a NoteVerifier,
    /// The log name in the origin; defaults to the key name.
    pub log_name: Option<&'a str>,
}

/// Verifies a JSON-lines log file: every line parses, seqs run from 0 without gaps, hashes
/// and links hold, all entries belong to `tenant` (default: the first entry's), and, if
/// `checkpoint` is given, its signature, origin and root against the file.
///
/// On success the report prints as `ok: <n> entries`; on failure the error names the first
/// bad seq ([`AuditError::ChainBroken`]) or the checkpoint problem.
///
/// # Errors
///
/// [`AuditError::ChainBroken`], [`AuditError::TornWrite`], [`AuditError::Truncated`],
/// [`AuditError::RootMismatch`], signature or origin errors, I/O errors.
pub fn verify_log_file(
    path: &Path,
    tenant: Option<&TenantId>,
    checkpoint: Option<CheckpointCheck<'_>>,
) -> Result<VerifyReport, AuditError> {
    let content = std::fs::read(path).map_err(|e| {
        AuditError::Backend(portcullis_core::BackendError::unavailable(
            "audit.verify",
            e,
        ))
    })?;
    let content = String::from_utf8_lossy(&content);
    let lines: Vec<&str> = content.split_terminator('\n').collect();
    if !content.is_empty() && !content.ends_with('\n') {
        // A torn tail is reported, but first the complete lines before it are checked.
        let complete = lines.len().saturating_sub(1);
        verify_lines(lines.get(..complete).unwrap_or_default(), tenant, None)?;
        return Err(AuditError::TornWrite {
            path: path.display().to_string(),
            line: lines.len() as u64,
        });
    }
    verify_lines(&lines, tenant, checkpoint)
}

/// Verifies JSON lines (without newlines) as in [`verify_log_file`].
///
/// # Errors
///
/// As [`verify_log_file`].
pub fn verify_lines(
    lines: &[&str],
    tenant: Option<&TenantId>,
    checkpoint: Option<CheckpointCheck<'_>>,
) -> Result<VerifyReport, AuditError> {
    let mut parsed = Vec::with_capacity(lines.len());
    let mut first_bad = None;
    for (i, line) in lines.iter().enumerate() {
        match Entry::from_json_line(line) {
            Ok(e) => parsed.push(e),
            Err(_) => {
                first_bad = Some(i as u64);
                break;
            }
        }
    }
    let tenant = match (tenant, parsed.first()) {
        (Some(t), _) => t.clone(),
        (None, Some(e)) => e.tenant().clone(),
        (None, None) if first_bad.is_some() => {
            return Err(AuditError::ChainBroken {
                seq: 0,
                fault: crate::error::ChainFault::Malformed,
            });
        }
        (None, None) => {
            return Err(AuditError::field("tenant", "empty log and no tenant given"));
        }
    };
    let mut v = ChainVerifier::new(tenant.clone()).with_tree();
    // Chain faults before a malformed line come first.
    for e in &parsed {
        if let Err(err) = v.push(e) {
            // Re-run with look-ahead to tell a gap from a reorder.
            return Err(crate::chain::verify_chain(&tenant, &parsed)
                .err()
                .unwrap_or(err));
        }
    }
    if first_bad.is_some() {
        return Err(v.malformed());
    }
    let checkpoint_size = match checkpoint {
        None => None,
        Some(c) => {
            let origin = Checkpoint::origin_for(c.log_name.unwrap_or(c.verifier.name()), &tenant);
            let cp = Checkpoint::open(c.note, c.verifier, &origin)?;
            v.check_checkpoint(&cp)?;
            Some(cp.size())
        }
    };
    Ok(VerifyReport {
        tenant,
        head: v.head(),
        checkpoint_size,
    })
}

/// Verifies a log file and signs a checkpoint of it with `signer` (origin
/// `<log name or key name>/<tenant>`).
///
/// # Errors
///
/// As [`verify_log_file`]; [`AuditError::MalformedCheckpoint`] for a bad log name.
pub fn checkpoint_log_file(
    path: &Path,
    tenant: Option<&TenantId>,
    signer: &NoteSigner,
    log_name: Option<&str>,
) -> Result<SignedCheckpoint, AuditError> {
    let content = std::fs::read_to_string(path).map_err(|e| {
        AuditError::Backend(portcullis_core::BackendError::unavailable(
            "audit.checkpoint",
            e,
        ))
    })?;
    if !content.is_empty() && !content.ends_with('\n') {
        return Err(AuditError::TornWrite {
            path: path.display().to_string(),
            line: content.split_terminator('\n').count() as u64,
        });
    }
    let lines: Vec<&str> = content.split_terminator('\n').collect();
    let report = verify_lines(&lines, tenant, None)?;
    let entries: Vec<Entry> = lines
        .iter()
        .map(|l| Entry::from_json_line(l))
        .collect::<Result<_, _>>()?;
    let tree = crate::merkle::MerkleTree::from_leaf_hashes(entries.iter().map(Entry::leaf_hash));
    let origin = Checkpoint::origin_for(log_name.unwrap_or(signer.name()), &report.tenant);
    Checkpoint::new(origin, tree.size(), tree.root())?.sign(signer)
}

/// A freshly generated key pair in C2SP signed-note form.
#[derive(Debug)]
pub struct GeneratedKeys {
    /// `PRIVATE+KEY+<name>+<hash>+<base64>`: keep secret.
    pub signer_key: SecretString,
    /// `<name>+<hash>+<base64>`: publish and pin.
    pub verifier_key: String,
}

/// Generates an Ed25519 note key named `name`.
///
/// # Errors
///
/// [`AuditError::InvalidKey`] for a bad name; [`AuditError::Backend`] if `rng` fails.
pub fn keygen(name: &str, rng: &dyn SecureRandom) -> Result<GeneratedKeys, AuditError> {
    let signer = NoteSigner::generate(name, rng)?;
    Ok(GeneratedKeys {
        signer_key: signer.to_signer_key(),
        verifier_key: signer.verifier().to_string(),
    })
}
