//! `portcullis audit append|verify|checkpoint|keygen`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use portcullis_audit::{
    AppendRequest, CheckpointCheck, VerifyReport, append_to_file_store, checkpoint_log_file,
    verify_log_file,
};
use portcullis_audit::{
    AuditError, ChainVerifier, Checkpoint, Entry, NoteSigner, NoteVerifier, PiiRedactor, Redactor,
};
use portcullis_core::{ActorId, OsRandom, SystemClock, TenantId};

use crate::error::{CliError, CliResult};
use crate::input;
use crate::progress;

/// Append to, verify and checkpoint tamper-evident audit logs (JSON lines files).
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Append one entry; prints `seq=<n> hash=<hex>`.
    ///
    /// `--log` is the tenant's file in a file store directory, named `<tenant>.jsonl`, or
    /// the directory itself. The entry time is now.
    Append(AppendArgs),
    /// Verify a log's hash chain (and a signed checkpoint); prints `ok: <n> entries` or
    /// exits 1 naming the first bad seq.
    Verify(VerifyArgs),
    /// Verify a log and print a signed checkpoint (a C2SP signed note) of it.
    Checkpoint(CheckpointArgs),
    /// Generate an Ed25519 checkpoint key: `PREFIX.key` (signer, secret) and `PREFIX.pub`
    /// (verifier, publish it); prints the verifier key.
    Keygen(KeygenArgs),
}

/// Arguments of `audit append`.
#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// The log file (`<dir>/<tenant>.jsonl`) or the file store directory.
    #[arg(long, value_name = "FILE")]
    log: PathBuf,
    /// Tenant id.
    #[arg(long)]
    tenant: String,
    /// Who acted.
    #[arg(long)]
    actor: String,
    /// What they did, e.g. `invoice.approve`.
    #[arg(long)]
    action: String,
    /// What they did it to, e.g. `invoices/42`.
    #[arg(long)]
    resource: String,
    /// The client IP address.
    #[arg(long)]
    ip: Option<IpAddr>,
    /// Metadata as a JSON object (canonicalized before hashing).
    #[arg(long, value_name = "JSON", default_value = "{}")]
    metadata: String,
    /// Redact e-mail addresses, phone and card numbers in the resource and metadata, and
    /// mask the IP, before hashing.
    #[arg(long)]
    redact_pii: bool,
}

/// Arguments of `audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The log file (JSON lines).
    #[arg(long, value_name = "FILE")]
    log: PathBuf,
    /// The tenant every entry must belong to (default: the first entry's).
    #[arg(long)]
    tenant: Option<String>,
    /// A signed checkpoint (note) the log must reproduce.
    #[arg(long, value_name = "FILE", requires = "public_key")]
    checkpoint: Option<PathBuf>,
    /// The pinned verifier key (`name+hash+base64`) or a file holding it (`PREFIX.pub`).
    #[arg(long, value_name = "KEY", requires = "checkpoint")]
    public_key: Option<String>,
    /// The log name in the checkpoint origin `<log name>/<tenant>` (default: the key name).
    #[arg(long)]
    log_name: Option<String>,
}

/// Arguments of `audit checkpoint`.
#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// The log file (JSON lines).
    #[arg(long, value_name = "FILE")]
    log: PathBuf,
    /// The tenant of the log.
    #[arg(long)]
    tenant: String,
    /// The signer key file (`PRIVATE+KEY+…`, from `audit keygen`).
    #[arg(long, value_name = "FILE")]
    signing_key: PathBuf,
    /// The log name in the checkpoint origin `<log name>/<tenant>` (default: the key name).
    #[arg(long)]
    log_name: Option<String>,
}

/// Arguments of `audit keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The key name (usually the log's host name, e.g. `audit.example.com`).
    #[arg(long)]
    name: String,
    /// Path prefix: writes `PREFIX.key` and `PREFIX.pub`.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

/// Runs an audit command.
pub(crate) fn run(cmd: &AuditCommand) -> CliResult {
    match cmd {
        AuditCommand::Append(a) => append(a),
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Checkpoint(a) => checkpoint(a),
        AuditCommand::Keygen(a) => keygen(a),
    }
}

fn tenant(s: &str) -> CliResult<TenantId> {
    s.parse().map_err(CliError::usage)
}

/// Chain, checkpoint and signature failures are verification failures (exit 1); invalid
/// fields, keys and unreadable files are usage errors (exit 2).
fn audit_err(e: AuditError) -> CliError {
    match e {
        AuditError::InvalidField { .. }
        | AuditError::InvalidMetadata(_)
        | AuditError::InvalidKey(_) => CliError::usage(e),
        _ => CliError::failed(e),
    }
}

