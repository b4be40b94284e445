//! `portcullis webhook sign|verify`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use portcullis_core::{Clock, OsRandom, SystemClock};
use portcullis_webhooks::{Tolerance, Verifier, WebhookError};

use crate::error::{CliError, CliResult};
use crate::input::{self, SecretArgs};

/// Environment variable read for the secret when neither `--secret` nor `--secret-file`
/// is given.
pub(crate) const SECRET_ENV: &str = "PORTCULLIS_WEBHOOK_SECRET";

/// Sign or verify webhooks exactly as the providers do.
#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Sign a body; prints the headers to send, one `Name: value` per line.
    ///
    /// The secret comes from `--secret`, `--secret-file` or PORTCULLIS_WEBHOOK_SECRET.
    Sign(SignArgs),
    /// Verify a received webhook; prints `valid` (exit 0) or the reason (exit 1).
    ///
    /// Secrets come from `--secret`/`--secret-file` (repeat either for rotation) or
    /// PORTCULLIS_WEBHOOK_SECRET.
    Verify(VerifyArgs),
}

/// The provider schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemeName {
    /// `Stripe-Signature: t=<ts>,v1=<hex>`; the `whsec_` secret is used as text.
    Stripe,
    /// Standard Webhooks / Svix: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
    /// `x-zm-signature: v0=<hex>`, `x-zm-request-timestamp`.
    Zoom,
    /// `X-Hub-Signature-256: sha256=<hex>` (no timestamp).
    Github,
    /// `X-Shopify-Hmac-Sha256: <base64>` (no timestamp).
    Shopify,
    /// `X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp`.
    Slack,
}

impl SchemeName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Standard => "standard",
            Self::Zoom => "zoom",
            Self::Github => "github",
            Self::Shopify => "shopify",
            Self::Slack => "slack",
        }
    }
}

/// Arguments of `webhook sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The signature scheme.
    #[arg(long, value_enum)]
    scheme: SchemeName,
    #[command(flatten)]
    secret: SecretArgs,
    /// Message id (signed by `standard`; default: a random `msg_…`).
    #[arg(long)]
    id: Option<String>,
    /// Unix timestamp in seconds to sign (default: now).
    #[arg(long, value_name = "UNIX")]
    timestamp: Option<u64>,
    /// File holding the exact body bytes (default: standard input).
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
}

/// Arguments of `webhook verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The signature scheme.
    #[arg(long, value_enum)]
    scheme: SchemeName,
    #[command(flatten)]
    secret: SecretArgs,
    /// A received header as `Name: value`; repeat for each signature header.
    #[arg(long = "header", value_name = "NAME: VALUE", required = true)]
    headers: Vec<String>,
    /// The time to check the signed timestamp against, in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// How far the signed timestamp may be from now, each way, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    tolerance: u64,
    /// File holding the exact body bytes received (default: standard input).
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
}

/// Runs a webhook command.
pub(crate) fn run(cmd: &WebhookCommand) -> CliResult {
    match cmd {
        WebhookCommand::Sign(a) => sign(a),
        WebhookCommand::Verify(a) => verify(a),
    }
}

fn sign(a: &SignArgs) -> CliResult {
    let secret = a.secret.one(SECRET_ENV)?;
    let body = input::body(a.body_file.as_deref())?;
    let id = match &a.id {
        Some(id) => id.clone(),
        None => portcullis_webhooks::new_message_id(&OsRandom).map_err(CliError::failed)?,
    };
    let timestamp = a.timestamp.unwrap_or_else(|| SystemClock.now().as_secs());
    let headers = portcullis_webhooks::sign(
        a.scheme.as_str(),
        secret.expose_secret(),
        &id,
        timestamp,
        &body,
    )
    .map_err(CliError::usage)?;
    let mut out = String::new();
    for (name, value) in headers {
        out.push_str(&name);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    input::write_stdout(out.as_bytes())
}

/// Splits `Name: value` at the first colon; the value loses leading spaces and tabs.
fn parse_header(text: &str) -> CliResult<(String, String)> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| CliError::Usage("a `--header` must look like `Name: value`".to_owned()))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(CliError::Usage("a `--header` has an empty name".to_owned()));
    }
    Ok((
        name.to_owned(),
        value.trim_start_matches([' ', '\t']).to_owned(),
    ))
}

fn verify(a: &VerifyArgs) -> CliResult {
    let secrets = a.secret.collect(Some(SECRET_ENV))?;
    if secrets.is_empty() {
        return Err(CliError::Usage(format!(
            "no secret: pass `--secret`, `--secret-file` or set `{SECRET_ENV}`"
        )));
    }
    let headers = a
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<CliResult<Vec<_>>>()?;
    let body = input::body(a.body_file.as_deref())?;
    let scheme = portcullis_webhooks::by_name(a.scheme.as_str()).map_err(CliError::usage)?;
    let verifier = Verifier::from_dyn(
        Arc::from(scheme),
        secrets.iter().map(|s| s.expose_secret()),
        crate::input::provider_at(a.now),
    )
    .map_err(CliError::usage)?
    .tolerance(Tolerance::symmetric(Duration::from_secs(a.tolerance)));
    let pairs = headers.as_slice();
    match verifier.verify(&pairs, &body) {
        Ok(_) => input::write_stdout(b"valid\n"),
        Err(e @ (WebhookError::InvalidSecret(_) | WebhookError::NoSecrets)) => {
            Err(CliError::usage(e))
        }
        Err(e) => Err(CliError::failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_header;

    #[test]
    fn header_splits_at_first_colon() {
        let (n, v) = parse_header("Stripe-Signature: t=1,v1=ab:cd").unwrap();
        assert_eq!(
            (n.as_str(), v.as_str()),
            ("Stripe-Signature", "t=1,v1=ab:cd")
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }
}
