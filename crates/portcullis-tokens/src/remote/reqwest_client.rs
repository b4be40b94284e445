//! The default [`HttpClient`]: reqwest on rustls (the ring provider, TLS 1.2 and 1.3), the
//! platform's trust roots or the caller's, no redirects, bounded time and body.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::http::{HttpClient, HttpError, HttpRequest, HttpResponse, is_loopback};

/// An [`HttpClient`] on [`reqwest`] with rustls. Refuses plain HTTP except to loopback
/// hosts (whether the cache allows even that is
/// [`RemoteJwksConfig::danger_allow_http_loopback`](crate::RemoteJwksConfig::danger_allow_http_loopback)),
/// follows no redirect, and gives up after the timeout (default 5 s per request).
#[derive(Debug, Clone)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
}

impl ReqwestHttpClient {
    /// A client trusting the platform's root certificates (`rustls-native-certs`), with a
    /// 5 s timeout.
    ///
    /// # Errors
    ///
    /// [`HttpError::Transport`] if no root certificate could be loaded or the client could
    /// not be built.
    pub fn new() -> Result<Self, HttpError> {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A certificate the store cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(transport("no platform root certificate could be loaded"));
        }
        Self::with_roots(roots, Duration::from_secs(5))
    }

    /// A client trusting only the certificates in `pem` (a private PKI, or a test CA), with
    /// a 5 s timeout.
    ///
    /// # Errors
    ///
    /// [`HttpError::Transport`] if `pem` holds no usable certificate.
    pub fn with_root_pem(pem: &[u8]) -> Result<Self, HttpError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|_| transport("the PEM is not a certificate list"))?;
            roots
                .add(cert)
                .map_err(|_| transport("a PEM certificate is not a usable root"))?;
        }
        if roots.is_empty() {
            return Err(transport("the PEM holds no certificate"));
        }
        Self::with_roots(roots, Duration::from_secs(5))
    }

    /// A client trusting `roots`, giving up on a request after `timeout`.
    ///
    /// # Errors
    ///
    /// [`HttpError::Transport`] if the client could not be built.
    pub fn with_roots(roots: rustls::RootCertStore, timeout: Duration) -> Result<Self, HttpError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| transport("no TLS protocol version is available"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("portcullis-tokens/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| transport("the HTTP client could not be built"))?;
        Ok(Self { client })
    }
}

fn transport(reason: &str) -> HttpError {
    HttpError::Transport {
        reason: reason.to_owned(),
    }
}

fn classify(e: &reqwest::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout
    } else if e.is_connect() {
        transport("could not connect (or the TLS handshake failed)")
    } else {
        transport("the request or the response failed")
    }
}

#[async_trait]
impl HttpClient for ReqwestHttpClient {
    async fn get(&self, request: HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        match request.url.scheme() {
            "https" => {}
            "http" if is_loopback(request.url) => {}
            _ => {
                return Err(HttpError::UrlRefused {
                    reason: "HTTPS only (plain HTTP to loopback hosts)",
                });
            }
        }
        let mut builder = self
            .client
            .get(request.url.as_str())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(etag) = request.if_none_match {
            builder = builder.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let mut response = builder.send().await.map_err(|e| classify(&e))?;
        let too_large = HttpError::BodyTooLarge {
            max: request.max_body,
        };
        if response
            .content_length()
            .is_some_and(|n| n > request.max_body as u64)
        {
            return Err(too_large);
        }
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let etag = header(reqwest::header::ETAG);
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            if body.len() + chunk.len() > request.max_body {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        let mut out = HttpResponse::new(status, body);
        out.cache_control = cache_control;
        out.etag = etag;
        Ok(out)
    }
}
