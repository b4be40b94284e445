//! `portcullis token issue|verify|jwks|keygen`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, Subcommand, ValueEnum};
use portcullis_core::{ActorId, KeyId, OsRandom, Provider, SecretBytes, SecretString, TenantId};
use portcullis_tokens::{
    Algorithm, Claims, KeyMaterial, KeyState, SigningKeys, TokenConfig, TokenError, TokenService,
    TokenStores, TokenType, danger,
};
use serde_json::{Map, Value};

use crate::error::{CliError, CliResult};
use crate::input::{self, SecretArgs};
use crate::tokenkey;

/// Environment variable read for the HS256 secret of `token verify`.
pub(crate) const SECRET_ENV: &str = "PORTCULLIS_TOKEN_SECRET";

/// Issue and verify access JWTs (HS256, EdDSA, ES256) and export JWKS.
///
/// Key files: EdDSA and ES256 private keys are PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`);
/// an HS256 key is a JSON Web Key `{"kty":"oct","alg":"HS256","kid":…,"k":<base64url>}`.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Issue an access token; prints the JWT.
    Issue(IssueArgs),
    /// Verify a token's signature and claims; prints the claims as JSON (exit 1 if
    /// invalid). Offline: revocations, logouts and sessions are not consulted.
    ///
    /// Keys: `--jwks FILE` (EdDSA/ES256), `--key-file FILE` (any key file), or an HS256
    /// secret from `--secret`, `--secret-file` or PORTCULLIS_TOKEN_SECRET (its UTF-8
    /// bytes are the HMAC key; the token's `kid` names it).
    Verify(VerifyArgs),
    /// Print the public JWKS of EdDSA/ES256 key files.
    Jwks(JwksArgs),
    /// Write a new private key file (PEM for EdDSA/ES256, a JSON Web Key for HS256);
    /// prints its `kid`.
    Keygen(KeygenArgs),
}

/// The algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Alg {
    /// HMAC-SHA256 with a shared secret.
    #[value(name = "HS256")]
    Hs256,
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDsa,
    /// ECDSA P-256 SHA-256.
    #[value(name = "ES256")]
    Es256,
}

impl Alg {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::Hs256,
            Self::EdDsa => Algorithm::EdDsa,
            Self::Es256 => Algorithm::Es256,
        }
    }
}

/// Token types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// Access tokens.
    Access,
    /// Scoped tokens.
    Scoped,
    /// One-time tickets (single use is not checked here: no store).
    Ticket,
}

/// Arguments of `token issue`.
#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// The algorithm; must match the key file.
    #[arg(long, value_enum)]
    alg: Alg,
    /// The private key file.
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
    /// Subject (actor id).
    #[arg(long)]
    sub: String,
    /// Tenant id (`tid` claim).
    #[arg(long)]
    tenant: String,
    /// Lifetime in seconds (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    ttl: u64,
    /// Audience.
    #[arg(long, default_value = "portcullis")]
    aud: String,
    /// Issuer.
    #[arg(long, default_value = "portcullis")]
    iss: String,
    /// Extra claims as a JSON object (registered names are refused).
    #[arg(long, value_name = "JSON")]
    claims: Option<String>,
}

/// Arguments of `token verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// A JWKS document with the public keys.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// A key file (as written by `token keygen`).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    #[command(flatten)]
    secret: SecretArgs,
    /// Expected audience.
    #[arg(long)]
    aud: String,
    /// Expected issuer.
    #[arg(long)]
    iss: String,
    /// Expected token type.
    #[arg(long = "type", value_enum, default_value = "access")]
    kind: Kind,
    /// Verify as of this Unix time in seconds (default: now).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// Also accept ES256 signatures in high-S form, as many JOSE signers (OpenSSL, Python
    /// `cryptography`, Go, Java) emit about half the time. The token string is then
    /// malleable (a second valid string exists for the same claims). Default: low-S only.
    #[arg(long)]
    danger_accept_high_s: bool,
    /// The token (default: read from standard input).
    token: Option<String>,
}

