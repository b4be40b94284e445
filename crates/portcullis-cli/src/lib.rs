//! `portcullis`: the command-line tool for operators and auditors of services built on
//! the Portcullis crates.
//!
//! It signs and verifies webhooks, appends to and verifies tamper-evident audit logs,
//! seals and opens per-tenant credentials, issues and verifies JWTs, creates and checks
//! API keys, and checks RBAC policies, all through the same library code a service uses,
//! so what the tool accepts the service accepts. Every command has `--help`.
//!
//! This crate is a binary; its library part only exists to hold these docs and
//! [`run`]. Use the concern crates (`portcullis-webhooks`, `-audit`, `-keys`, `-tokens`,
//! `-rbac`) from Rust code.
//!
//! ```
//! // What `main` does; a test harness can call it too. Usage errors return 2, `--help` 0.
//! let code = portcullis_cli::run(["portcullis", "webhook", "verify", "--help"]);
//! assert_eq!(format!("{code:?}"), format!("{:?}", std::process::ExitCode::SUCCESS));
//! let code = portcullis_cli::run(["portcullis", "webhook", "verify", "--scheme", "paypal"]);
//! assert_eq!(format!("{code:?}"), format!("{:?}", std::process::ExitCode::from(2)));
//! ```
//!
//! From a shell:
//!
//! ```text
//! $ printf '{"id":"evt_1"}' > event.json
//! $ portcullis webhook sign --scheme github --secret-file hook.secret --body-file event.json
//! x-hub-signature-256: sha256=…
//! $ portcullis webhook verify --scheme github --secret-file hook.secret \
//!     --header 'X-Hub-Signature-256: sha256=…' --body-file event.json
//! valid
//! ```
//!
//! # When not to use it
//!
//! - Inside a service's request path: link the crates instead of spawning the tool.
//! - With secrets on a shared machine via `--secret`: command lines are visible to other
//!   local users. Use `--secret-file` or the environment variable each command names.
//!
//! # Commands
//!
//! | command | what it does |
//! |---|---|
//! | `webhook sign --scheme S [--id ID] [--timestamp UNIX] [--body-file F]` | prints the headers to send, `Name: value` per line |
//! | `webhook verify --scheme S --header 'Name: value'… [--now UNIX] [--tolerance SECS] [--body-file F]` | prints `valid` |
//! | `audit append --log FILE --tenant T --actor A --action X --resource R [--ip IP] [--metadata JSON] [--redact-pii]` | prints `seq=<n> hash=<hex>` |
//! | `audit verify --log FILE [--tenant T] [--checkpoint FILE --public-key KEY] [--log-name N]` | prints `ok: <n> entries` |
//! | `audit checkpoint --log FILE --tenant T --signing-key FILE [--log-name N]` | prints a signed checkpoint note |
//! | `audit keygen --name NAME --out PREFIX [--force]` | writes `PREFIX.key` and `PREFIX.pub` |
//! | `keys generate --out FILE` / `keys rotate --master-key-file F` / `keys status --master-key-file F` | master-key files |
//! | `keys seal\|open --master-key-file F --tenant T --context C [--purpose P]` | stdin → stdout, base64 blobs |
//! | `keys reencrypt --master-key-file F [--tenant T --context C] [--purpose P]` | lines `<base64>` or `<tenant>\t<context>\t<base64>` → same lines under the primary |
//! | `token keygen --alg A --out FILE` / `token jwks --key-file F…` | key files and the public JWKS |
//! | `token issue --alg A --key-file F --sub S --tenant T [--ttl SECS] [--aud A] [--iss I] [--claims JSON]` | prints a JWT |
//! | `token verify (--jwks F \| --key-file F \| --secret S) --aud A --iss I [--type T] [--now UNIX] [--danger-accept-high-s] [TOKEN]` | prints the claims as JSON |
//! | `token verify --profile idp (--jwks F \| --discover URL [--ca-file PEM] \| --key-file F \| --secret S) --aud A --iss I [--alg ALG]... [--tenant-claim C] [--now UNIX] [TOKEN]` | an identity provider's access token; prints its claims as JSON |
//! | `apikey new --prefix P [--scope S…] [--tenant T] [--owner A] [--ttl SECS] [--records F]` | prints the key, then the record as JSON |
//! | `apikey check --prefix P --records F [--tenant T]` | prints `valid` and the record |
//! | `rbac check --policy F --principal JSON --action A --resource JSON` | prints the decision and reason |
//! | `rbac diff OLD NEW [--fail-on-growth]` | prints what NEW grants beyond OLD |
//! | `password hash [--memory-kib M --iterations T --parallelism P]` | password on stdin → the Argon2id PHC string |
//! | `password verify --hash H` | password on stdin → `valid` or `valid, needs rehash` (exit 1 on a mismatch) |
//! | `password check [--user-name U] [--email E] [--min-length N] [--min-score S] [--breached-file F]` | password on stdin → the strength (and breach) verdict (exit 1 when refused) |
//!
//! Webhook schemes: `stripe`, `standard` (Standard Webhooks / Svix), `zoom`, `github`,
//! `shopify`, `slack`. Bodies are read from `--body-file` or standard input, byte for
//! byte.
//!
//! # Secrets
//!
//! Each secret is taken from `--secret`, else `--secret-file` (one trailing newline is
//! ignored), else an environment variable: `PORTCULLIS_WEBHOOK_SECRET` (webhooks; repeat
//! `--secret`/`--secret-file` to verify against several during rotation),
//! `PORTCULLIS_TOKEN_SECRET` (HS256 `token verify`), `PORTCULLIS_API_KEY` (`apikey
//! check`). No command prints a secret it was given; error messages never contain one.
//! Files written with secrets (`*.key`, master-key files, token keys) are created with
//! mode `0600` and never overwritten (except `audit keygen --force` and `keys rotate`,
//! which replaces the file atomically).
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (`valid`, `ok: …`, `allow: …`) |
//! | 1 | a check failed (bad signature, tampered log naming the first bad seq, blob that does not open, invalid token or API key, `deny`), or the operation failed; one line on stderr says why |
//! | 2 | usage error: unknown command or flag, missing argument, unreadable or malformed input file or key, invalid id |
//!
//! # Key file formats
//!
//! - **Master keys** (`keys`): text, first line `portcullis-master-keys v1`, one
//!   `primary <version>` line, one `key <version> <64 hex digits>` line per 32-byte master
//!   key; `#` comments and empty lines ignored. Every listed version opens, the primary
//!   seals. `keys rotate` adds `max + 1` as primary; after `keys reencrypt`, delete the old
//!   line to retire it. Sealed blobs are the `portcullis-keys` format 1 (base64 on the
//!   command line), with the tenant key derived for the `--purpose` label (default
//!   `credentials`).
//! - **Token keys** (`token`): EdDSA and ES256 private keys are PKCS#8 PEM
//!   (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey` writes); their `kid` is the RFC
//!   7638 thumbprint. An HS256 key is a JSON Web Key
//!   `{"kty":"oct","alg":"HS256","kid":"hs256-<16 hex>","k":"<base64url of 32 random bytes>"}`.
//!   With `--secret`, the HMAC key is the secret's UTF-8 bytes (as PyJWT uses a string).
//! - **Audit keys** (`audit keygen`): C2SP signed-note keys, `PREFIX.key` =
//!   `PRIVATE+KEY+<name>+<hash>+<base64>` and `PREFIX.pub` = `<name>+<hash>+<base64>`.
//!   Logs are `portcullis-audit` file-store JSON lines, one file per tenant named
//!   `<tenant>.jsonl`.
//! - **API-key records** (`apikey`): one JSON object per line with `tenant`, `id`,
//!   `owner`, `name`, `scopes`, `hash` (hex SHA-256 of the key), `created_at_ms`,
//!   `expires_at_ms`, `revoked_at_ms`.
//!
//! # Security considerations
//!
//! - Verification goes through the same library functions a service uses; the tool adds
//!   no parsing of signatures, tokens or blobs of its own (it reads a token's `kid`
//!   unverified only to name an HS256 secret given on the command line).
//! - `--now` exists for audits and tests of past events; it moves the clock the check
//!   uses, so never script it with an attacker-supplied value.
//! - Progress bars are drawn on standard error only when it is a terminal.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod apikey;
mod audit;
mod error;
mod input;
mod keys;
mod masterkeys;
mod password;
mod progress;
mod rbac;
mod token;
mod tokenkey;
mod webhook;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliResult;

