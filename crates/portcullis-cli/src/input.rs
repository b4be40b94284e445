//! Reading inputs: secrets, bodies and files.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use portcullis_core::{FixedClock, Provider, SecretString, UnixTime};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};

/// The provider a command runs with: the system's, or one whose clock stands at `now`
/// (Unix seconds, from `--now`) with the operating system's generator.
pub(crate) fn provider_at(now: Option<u64>) -> Provider {
    match now {
        Some(now) => Provider::with_clock(Arc::new(FixedClock(UnixTime::from_secs(now)))),
        None => Provider::system(),
    }
}

/// Where a secret may come from, in order of precedence: `--secret` values, then
/// `--secret-file` files, then the named environment variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct SecretArgs {
    /// The secret itself (visible to other local users in the process list: prefer
    /// `--secret-file` or the environment variable).
    #[arg(long = "secret", value_name = "SECRET")]
    pub(crate) secret: Vec<String>,
    /// A file holding the secret (one trailing newline is ignored).
    #[arg(long = "secret-file", value_name = "FILE")]
    pub(crate) secret_file: Vec<PathBuf>,
}

impl SecretArgs {
    /// Every secret given, or the environment variable `env` (if any) when none was.
    pub(crate) fn collect(&self, env: Option<&str>) -> CliResult<Vec<SecretString>> {
        let mut out: Vec<SecretString> = self
            .secret
            .iter()
            .map(|s| SecretString::new(s.clone()))
            .collect();
        for path in &self.secret_file {
            out.push(read_secret_file(path)?);
        }
        if let (true, Some(env)) = (out.is_empty(), env)
            && let Some(v) = std::env::var_os(env)
        {
            let v = v.into_string().map_err(|_| {
                CliError::Usage(format!("environment variable `{env}` is not UTF-8"))
            })?;
            out.push(SecretString::new(v));
        }
        Ok(out)
    }

    /// Exactly one secret.
    pub(crate) fn one(&self, env: &str) -> CliResult<SecretString> {
        let mut all = self.collect(Some(env))?;
        match (all.pop(), all.is_empty()) {
            (Some(s), true) => Ok(s),
            (Some(_), false) => Err(CliError::Usage(
                "give exactly one secret for this command".to_owned(),
            )),
            (None, _) => Err(CliError::Usage(format!(
                "no secret: pass `--secret`, `--secret-file` or set `{env}`"
            ))),
        }
    }
}

/// Reads a secret file as UTF-8 text without one trailing newline (`\n` or `\r\n`).
pub(crate) fn read_secret_file(path: &Path) -> CliResult<SecretString> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| file_err(path, &e))?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::Usage(format!("secret file `{}` is not UTF-8", path.display())))?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Ok(SecretString::new(text.to_owned()))
}

/// Reads a whole file, or fails with a usage error naming it.
pub(crate) fn read_file(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| file_err(path, &e))
}

/// Reads a whole file as UTF-8 text, or fails with a usage error naming it.
pub(crate) fn read_text(path: &Path) -> CliResult<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| CliError::Usage(format!("`{}` is not UTF-8 text", path.display())))
}

/// The usage error for a file that cannot be read.
pub(crate) fn file_err(path: &Path, e: &std::io::Error) -> CliError {
    CliError::Usage(format!("cannot read `{}`: {e}", path.display()))
}

/// The body from `file`, or from standard input when no file is given.
pub(crate) fn body(file: Option<&Path>) -> CliResult<Vec<u8>> {
    match file {
        Some(path) => read_file(path),
        None => read_stdin(),
    }
}

/// All of standard input.
pub(crate) fn read_stdin() -> CliResult<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| CliError::Failed(format!("cannot read standard input: {e}")))?;
    Ok(buf)
}

/// Writes `bytes` to standard output.
pub(crate) fn write_stdout(bytes: &[u8]) -> CliResult {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("cannot write standard output: {e}")))
}

/// Writes a new file that must not exist yet, readable only by its owner on Unix.
pub(crate) fn write_new_file(path: &Path, contents: &[u8], force: bool) -> CliResult {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Usage(format!(
                "`{}` already exists; refusing to overwrite it",
                path.display()
            ))
        } else {
            CliError::Usage(format!("cannot create `{}`: {e}", path.display()))
        }
    })?;
    f.write_all(contents)
        .and_then(|()| f.sync_all())
        .map_err(|e| CliError::Failed(format!("cannot write `{}`: {e}", path.display())))
}

/// Replaces `path` atomically (write a temporary file beside it, fsync, rename).
pub(crate) fn replace_file(path: &Path, contents: &[u8]) -> CliResult {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail =
        |e: std::io::Error| CliError::Failed(format!("cannot write `{}`: {e}", path.display()));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(contents).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Whether standard error is a terminal (progress bars are drawn only then).
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
