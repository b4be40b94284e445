//! `portcullis keys generate|rotate|status|seal|open|reencrypt`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use portcullis_core::{OsRandom, Provider, TenantId};
use portcullis_keys::{KeysError, Purpose, Sealer};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::input;
use crate::masterkeys::MasterKeyFile;
use crate::progress;

/// Per-tenant sealing of credentials (AES-256-GCM under HKDF-derived tenant keys).
///
/// The master-key file is text: `portcullis-master-keys v1`, one `primary <version>` line,
/// and one `key <version> <64 hex digits>` line per master key (`#` comments allowed).
/// Every listed version opens; the primary seals. Rotate with `keys rotate`, move blobs
/// with `keys reencrypt`, then delete the old `key` line to retire it.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Write a new master-key file holding version 1 (refuses to overwrite).
    Generate(GenerateArgs),
    /// Add a new master key (highest version + 1) and make it primary.
    Rotate(FileArgs),
    /// Print the versions in a master-key file (no key material).
    Status(FileArgs),
    /// Seal standard input for a tenant and context; prints the blob in base64.
    Seal(SealArgs),
    /// Open a base64 blob from standard input; prints the plaintext (exit 1 if it does not
    /// open).
    Open(SealArgs),
    /// Re-encrypt blobs from standard input under the primary version; prints one line
    /// per input line, in order, and nothing at all unless every blob re-encrypts.
    ///
    /// A line is `<base64>` (with `--tenant` and `--context`) or
    /// `<tenant><TAB><context><TAB><base64>`, kept as it is with the new blob. Blobs
    /// already under the primary are passed through as they are (not opened).
    Reencrypt(ReencryptArgs),
}

/// Arguments of `keys generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Where to write the master-key file.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// The master-key file and how strictly its permissions are checked.
#[derive(Debug, Args)]
pub(crate) struct MasterKeyArgs {
    /// The master-key file (a symlink is followed; `keys rotate` rewrites its target).
    #[arg(long, value_name = "FILE")]
    master_key_file: PathBuf,
    /// Use the master-key file even if its group or others may read it (refused
    /// otherwise: `chmod 600` it).
    #[arg(long)]
    allow_readable: bool,
}

/// A master-key file argument.
#[derive(Debug, Args)]
pub(crate) struct FileArgs {
    #[command(flatten)]
    key: MasterKeyArgs,
}

/// Arguments of `keys seal|open|reencrypt`.
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    key: MasterKeyArgs,
    /// The tenant the blob belongs to.
    #[arg(long)]
    tenant: String,
    /// The context the blob is bound to (e.g. `credential:42`: the row and column).
    #[arg(long)]
    context: String,
    /// The key-derivation purpose label.
    #[arg(long, default_value = "credentials")]
    purpose: String,
}

/// Arguments of `keys reencrypt`.
#[derive(Debug, Args)]
pub(crate) struct ReencryptArgs {
    #[command(flatten)]
    key: MasterKeyArgs,
    /// The tenant of lines that carry only a blob.
    #[arg(long)]
    tenant: Option<String>,
    /// The context of lines that carry only a blob.
    #[arg(long)]
    context: Option<String>,
    /// The key-derivation purpose label.
    #[arg(long, default_value = "credentials")]
    purpose: String,
}

/// Runs a keys command.
pub(crate) fn run(cmd: &KeysCommand) -> CliResult {
    match cmd {
        KeysCommand::Generate(a) => generate(&a.out),
        KeysCommand::Rotate(a) => rotate(&a.key),
        KeysCommand::Status(a) => status(&a.key),
        KeysCommand::Seal(a) => seal(a),
        KeysCommand::Open(a) => open(a),
        KeysCommand::Reencrypt(a) => reencrypt(a),
    }
}

/// Reads and parses the master-key file, refusing one that group or others may read
/// unless `--allow-readable` (then a warning on stderr).
fn load(a: &MasterKeyArgs) -> CliResult<MasterKeyFile> {
    check_permissions(&a.master_key_file, a.allow_readable)?;
    let text = Zeroizing::new(input::read_text(&a.master_key_file)?);
    MasterKeyFile::parse(&text)
}

#[cfg(unix)]
fn check_permissions(path: &Path, allow_readable: bool) -> CliResult {
    use std::os::unix::fs::PermissionsExt as _;
    // `metadata` follows a symlink: the mode that matters is the target's.
    let mode = std::fs::metadata(path)
        .map_err(|e| input::file_err(path, &e))?
        .permissions()
        .mode();
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if allow_readable {
        eprintln!(
            "portcullis: warning: `{}` is accessible to group or others (mode {:04o})",
            path.display(),
            mode & 0o7777
        );
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "`{}` is accessible to group or others (mode {:04o}): `chmod 600` it, or pass \
         `--allow-readable`",
        path.display(),
        mode & 0o7777
    )))
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _allow_readable: bool) -> CliResult {
    Ok(())
}

fn generate(out: &Path) -> CliResult {
    let file = MasterKeyFile::generate(&OsRandom)?;
    input::write_new_file(out, file.render().as_bytes(), false)?;
    input::write_stdout(format!("wrote master key version 1 to {}\n", out.display()).as_bytes())
}