/// Webhooks, audit logs, sealed credentials, tokens, API keys and RBAC from the command
/// line. Exit codes: 0 success, 1 a check failed (the reason is on stderr), 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign and verify webhooks (stripe, standard, zoom, github, shopify, slack).
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Tamper-evident audit logs: append, verify, checkpoint, keygen.
    ///
    /// A log is one tenant's portcullis-audit file-store JSON-lines file `<tenant>.jsonl`.
    /// Keys are C2SP signed-note keys (`PREFIX.key` = `PRIVATE+KEY+…`, `PREFIX.pub`);
    /// checkpoints are C2SP tlog checkpoints with origin `<key name>/<tenant>`.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Master keys and per-tenant sealed credentials.
    ///
    /// Master-key file (version 1), UTF-8 text: the line `portcullis-master-keys v1`, one
    /// `primary <version>` line, and one `key <version> <64 hex digits>` line per 32-byte
    /// master key (versions decimal, 1 or more, unique); `#` comments and empty lines are
    /// ignored. Every listed version opens, the primary seals. Rotate: `keys rotate`, then
    /// `keys reencrypt` every stored blob, then delete the old `key` line to retire it.
    /// Blobs are the portcullis-keys sealed format 1, base64 on the command line.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// JWTs: issue, verify, jwks, keygen.
    ///
    /// Key files: EdDSA and ES256 private keys are PKCS#8 PEM (`-----BEGIN PRIVATE
    /// KEY-----`), their kid the RFC 7638 thumbprint; an HS256 key is a JSON Web Key
    /// `{"kty":"oct","alg":"HS256","kid":"…","k":"<base64url secret>"}`, never published.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// API keys: new, check.
    ///
    /// Keys are `<prefix>_<id><secret><checksum>`; only a SHA-256 hash is stored. A record
    /// is one JSON object per line of a records file: `tenant`, `id`, `owner`, `name`,
    /// `scopes`, `hash` (hex), `created_at_ms`, `expires_at_ms`, `revoked_at_ms`.
    #[command(subcommand)]
    Apikey(apikey::ApikeyCommand),
    /// RBAC policies: check, diff.
    #[command(subcommand)]
    Rbac(rbac::RbacCommand),
    /// Passwords: hash, verify, check (the password is read from standard input).
    #[command(subcommand)]
    Password(password::PasswordCommand),
}

fn dispatch(cli: &Cli) -> CliResult {
    match &cli.command {
        Command::Webhook(c) => webhook::run(c),
        Command::Audit(c) => audit::run(c),
        Command::Keys(c) => keys::run(c),
        Command::Token(c) => token::run(c),
        Command::Apikey(c) => apikey::run(c),
        Command::Rbac(c) => rbac::run(c),
        Command::Password(c) => password::run(c),
    }
}

/// Parses `args` (including the program name), runs the command and returns the exit
/// code: 0 success, 1 a failed check (one line on stderr), 2 a usage error.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                // --help and --version print to stdout and succeed.
                ExitCode::SUCCESS
            };
        }
    };
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = e.to_string().replace('\n', " ");
            let _ = writeln!(std::io::stderr(), "error: {line}");
            ExitCode::from(e.code())
        }
    }
}
