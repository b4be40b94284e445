//! `portcullis token issue|verify|jwks|keygen`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, Subcommand, ValueEnum};
use portcullis_core::{ActorId, KeyId, OsRandom, Provider, SecretBytes, SecretString, TenantId};
use portcullis_tokens::{
    Algorithm, Claims, IdpVerifier, IssuerProfile, KeyMaterial, KeyState, RemoteJwks,
    RemoteJwksConfig, ReqwestHttpClient, SigningKeys, TokenConfig, TokenError, TokenService,
    TokenStores, TokenType, danger, parse_jwks,
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
    /// The claim rules: `ours` (tokens this library issues: `sub`/`tid`/`jti`/`nbf`/`typ`
    /// claims required) or `idp` (an identity provider's access tokens: `sub` any string,
    /// `iat`/`nbf`/`jti` optional, no tenant unless `--tenant-claim`, the `typ` header
    /// `at+jwt`, `JWT` or absent; keys from `--jwks` (any provider's JWKS), `--key-file`,
    /// `--discover`, or HS256 secrets, with or without `kid`).
    #[arg(long, value_enum, default_value = "ours")]
    profile: Profile,
    /// (idp) Fetch the keys by OpenID discovery from this issuer URL (HTTPS), then its
    /// `jwks_uri`. Exclusive with the other key options.
    #[arg(long, value_name = "ISSUER_URL")]
    discover: Option<String>,
    /// (idp) An accepted algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256,
    /// ES384, EdDSA, HS256); repeat for several. Default: every asymmetric one, and HS256
    /// when a secret is given. RSA keys of a JWKS without `alg` take the first RSA one
    /// listed (default RS256).
    #[arg(long = "alg", value_name = "ALG")]
    algs: Vec<String>,
    /// (idp) Read the tenant from this string claim (for example `org_id`).
    #[arg(long, value_name = "CLAIM")]
    tenant_claim: Option<String>,
    /// (--discover) Trust only the CA certificates of this PEM file (a private PKI)
    /// instead of the platform's roots.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// (--discover) Allow plain `http://` to a loopback host (local tests only).
    #[arg(long)]
    danger_allow_http_loopback: bool,
    /// The token (default: read from standard input).
    token: Option<String>,
}

/// Which claim rules `token verify` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Profile {
    /// Tokens issued by this library (the strict profile).
    Ours,
    /// Access tokens of an identity provider (Auth0, Okta, Keycloak, Entra ID, ...).
    Idp,
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
    if a.profile == Profile::Idp {
        return verify_idp(a, token);
    }
    if a.discover.is_some() || !a.algs.is_empty() || a.tenant_claim.is_some() {
        return Err(CliError::Usage(
            "`--discover`, `--alg` and `--tenant-claim` need `--profile idp`".to_owned(),
        ));
    }
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