/// Read-modify-write under an exclusive lock on `.<name>.lock` beside the (symlink-resolved)
/// file, so concurrent rotations queue instead of losing versions; the new file is written
/// beside its target and renamed over it (a symlink to it stays a symlink).
fn rotate(a: &MasterKeyArgs) -> CliResult {
    let target = std::fs::canonicalize(&a.master_key_file)
        .map_err(|e| input::file_err(&a.master_key_file, &e))?;
    let name = target
        .file_name()
        .ok_or_else(|| CliError::Usage("the master-key file has no file name".to_owned()))?;
    let lock_path = target.with_file_name(format!(".{}.lock", name.to_string_lossy()));
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let lock = opts
        .open(&lock_path)
        .map_err(|e| CliError::Failed(format!("cannot open `{}`: {e}", lock_path.display())))?;
    lock.lock()
        .map_err(|e| CliError::Failed(format!("cannot lock `{}`: {e}", lock_path.display())))?;
    let resolved = MasterKeyArgs {
        master_key_file: target.clone(),
        allow_readable: a.allow_readable,
    };
    let mut file = load(&resolved)?;
    let v = file.rotate(&OsRandom)?;
    input::replace_file(&target, file.render().as_bytes())?;
    drop(lock);
    input::write_stdout(format!("added master key version {v}; it is now primary\n").as_bytes())
}

fn status(a: &MasterKeyArgs) -> CliResult {
    let file = load(a)?;
    let versions: Vec<String> = file.keys.keys().map(u32::to_string).collect();
    input::write_stdout(
        format!(
            "primary {}\nversions {}\n",
            file.primary,
            versions.join(" ")
        )
        .as_bytes(),
    )
}

fn build_sealer(key: &MasterKeyArgs, purpose: &str) -> CliResult<Sealer> {
    let file = load(key)?;
    let purpose = Purpose::new(purpose).map_err(CliError::usage)?;
    Ok(Sealer::new(purpose, file.keyring()?, Provider::system()))
}

fn sealer(a: &SealArgs) -> CliResult<(Sealer, TenantId)> {
    let tenant: TenantId = a.tenant.parse().map_err(CliError::usage)?;
    Ok((build_sealer(&a.key, &a.purpose)?, tenant))
}

/// Opening failures are verification failures (exit 1).
fn keys_err(e: KeysError) -> CliError {
    match e {
        KeysError::InvalidInput { .. } | KeysError::Id(_) | KeysError::KeyLength { .. } => {
            CliError::usage(e)
        }
        _ => CliError::failed(e),
    }
}

fn decode(text: &str) -> CliResult<Vec<u8>> {
    STANDARD
        .decode(text.trim())
        .map_err(|_| CliError::Failed("sealed blob is not valid base64".to_owned()))
}

fn seal(a: &SealArgs) -> CliResult {
    let (sealer, tenant) = sealer(a)?;
    let plaintext = Zeroizing::new(input::read_stdin()?);
    let blob = sealer
        .seal(&tenant, a.context.as_bytes(), &plaintext)
        .map_err(keys_err)?;
    input::write_stdout(format!("{}\n", STANDARD.encode(blob)).as_bytes())
}

fn open(a: &SealArgs) -> CliResult {
    let (sealer, tenant) = sealer(a)?;
    let text = input::read_stdin()?;
    let text = String::from_utf8(text)
        .map_err(|_| CliError::Failed("sealed blob is not valid base64".to_owned()))?;
    let blob = decode(&text)?;
    let plaintext = sealer
        .open(&tenant, a.context.as_bytes(), &blob)
        .map_err(keys_err)?;
    input::write_stdout(plaintext.expose_secret())
}

fn reencrypt(a: &ReencryptArgs) -> CliResult {
    let sealer = build_sealer(&a.key, &a.purpose)?;
    let default_tenant: Option<TenantId> = a
        .tenant
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(CliError::usage)?;
    let text = input::read_stdin()?;
    let text = String::from_utf8(text)
        .map_err(|_| CliError::Failed("input is not UTF-8 text".to_owned()))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let bar = progress::bar(lines.len() as u64, "re-encrypting");
    let mut out = String::with_capacity(text.len());
    let mut changed = 0usize;
    for (n, line) in lines {
        let at = |e: CliError| CliError::Failed(format!("line {n}: {e}"));
        let mut fields = line.split('\t');
        let (tenant, context, b64) = match (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) {
            (Some(b64), None, None, None) => match (&default_tenant, &a.context) {
                (Some(t), Some(c)) => (t.clone(), c.as_str(), b64),
                _ => {
                    return Err(CliError::Usage(format!(
                        "line {n} carries no tenant and context: pass `--tenant` and `--context`"
                    )));
                }
            },
            (Some(t), Some(c), Some(b64), None) => (
                t.parse::<TenantId>().map_err(|e| at(CliError::usage(e)))?,
                c,
                b64,
            ),
            _ => {
                return Err(at(CliError::Failed(
                    "expected `<base64>` or `<tenant>\\t<context>\\t<base64>`".to_owned(),
                )));
            }
        };
        let blob = decode(b64).map_err(at)?;
        let moved = sealer
            .reencrypt(&tenant, None, context.as_bytes(), &blob)
            .map_err(|e| at(keys_err(e)))?;
        if moved.changed {
            changed += 1;
        }
        if let Some(prefix) = line
            .len()
            .checked_sub(b64.len())
            .and_then(|k| line.get(..k))
        {
            out.push_str(prefix);
        }
        out.push_str(&STANDARD.encode(&moved.blob));
        out.push('\n');
        bar.inc(1);
    }
    bar.finish_and_clear();
    input::write_stdout(out.as_bytes())?;
    if input::stderr_is_terminal() {
        eprintln!("re-encrypted {changed} blobs");
    }
    Ok(())
}