/// The store directory for `--log`: the directory itself, or the parent of
/// `<tenant>.jsonl`.
fn store_dir(log: &Path, tenant: &TenantId) -> CliResult<PathBuf> {
    if log.is_dir() {
        return Ok(log.to_path_buf());
    }
    let expected = format!("{}.jsonl", tenant.as_str());
    if log.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
        return Err(CliError::Usage(format!(
            "the log of tenant `{tenant}` must be named `{expected}` (file store layout), or pass its directory"
        )));
    }
    Ok(match log.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

fn append(a: &AppendArgs) -> CliResult {
    let tenant = tenant(&a.tenant)?;
    let actor: ActorId = a.actor.parse().map_err(CliError::usage)?;
    let dir = store_dir(&a.log, &tenant)?;
    let req = AppendRequest {
        tenant: &tenant,
        actor: &actor,
        action: &a.action,
        resource: &a.resource,
        ip: a.ip,
        metadata_json: &a.metadata,
    };
    let pii = PiiRedactor::new();
    let redactors: Vec<&dyn Redactor> = if a.redact_pii { vec![&pii] } else { Vec::new() };
    let receipt = append_to_file_store(&dir, &req, &SystemClock, &redactors).map_err(audit_err)?;
    input::write_stdout(format!("seq={} hash={}\n", receipt.seq, receipt.hash).as_bytes())
}

/// A verifier key given inline or as a file.
fn load_verifier(key: &str) -> CliResult<NoteVerifier> {
    if let Ok(v) = NoteVerifier::parse(key.trim()) {
        return Ok(v);
    }
    let path = Path::new(key);
    if path.is_file() {
        let text = input::read_text(path)?;
        return NoteVerifier::parse(text.trim()).map_err(audit_err);
    }
    Err(CliError::Usage(
        "`--public-key` is neither a verifier key nor a readable key file".to_owned(),
    ))
}

fn verify(a: &VerifyArgs) -> CliResult {
    let tenant = a.tenant.as_deref().map(tenant).transpose()?;
    let verifier = a.public_key.as_deref().map(load_verifier).transpose()?;
    let note = a.checkpoint.as_deref().map(input::read_text).transpose()?;
    let check = match (&note, &verifier) {
        (Some(note), Some(verifier)) => Some(CheckpointCheck {
            note,
            verifier,
            log_name: a.log_name.as_deref(),
        }),
        _ => None,
    };
    if !a.log.is_file() {
        return Err(CliError::Usage(format!(
            "cannot read `{}`: not a file",
            a.log.display()
        )));
    }
    let report = if input::stderr_is_terminal() {
        // On a terminal: a pass that shows progress; the library call stays the
        // authority for every failure.
        match verify_with_progress(&a.log, tenant.as_ref(), check)? {
            Some(report) => Ok(report),
            None => verify_log_file(&a.log, tenant.as_ref(), check),
        }
    } else {
        verify_log_file(&a.log, tenant.as_ref(), check)
    }
    .map_err(audit_err)?;
    input::write_stdout(format!("{report}\n").as_bytes())
}

/// Verifies with a progress bar. `None` means "something is wrong: let
/// [`verify_log_file`] name it".
fn verify_with_progress(
    path: &Path,
    tenant: Option<&TenantId>,
    check: Option<CheckpointCheck<'_>>,
) -> CliResult<Option<VerifyReport>> {
    let content = input::read_text(path)?;
    if !content.is_empty() && !content.ends_with('\n') {
        return Ok(None);
    }
    let lines: Vec<&str> = content.split_terminator('\n').collect();
    let bar = progress::bar(lines.len() as u64, "verifying");
    let mut chain: Option<ChainVerifier> = None;
    let mut first_tenant: Option<TenantId> = tenant.cloned();
    for line in &lines {
        let Ok(entry) = Entry::from_json_line(line) else {
            bar.finish_and_clear();
            return Ok(None);
        };
        let t = first_tenant.get_or_insert_with(|| entry.tenant().clone());
        let v = chain.get_or_insert_with(|| ChainVerifier::new(t.clone()).with_tree());
        if v.push(&entry).is_err() {
            bar.finish_and_clear();
            return Ok(None);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (Some(tenant), Some(v)) = (first_tenant, chain) else {
        return Ok(None);
    };
    let checkpoint_size = match check {
        None => None,
        Some(c) => {
            let origin = Checkpoint::origin_for(c.log_name.unwrap_or(c.verifier.name()), &tenant);
            let Ok(cp) = Checkpoint::open(c.note, c.verifier, &origin) else {
                return Ok(None);
            };
            if v.check_checkpoint(&cp).is_err() {
                return Ok(None);
            }
            Some(cp.size())
        }
    };
    Ok(Some(VerifyReport {
        tenant,
        head: v.head(),
        checkpoint_size,
    }))
}

fn checkpoint(a: &CheckpointArgs) -> CliResult {
    let tenant = tenant(&a.tenant)?;
    let key = input::read_secret_file(&a.signing_key)?;
    let signer = NoteSigner::parse(key.expose_secret().trim()).map_err(audit_err)?;
    let signed = checkpoint_log_file(&a.log, Some(&tenant), &signer, a.log_name.as_deref())
        .map_err(audit_err)?;
    input::write_stdout(signed.note.as_bytes())
}

fn keygen(a: &KeygenArgs) -> CliResult {
    let keys = portcullis_audit::keygen(&a.name, &OsRandom).map_err(audit_err)?;
    let mut key_path = a.out.clone().into_os_string();
    key_path.push(".key");
    let mut pub_path = a.out.clone().into_os_string();
    pub_path.push(".pub");
    let signer_line = zeroize::Zeroizing::new(format!("{}\n", keys.signer_key.expose_secret()));
    input::write_new_file(Path::new(&key_path), signer_line.as_bytes(), a.force)?;
    let verifier_line = format!("{}\n", keys.verifier_key);
    input::write_new_file(Path::new(&pub_path), verifier_line.as_bytes(), a.force)?;
    input::write_stdout(verifier_line.as_bytes())
}