/// `token verify --profile idp`: an identity provider's access token.
fn verify_idp(a: &VerifyArgs, token: &str) -> CliResult {
    let secrets = a.secret.collect(None)?;
    let mut algs = a
        .algs
        .iter()
        .map(|n| {
            Algorithm::from_name(n)
                .ok_or_else(|| CliError::Usage(format!("`--alg {n}` is not a supported algorithm")))
        })
        .collect::<CliResult<Vec<_>>>()?;
    if algs.is_empty() {
        algs = Algorithm::ALL
            .iter()
            .copied()
            .filter(|a| *a != Algorithm::Hs256 || !secrets.is_empty())
            .collect();
    }
    let rsa_default = algs
        .iter()
        .copied()
        .find(|a| a.is_rsa())
        .or(Some(Algorithm::Rs256));
    let provider = crate::input::provider_at(a.now);
    let profile = |keys: Arc<SigningKeys>| -> CliResult<IssuerProfile> {
        let p = IssuerProfile::new(&a.iss, &[a.aud.as_str()], &algs, keys)
            .map_err(CliError::usage)?
            .accept_hs256_without_kid();
        Ok(match &a.tenant_claim {
            Some(c) => p.tenant_claim(c),
            None => p,
        })
    };
    let print = |t: portcullis_tokens::IdpToken| {
        let json = serde_json::to_string(&t.claims).map_err(CliError::failed)?;
        input::write_stdout(format!("{json}\n").as_bytes())
    };
    if let Some(issuer) = &a.discover {
        if a.jwks.is_some() || a.key_file.is_some() || !secrets.is_empty() {
            return Err(CliError::Usage(
                "`--discover` takes the keys from the issuer: no `--jwks`, `--key-file` or secret"
                    .to_owned(),
            ));
        }
        let client = match &a.ca_file {
            Some(path) => ReqwestHttpClient::with_root_pem(input::read_text(path)?.as_bytes()),
            None => ReqwestHttpClient::new(),
        }
        .map_err(CliError::usage)?;
        let mut config = RemoteJwksConfig::default().rsa_default(rsa_default);
        if a.danger_allow_http_loopback {
            config = config.danger_allow_http_loopback();
        }
        if a.danger_accept_high_s {
            config = config.danger_accept_high_s();
        }
        let remote = RemoteJwks::discover(issuer, Arc::new(client), Provider::system(), config)
            .map_err(CliError::usage)?;
        let p = IssuerProfile::remote(&a.iss, &[a.aud.as_str()], &algs, remote)
            .map_err(CliError::usage)?;
        let p = match &a.tenant_claim {
            Some(c) => p.tenant_claim(c),
            None => p,
        };
        let verifier = IdpVerifier::new(vec![p], provider).map_err(CliError::usage)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CliError::failed)?;
        let verified = runtime
            .block_on(verifier.verify_async(token))
            .map_err(CliError::failed)?;
        return print(verified);
    }
    let ring = SigningKeys::new();
    let lenient = |key: KeyMaterial| {
        if a.danger_accept_high_s {
            key.danger_accept_high_s()
        } else {
            key
        }
    };
    if let Some(path) = &a.jwks {
        let doc =
            parse_jwks(input::read_text(path)?.as_bytes(), rsa_default).map_err(CliError::usage)?;
        for skipped in &doc.skipped {
            eprintln!(
                "portcullis: skipped JWKS key {}: {}",
                skipped.kid.as_deref().unwrap_or("(no kid)"),
                skipped.reason
            );
        }
        for key in doc.keys {
            ring.insert(lenient(key), KeyState::VerifyOnly)
                .map_err(CliError::usage)?;
        }
    }
    if let Some(path) = &a.key_file {
        ring.insert(lenient(tokenkey::load(path)?), KeyState::VerifyOnly)
            .map_err(CliError::usage)?;
    }
    let asymmetric = ring.states().map_err(CliError::failed)?.len();
    if asymmetric == 0 && secrets.is_empty() {
        return Err(CliError::Usage(
            "no key: pass `--jwks`, `--key-file`, `--discover`, `--secret` or `--secret-file`"
                .to_owned(),
        ));
    }
    // The asymmetric keys first, then each secret as its own key, named by the token's
    // `kid` if it has one (else tried kid-less), in command-line order.
    let kid = unverified_kid(token);
    let mut rings = Vec::new();
    if asymmetric > 0 {
        rings.push(ring);
    }
    for (i, secret) in secrets.iter().enumerate() {
        let name = kid.clone().unwrap_or_else(|| format!("secret-{}", i + 1));
        let one = SigningKeys::new();
        one.insert(hs256_key(&name, secret)?, KeyState::VerifyOnly)
            .map_err(CliError::usage)?;
        rings.push(one);
    }
    let mut first_error = None;
    for ring in rings {
        let verifier = IdpVerifier::new(vec![profile(Arc::new(ring))?], provider.clone())
            .map_err(CliError::usage)?;
        match verifier.verify(token) {
            Ok(t) => return print(t),
            // Another key may match: a secret under this kid, or the asymmetric ring.
            Err(e @ (TokenError::InvalidSignature | TokenError::UnknownKey { .. }))
                if secrets.len() + usize::from(asymmetric > 0) > 1 =>
            {
                first_error.get_or_insert(e);
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
