//! `portcullis apikey new|check`.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use portcullis_core::{ActorId, Provider, TenantId, UnixTime};
use portcullis_tokens::{ApiKeyRecord, ApiKeyStore, ApiKeys, MemoryApiKeyStore, TokenError};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};
use crate::input::{self, SecretArgs};

/// Environment variable read for the key of `apikey check`.
pub(crate) const KEY_ENV: &str = "PORTCULLIS_API_KEY";

/// Create and check API keys (`<prefix>_<id><secret><checksum>`; only a hash is stored).
///
/// A record is one JSON object: `{"tenant","id","owner","name","scopes","hash" (hex
/// SHA-256 of the key),"created_at_ms","expires_at_ms","revoked_at_ms"}`. A records file
/// holds one record per line.
#[derive(Debug, Subcommand)]
pub(crate) enum ApikeyCommand {
    /// Create a key: prints the key once (line 1) and the record to store as JSON (line 2).
    New(NewArgs),
    /// Check a key against stored records; prints `valid` and the record (exit 1 if not).
    ///
    /// The key comes from `--secret`, `--secret-file` or PORTCULLIS_API_KEY.
    Check(CheckArgs),
}

/// Arguments of `apikey new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Key prefix: 1 to 16 of `a-z 0-9`, starting with a letter.
    #[arg(long)]
    prefix: String,
    /// A scope granted to the key; repeat for several.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Tenant id.
    #[arg(long, default_value = "default")]
    tenant: String,
    /// The actor the key acts as.
    #[arg(long, default_value = "operator")]
    owner: String,
    /// A label for humans.
    #[arg(long, default_value = "created with portcullis apikey new")]
    name: String,
    /// Lifetime in seconds (default: no expiry).
    #[arg(long, value_name = "SECS")]
    ttl: Option<u64>,
    /// Also append the record to this records file (JSON lines).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
}

/// Arguments of `apikey check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Key prefix.
    #[arg(long)]
    prefix: String,
    /// Tenant id the key must belong to.
    #[arg(long, default_value = "default")]
    tenant: String,
    /// The records file (JSON lines, as printed by `apikey new`).
    #[arg(long, value_name = "FILE")]
    records: PathBuf,
    #[command(flatten)]
    secret: SecretArgs,
    /// Check as of this Unix time in seconds (default: now).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

/// The stored form of a record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordJson {
    tenant: TenantId,
    id: String,
    owner: ActorId,
    name: String,
    scopes: Vec<String>,
    hash: String,
    created_at_ms: u64,
    expires_at_ms: Option<u64>,
    revoked_at_ms: Option<u64>,
}

impl From<&ApiKeyRecord> for RecordJson {
    fn from(r: &ApiKeyRecord) -> Self {
        Self {
            tenant: r.tenant.clone(),
            id: r.id.clone(),
            owner: r.owner.clone(),
            name: r.name.clone(),
            scopes: r.scopes.clone(),
            hash: hex::encode(r.hash),
            created_at_ms: r.created_at.as_millis(),
            expires_at_ms: r.expires_at.map(UnixTime::as_millis),
            revoked_at_ms: r.revoked_at.map(UnixTime::as_millis),
        }
    }
}

impl TryFrom<RecordJson> for ApiKeyRecord {
    type Error = CliError;
    fn try_from(r: RecordJson) -> CliResult<Self> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&r.hash, &mut hash)
            .map_err(|_| CliError::Usage("record `hash` is not 64 hex digits".to_owned()))?;
        Ok(Self {
            tenant: r.tenant,
            id: r.id,
            owner: r.owner,
            name: r.name,
            scopes: r.scopes,
            hash,
            created_at: UnixTime::from_millis(r.created_at_ms),
            expires_at: r.expires_at_ms.map(UnixTime::from_millis),
            revoked_at: r.revoked_at_ms.map(UnixTime::from_millis),
        })
    }
}

/// Runs an apikey command.
pub(crate) fn run(cmd: &ApikeyCommand) -> CliResult {
    match cmd {
        ApikeyCommand::New(a) => new(a),
        ApikeyCommand::Check(a) => check(a),
    }
}

fn new(a: &NewArgs) -> CliResult {
    let tenant: TenantId = a.tenant.parse().map_err(CliError::usage)?;
    let owner: ActorId = a.owner.parse().map_err(CliError::usage)?;
    let keys = ApiKeys::new(
        Arc::new(MemoryApiKeyStore::new()),
        &a.prefix,
        Provider::system(),
    )
    .map_err(CliError::usage)?;
    let scopes: Vec<&str> = a.scopes.iter().map(String::as_str).collect();
    let created = futures::executor::block_on(keys.create(
        &tenant,
        &owner,
        &a.name,
        &scopes,
        a.ttl.map(Duration::from_secs),
    ))
    .map_err(CliError::usage)?;
    let record =
        serde_json::to_string(&RecordJson::from(&created.record)).map_err(CliError::failed)?;
    if let Some(path) = &a.records {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| CliError::Usage(format!("cannot open `{}`: {e}", path.display())))?;
        f.write_all(format!("{record}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| CliError::Failed(format!("cannot write `{}`: {e}", path.display())))?;
    }
    let out = zeroize::Zeroizing::new(format!("{}\n{record}\n", created.key.expose_secret()));
    input::write_stdout(out.as_bytes())
}

fn check(a: &CheckArgs) -> CliResult {
    let tenant: TenantId = a.tenant.parse().map_err(CliError::usage)?;
    let key = a.secret.one(KEY_ENV)?;
    let store = MemoryApiKeyStore::new();
    let text = input::read_text(&a.records)?;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let json: RecordJson = serde_json::from_str(line)
            .map_err(|e| CliError::Usage(format!("records file, line {}: {e}", n + 1)))?;
        let record = ApiKeyRecord::try_from(json)?;
        futures::executor::block_on(store.insert(record))
            .map_err(|e| CliError::Usage(format!("records file, line {}: {e}", n + 1)))?;
    }
    let keys = ApiKeys::new(Arc::new(store), &a.prefix, crate::input::provider_at(a.now))
        .map_err(CliError::usage)?;
    match futures::executor::block_on(keys.verify(&tenant, key.expose_secret())) {
        Ok(record) => {
            let json =
                serde_json::to_string(&RecordJson::from(&record)).map_err(CliError::failed)?;
            input::write_stdout(format!("valid\n{json}\n").as_bytes())
        }
        Err(e @ TokenError::InvalidConfig { .. }) => Err(CliError::usage(e)),
        Err(e) => Err(CliError::failed(e)),
    }
}
