//! The HTTP seam of remote JWKS: a small trait any client can implement, the request and
//! response it exchanges, and the URL policy (HTTPS only; plain HTTP to a loopback address
//! only when the caller says so, for tests).

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use url::{Host, Url};

/// A GET request for a discovery or JWKS document.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HttpRequest<'a> {
    /// The URL (already checked against the URL policy).
    pub url: &'a Url,
    /// The `ETag` of the copy the cache holds, to send as `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// The largest body to read; a longer one is [`HttpError::BodyTooLarge`].
    pub max_body: usize,
}

/// What the server answered.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body (empty for 304).
    pub body: Vec<u8>,
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
}

impl HttpResponse {
    /// A response with `status` and `body` and no caching headers.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            cache_control: None,
            etag: None,
        }
    }

    /// Sets the `Cache-Control` header.
    #[must_use]
    pub fn with_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Sets the `ETag` header.
    #[must_use]
    pub fn with_etag(mut self, value: impl Into<String>) -> Self {
        self.etag = Some(value.into());
        self
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("cache_control", &self.cache_control)
            .field("etag", &self.etag)
            .finish()
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Connecting, TLS, or reading failed (the reason is the client's, without the body).
    #[error("HTTP request failed: {reason}")]
    Transport {
        /// What went wrong.
        reason: String,
    },
    /// No complete response within the client's timeout.
    #[error("HTTP request timed out")]
    Timeout,
    /// The body is longer than the request's `max_body`.
    #[error("HTTP response body exceeds {max} bytes")]
    BodyTooLarge {
        /// The limit.
        max: usize,
    },
    /// The URL is refused by the client (for example plain HTTP to a remote host).
    #[error("URL refused: {reason}")]
    UrlRefused {
        /// Why.
        reason: &'static str,
    },
}

/// Fetches documents over HTTP(S) for [`RemoteJwks`](crate::RemoteJwks). The default
/// implementation is [`ReqwestHttpClient`](crate::ReqwestHttpClient) (feature
/// `http-client`); tests and services with their own client implement this.
///
/// Implementations must not follow redirects to another scheme, must honour
/// [`HttpRequest::max_body`] without reading further, and should bound the whole
/// request with a timeout: the cache holds its refresh lock while a request runs.
#[async_trait]
pub trait HttpClient: fmt::Debug + Send + Sync {
    /// Performs a GET of `request.url`, sending `If-None-Match` when given.
    async fn get(&self, request: HttpRequest<'_>) -> Result<HttpResponse, HttpError>;
}

/// Whether `url`'s host is a loopback address (`127.0.0.0/8`, `::1`, or `localhost`).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Parses `raw` as a URL the remote JWKS may fetch: `https` with a host, no user name or
/// password, no fragment; `http` only to a loopback host and only if `allow_http_loopback`.
pub(crate) fn checked_url(raw: &str, allow_http_loopback: bool) -> Result<Url, &'static str> {
    let url = Url::parse(raw).map_err(|_| "not an absolute URL")?;
    if url.host().is_none() {
        return Err("the URL has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL carries credentials");
    }
    if url.fragment().is_some() {
        return Err("the URL has a fragment");
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http_loopback && is_loopback(&url) => Ok(url),
        "http" if allow_http_loopback => Err("plain HTTP is allowed to loopback hosts only"),
        "http" => Err("plain HTTP is refused (HTTPS only)"),
        _ => Err("the URL scheme is not https"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_debug_shows_the_body_length_not_the_body() {
        let r = HttpResponse::new(200, b"{\"keys\":[]}".to_vec()).with_etag("\"v1\"");
        let text = format!("{r:?}");
        assert!(
            text.contains("body_len: 11") && text.contains("v1"),
            "{text}"
        );
        assert!(!text.contains("keys"), "{text}");
    }

    #[test]
    fn url_policy() {
        assert!(checked_url("https://idp.example.com/.well-known/jwks.json", false).is_ok());
        assert_eq!(
            checked_url("http://idp.example.com/jwks", false),
            Err("plain HTTP is refused (HTTPS only)")
        );
        assert_eq!(
            checked_url("http://idp.example.com/jwks", true),
            Err("plain HTTP is allowed to loopback hosts only")
        );
        assert_eq!(
            checked_url("ftp://idp.example.com/jwks", true),
            Err("the URL scheme is not https")
        );
        assert!(checked_url("http://127.0.0.1:8080/jwks", false).is_err());
        assert!(checked_url("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(checked_url("http://127.1.2.3/jwks", true).is_ok());
        assert!(checked_url("http://[::1]:9/jwks", true).is_ok());
        assert!(checked_url("http://localhost:9/jwks", true).is_ok());
        assert!(checked_url("http://localhost.evil.example/jwks", true).is_err());
        assert!(checked_url("https://user:pw@idp.example.com/jwks", false).is_err());
        assert!(checked_url("https://idp.example.com/jwks#x", false).is_err());
        assert!(checked_url("ftp://idp.example.com/jwks", true).is_err());
        assert!(checked_url("file:///etc/passwd", true).is_err());
        assert!(checked_url("/jwks", true).is_err());
    }
}