/// Arguments of `token jwks`.
#[derive(Debug, Args)]
pub(crate) struct JwksArgs {
    /// A private (or public) key file; repeat to publish several keys.
    #[arg(long, value_name = "FILE", required = true)]
    key_file: Vec<PathBuf>,
}

/// Arguments of `token keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The algorithm.
    #[arg(long, value_enum)]
    alg: Alg,
    /// Where to write the key (refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs a token command.
pub(crate) fn run(cmd: &TokenCommand) -> CliResult {
    match cmd {
        TokenCommand::Issue(a) => issue(a),
        TokenCommand::Verify(a) => verify(a),
        TokenCommand::Jwks(a) => jwks(a),
        TokenCommand::Keygen(a) => keygen(a),
    }
}

fn config(iss: &str, aud: &str) -> CliResult<TokenConfig> {
    TokenConfig::new(iss, aud).map_err(CliError::usage)
}

fn issue(a: &IssueArgs) -> CliResult {
    let key = tokenkey::load(&a.key_file)?;
    tokenkey::same_alg(a.alg.algorithm(), &key)?;
    let ring = Arc::new(SigningKeys::new());
    ring.insert(key, KeyState::Active)
        .map_err(CliError::usage)?;
    let config = config(&a.iss, &a.aud)?
        .with_access_ttl(Duration::from_secs(a.ttl))
        .map_err(CliError::usage)?;
    let provider = Provider::system();
    let svc = TokenService::new(ring, config, TokenStores::in_memory(&provider), provider);
    let tenant: TenantId = a.tenant.parse().map_err(CliError::usage)?;
    let sub: ActorId = a.sub.parse().map_err(CliError::usage)?;
    let extra: Map<String, Value> = match &a.claims {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| CliError::Usage(format!("`--claims` is not a JSON object: {e}")))?,
        None => Map::new(),
    };
    let token = svc
        .issue_access(&tenant, &sub, None, &extra)
        .map_err(CliError::usage)?;
    input::write_stdout(format!("{}\n", token.token).as_bytes())
}

/// The `kid` in a token's header, read without verifying (only to name an HS256 secret).
fn unverified_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let json = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: Value = serde_json::from_slice(&json).ok()?;
    value.get("kid")?.as_str().map(str::to_owned)
}

/// The verify-only asymmetric keys of `--jwks` and `--key-file`, in a fresh ring.
fn asymmetric_ring(a: &VerifyArgs) -> CliResult<(SigningKeys, usize)> {
    let ring = SigningKeys::new();
    let mut added = 0usize;
    let lenient = |key: KeyMaterial| {
        if a.danger_accept_high_s {
            key.danger_accept_high_s()
        } else {
            key
        }
    };
    if let Some(path) = &a.jwks {
        for key in tokenkey::load_jwks(path)? {
            ring.insert(lenient(key), KeyState::VerifyOnly)
                .map_err(CliError::usage)?;
            added += 1;
        }
    }
    if let Some(path) = &a.key_file {
        ring.insert(lenient(tokenkey::load(path)?), KeyState::VerifyOnly)
            .map_err(CliError::usage)?;
        added += 1;
    }
    Ok((ring, added))
}

fn hs256_key(kid: &str, secret: &SecretString) -> CliResult<KeyMaterial> {
    let kid =
        KeyId::new(kid).map_err(|_| CliError::Failed("token `kid` is not a key id".to_owned()))?;
    let bytes = SecretBytes::from_slice(secret.expose_secret().as_bytes());
    KeyMaterial::hs256(kid, &bytes).map_err(CliError::usage)
}

