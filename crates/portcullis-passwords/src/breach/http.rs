//! [`HibpRange`]: the Pwned Passwords range API over HTTPS (reqwest on rustls with the
//! ring provider), padded responses requested, no redirects, bounded time and body.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::{BackendError, BackendErrorKind};

use super::{BreachRange, HashPrefix, RangeEntry};

/// The public API's base address.
pub const PWNED_PASSWORDS_API: &str = "https://api.pwnedpasswords.com";
/// The largest response accepted (a padded answer is about 30 to 40 KiB).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// The Pwned Passwords range API: `GET {base}/range/{prefix}` with `Add-Padding: true`.
/// Padding entries (count 0) are dropped after parsing; a malformed line fails the whole
/// answer ([`BackendErrorKind::Corrupt`]), HTTP 429 is
/// [`BackendErrorKind::Throttled`], anything else but 200 is unavailable.
#[derive(Debug, Clone)]
pub struct HibpRange {
    client: reqwest::Client,
    base: url::Url,
}

fn error(kind: BackendErrorKind) -> BackendError {
    BackendError::without_source(kind, "pwned passwords range")
}

impl HibpRange {
    /// The public API, trusting the platform's root certificates, 5 s timeout.
    ///
    /// # Errors
    /// [`BackendErrorKind::Unavailable`] if no root certificate loads.
    pub fn new() -> Result<Self, BackendError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // A certificate the store cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(error(BackendErrorKind::Unavailable));
        }
        let base = url::Url::parse(PWNED_PASSWORDS_API)
            .map_err(|_| error(BackendErrorKind::Unavailable))?;
        Self::build(base, roots, Duration::from_secs(5))
    }

    /// A mirror at `base` (HTTPS), trusting `roots`.
    ///
    /// # Errors
    /// [`BackendErrorKind::Unavailable`] for a non-HTTPS base or a client that cannot
    /// be built.
    pub fn with_base(
        base: url::Url,
        roots: rustls::RootCertStore,
        timeout: Duration,
    ) -> Result<Self, BackendError> {
        if base.scheme() != "https" {
            return Err(error(BackendErrorKind::Unavailable));
        }
        Self::build(base, roots, timeout)
    }

    /// A mirror over plain HTTP on a loopback address (tests, a sidecar). Anything else
    /// is refused.
    ///
    /// # Errors
    /// [`BackendErrorKind::Unavailable`] for a base that is not `http://` on loopback.
    pub fn danger_http_loopback(base: url::Url, timeout: Duration) -> Result<Self, BackendError> {
        let loopback = match base.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if base.scheme() != "http" || !loopback {
            return Err(error(BackendErrorKind::Unavailable));
        }
        // Always a preconfigured rustls (trusting nothing): reqwest without a provider
        // would panic when built.
        Self::build(base, rustls::RootCertStore::empty(), timeout)
    }

    fn build(
        base: url::Url,
        roots: rustls::RootCertStore,
        timeout: Duration,
    ) -> Result<Self, BackendError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| error(BackendErrorKind::Unavailable))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("portcullis-passwords/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| error(BackendErrorKind::Unavailable))?;
        Ok(Self { client, base })
    }
}

/// Parses a range answer body: `SUFFIX:COUNT` lines, CRLF or LF; drops padding.
pub(crate) fn parse_body(body: &str) -> Result<Vec<RangeEntry>, BackendError> {
    let mut out = Vec::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let entry = RangeEntry::parse_line(line).ok_or_else(|| error(BackendErrorKind::Corrupt))?;
        if entry.count > 0 {
            out.push(entry);
        }
    }
    Ok(out)
}

#[async_trait]
impl BreachRange for HibpRange {
    async fn range(&self, prefix: &HashPrefix) -> Result<Vec<RangeEntry>, BackendError> {
        let url = self
            .base
            .join(&format!("range/{prefix}"))
            .map_err(|_| error(BackendErrorKind::Unavailable))?;
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                error(BackendErrorKind::Timeout)
            } else {
                error(BackendErrorKind::Unavailable)
            }
        };
        let mut response = self
            .client
            .get(url)
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(transport)?;
        match response.status().as_u16() {
            200 => {}
            429 => return Err(error(BackendErrorKind::Throttled)),
            _ => return Err(error(BackendErrorKind::Unavailable)),
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return Err(error(BackendErrorKind::Corrupt));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(error(BackendErrorKind::Corrupt));
            }
            body.extend_from_slice(&chunk);
        }
        let body = std::str::from_utf8(&body).map_err(|_| error(BackendErrorKind::Corrupt))?;
        parse_body(body)
    }
}
