//! Remote JWKS and OpenID Connect discovery: an identity provider's keys fetched over
//! HTTPS, cached by its `Cache-Control` and `ETag`, refetched (at most once per cooldown)
//! for a `kid` not yet seen, and served stale for a bounded time during an outage before
//! verification fails closed.
//!
//! One idea per child:
//!
//! - `http`: the [`HttpClient`] seam and the URL policy (HTTPS only);
//! - `freshness`: `Cache-Control` to a freshness lifetime, within bounds;
//! - `cache`: [`RemoteJwks`], built on both;
//! - `reqwest_client`: the default client (feature `http-client`).

mod cache;
mod freshness;
mod http;
#[cfg(feature = "http-client")]
mod reqwest_client;

pub use cache::{MAX_DOCUMENT_BYTES, RemoteJwks, RemoteJwksConfig, RemoteJwksStats};
pub use http::{HttpClient, HttpError, HttpRequest, HttpResponse};
#[cfg(feature = "http-client")]
pub use reqwest_client::ReqwestHttpClient;