fn verify(a: &VerifyArgs) -> CliResult {
    let token = match &a.token {
        Some(t) => t.clone(),
        None => String::from_utf8(input::read_stdin()?)
            .map_err(|_| CliError::Failed("token is not UTF-8".to_owned()))?,
    };
    let token = token.trim();
    let (ring, asymmetric) = asymmetric_ring(a)?;
    let secrets = a.secret.collect((asymmetric == 0).then_some(SECRET_ENV))?;
    if asymmetric == 0 && secrets.is_empty() {
        return Err(CliError::Usage(format!(
            "no key: pass `--jwks`, `--key-file`, `--secret`, `--secret-file` or set `{SECRET_ENV}`"
        )));
    }
    let config = config(&a.iss, &a.aud)?;
    let kid = unverified_kid(token);
    let attempts: Vec<(SigningKeys, TokenConfig)> = match (&kid, secrets.as_slice()) {
        (_, []) => vec![(ring, config)],
        // Each secret is its own key: the token names one `kid`, so each secret is tried
        // under that name in turn (the asymmetric keys beside it), in command-line order.
        (Some(kid), secrets) => {
            let mut out = Vec::with_capacity(secrets.len());
            let mut first = Some(ring);
            for secret in secrets {
                let ring = match first.take() {
                    Some(ring) => ring,
                    None => asymmetric_ring(a)?.0,
                };
                if ring
                    .states()
                    .map_err(CliError::failed)?
                    .iter()
                    .all(|(k, _, _)| k.as_str() != kid)
                {
                    ring.insert(hs256_key(kid, secret)?, KeyState::VerifyOnly)
                        .map_err(CliError::usage)?;
                }
                out.push((ring, config.clone()));
            }
            out
        }
        // No `kid`: one ring holding every secret, each tried in turn.
        (None, secrets) => {
            for (i, secret) in secrets.iter().enumerate() {
                let state = if i == 0 {
                    KeyState::Active
                } else {
                    KeyState::Standby
                };
                ring.insert(hs256_key(&format!("secret-{}", i + 1), secret)?, state)
                    .map_err(CliError::usage)?;
            }
            vec![(ring, config.accept_hs256_without_kid())]
        }
    };
    let kind = match a.kind {
        Kind::Access => TokenType::Access,
        Kind::Scoped => TokenType::Scoped,
        Kind::Ticket => TokenType::Ticket,
    };
    let provider = crate::input::provider_at(a.now);
    let mut first_error = None;
    for (ring, config) in attempts {
        // Offline: there is no revocation or session store to ask, so only the signature
        // and the claims are checked (the command's help says so).
        let svc = TokenService::new(
            Arc::new(ring),
            config,
            TokenStores::in_memory(&provider),
            provider.clone(),
        );
        match danger::verify_signature_and_claims_only::<Map<String, Value>>(&svc, token, kind) {
            Ok(verified) => {
                let mut claims: Claims<Map<String, Value>> = verified.claims;
                for name in [
                    "iss", "aud", "sub", "tid", "iat", "nbf", "exp", "jti", "typ", "sid", "res",
                    "role", "pur",
                ] {
                    claims.extra.remove(name);
                }
                let json = serde_json::to_string(&claims).map_err(CliError::failed)?;
                return input::write_stdout(format!("{json}\n").as_bytes());
            }
            // Another secret may match; any other refusal is the token's, whatever the key.
            Err(TokenError::InvalidSignature) => {
                first_error.get_or_insert(TokenError::InvalidSignature);
            }
            Err(e) => return Err(CliError::failed(e)),
        }
    }
    Err(CliError::failed(
        first_error.unwrap_or(TokenError::InvalidSignature),
    ))
}

fn jwks(a: &JwksArgs) -> CliResult {
    let ring = SigningKeys::new();
    for path in &a.key_file {
        let key = tokenkey::load(path)?;
        if key.algorithm() == Algorithm::Hs256 {
            return Err(CliError::Usage(format!(
                "`{}` is an HS256 secret: it is never published",
                path.display()
            )));
        }
        ring.insert(key, KeyState::VerifyOnly)
            .map_err(CliError::usage)?;
    }
    let doc = ring.jwks().map_err(CliError::failed)?;
    let json = serde_json::to_string_pretty(&doc).map_err(CliError::failed)?;
    input::write_stdout(format!("{json}\n").as_bytes())
}

fn keygen(a: &KeygenArgs) -> CliResult {
    let text = tokenkey::generate(a.alg.algorithm(), &OsRandom)?;
    input::write_new_file(&a.out, text.as_bytes(), false)?;
    let key = tokenkey::load(Path::new(&a.out))?;
    input::write_stdout(format!("{}\n", key.kid()).as_bytes())
}
