//! `portcullis password hash|verify|check`: the password always comes from standard input
//! (one trailing newline is dropped), never from an argument.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use portcullis_core::Provider;
use portcullis_passwords::{
    Argon2Params, OfflineBreachList, PasswordError, PasswordPolicy, Passwords, UserContext,
    Verification,
};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::input;

/// Hash, verify and check passwords (portcullis-passwords). The password is read from
/// standard input; a trailing newline is not part of it.
#[derive(Debug, Subcommand)]
pub(crate) enum PasswordCommand {
    /// Hash with Argon2id; prints the PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    Hash(HashArgs),
    /// Verify against a stored hash (Argon2, bcrypt `$2a$/$2b$/$2y$`, scrypt,
    /// PBKDF2-SHA256); prints `valid` or `valid, needs rehash` (exit 1 on a mismatch).
    Verify(VerifyArgs),
    /// Check a new password's length and strength (zxcvbn), and with --breached-file the
    /// breach list; prints the verdict (exit 1 when refused).
    Check(CheckArgs),
}

/// The Argon2 parameters of the policy: what `hash` makes, below which `verify` says
/// "needs rehash".
#[derive(Debug, Args)]
pub(crate) struct ParamsArgs {
    /// Argon2 memory in KiB (floor 7168, with memory × passes ≥ 35840).
    #[arg(long, value_name = "KIB", default_value_t = 19456)]
    memory_kib: u32,
    /// Argon2 passes.
    #[arg(long, default_value_t = 2)]
    iterations: u32,
    /// Argon2 lanes.
    #[arg(long, default_value_t = 1)]
    parallelism: u32,
}

/// Arguments of `password hash`.
#[derive(Debug, Args)]
pub(crate) struct HashArgs {
    #[command(flatten)]
    params: ParamsArgs,
}

/// Arguments of `password verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The stored hash (a PHC string or a bcrypt hash).
    #[arg(long = "hash", value_name = "HASH")]
    stored: String,
    #[command(flatten)]
    params: ParamsArgs,
}

/// Arguments of `password check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The user's name (a password leaning on it scores lower).
    #[arg(long, value_name = "NAME")]
    user_name: Option<String>,
    /// The user's e-mail address (its parts are penalised too).
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// Words of the service (its name, domain); repeat for several.
    #[arg(long = "service-word", value_name = "WORD")]
    service_words: Vec<String>,
    /// Minimum length in characters.
    #[arg(long, value_name = "N", default_value_t = 8)]
    min_length: usize,
    /// Minimum zxcvbn score, 0 to 4.
    #[arg(long, value_name = "S", default_value_t = 3)]
    min_score: u8,
    /// A breach list: SHA-1 hashes in hex, one per line, optionally `:count`.
    #[arg(long, value_name = "FILE")]
    breached_file: Option<PathBuf>,
}

pub(crate) fn run(command: &PasswordCommand) -> CliResult {
    match command {
        PasswordCommand::Hash(a) => hash(a),
        PasswordCommand::Verify(a) => verify(a),
        PasswordCommand::Check(a) => check(a),
    }
}

/// Standard input as the password: UTF-8, one trailing `\n` or `\r\n` dropped.
fn password_from_stdin() -> CliResult<Zeroizing<String>> {
    let bytes = Zeroizing::new(input::read_stdin()?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::usage("the password on standard input is not UTF-8"))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text);
    Ok(Zeroizing::new(text.to_owned()))
}

fn passwords(a: &ParamsArgs) -> CliResult<Passwords> {
    let params =
        Argon2Params::new(a.memory_kib, a.iterations, a.parallelism).map_err(CliError::usage)?;
    Passwords::builder(Provider::system())
        .params(params)
        .build()
        .map_err(CliError::usage)
}

fn hash(a: &HashArgs) -> CliResult {
    let passwords = passwords(&a.params)?;
    let password = password_from_stdin()?;
    let phc = passwords.hash(&password).map_err(CliError::failed)?;
    input::write_stdout(format!("{phc}\n").as_bytes())
}

fn verify(a: &VerifyArgs) -> CliResult {
    let passwords = passwords(&a.params)?;
    let password = password_from_stdin()?;
    match passwords.verify(&password, Some(a.stored.trim())) {
        Ok(Verification::Verified {
            needs_rehash: false,
        }) => input::write_stdout(b"valid\n"),
        Ok(Verification::Verified { needs_rehash: true }) => {
            input::write_stdout(b"valid, needs rehash\n")
        }
        Ok(Verification::Mismatch) => Err(CliError::failed("the password does not match")),
        Err(
            e @ (PasswordError::MalformedHash { .. }
            | PasswordError::UnsupportedScheme { .. }
            | PasswordError::CostAboveLimit { .. }
            | PasswordError::UnknownPepper { .. }),
        ) => Err(CliError::usage(e)),
        Err(e) => Err(CliError::failed(e)),
    }
}

fn check(a: &CheckArgs) -> CliResult {
    let words: Vec<&str> = a.service_words.iter().map(String::as_str).collect();
    let policy = PasswordPolicy::new()
        .with_min_length(a.min_length)
        .and_then(|p| p.with_min_score(a.min_score))
        .map_err(CliError::usage)?
        .with_service_words(&words);
    let breaches = a
        .breached_file
        .as_deref()
        .map(|path| {
            OfflineBreachList::from_file(path)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
        })
        .transpose()?;
    let password = password_from_stdin()?;
    let user = UserContext {
        user_name: a.user_name.as_deref(),
        email: a.email.as_deref(),
        other: &[],
    };
    let verdict = match &breaches {
        Some(list) => {
            futures::executor::block_on(policy.check_with_breaches(&password, &user, list))
        }
        None => policy.check(&password, &user),
    };
    match verdict {
        Ok(strength) => {
            let breach = match &breaches {
                Some(list) => format!(", not in the breach list ({} hashes)", list.len()),
                None => String::new(),
            };
            input::write_stdout(
                format!(
                    "ok: strength {}/4 (about 10^{:.1} guesses){breach}\n",
                    strength.score, strength.guesses_log10
                )
                .as_bytes(),
            )
        }
        Err(refusal) => Err(CliError::failed(format!("refused: {refusal}"))),
    }
}
