//! Verify and sign webhooks exactly as the providers do: Stripe, Standard Webhooks / Svix
//! (`v1` HMAC and `v1a` Ed25519), Zoom, GitHub, Shopify, Slack, and a configurable custom
//! scheme; plus a replay guard, and for sending, a Standard Webhooks signer and a retry
//! policy.
//!
//! Verification takes the **raw body bytes** and a [`HeaderLookup`] (a closure, a slice of
//! pairs, or `&http::HeaderMap` with the `http` feature), so it works with any framework
//! and never forces an `http` version on you. It is synchronous and does no I/O; only the
//! [`ReplayGuard`] is async.
//!
//! # When not to use it
//!
//! - To authenticate users or API clients: webhooks prove "the holder of this shared
//!   secret sent these bytes", nothing more. Use `portcullis-tokens`.
//! - If you re-serialize the JSON before verifying: signatures cover the exact bytes
//!   received; verify first, parse after.
//! - As an HTTP client for deliveries: the crate decides *when* to retry and signs; the
//!   sending happens behind your [`Transport`].
//!
//! # Quick start (Stripe)
//!
//! ```
//! # use portcullis_core::{FixedClock, Provider, UnixTime};
//! # let (body, sig) = (br#"{"id":"evt_test_webhook","object":"event"}"#, "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990");
//! # let provider = Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(1_700_000_100))));
//! use portcullis_webhooks::{Stripe, Verifier};
//! // `provider` is Provider::system() in production.
//! let verifier = Verifier::new(Stripe::new(), ["whsec_test_secret"], provider)?;
//! let headers = [("Stripe-Signature", sig)]; // or &http::HeaderMap with the `http` feature
//! let verified = verifier.verify(&&headers[..], body)?; // raw body bytes, before parsing
//! assert_eq!(verified.secret_index, 0); // which secret matched (rotation)
//! # Ok::<(), portcullis_webhooks::WebhookError>(())
//! ```
//!
//! Sending (Standard Webhooks), with replay protection on the receiving side:
//!
//! ```
//! # use portcullis_core::{FixedClock, Provider, UnixTime};
//! use portcullis_webhooks::{MemoryReplayGuard, Signer, StandardWebhooks, Tolerance, Verifier, WebhookError};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     // The in-memory guard never suspends, so one poll completes it.
//! #     let mut f = std::pin::pin!(f);
//! #     match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
//! #         std::task::Poll::Ready(v) => v,
//! #         std::task::Poll::Pending => unreachable!(),
//! #     }
//! # }
//! # fn main() -> Result<(), WebhookError> {
//! let now = Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(1_700_000_000))));
//! let signer = Signer::new(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])?;
//! let headers = signer.sign("msg_1", UnixTime::from_secs(1_700_000_000), b"{}")?;
//!
//! let verifier = Verifier::new(StandardWebhooks::new(), ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], now.clone())?;
//! let guard = MemoryReplayGuard::new(now);
//! let ttl = Tolerance::default().replay_ttl();
//! # block_on(async {
//! verifier.verify_once(&guard, "endpoint-1", ttl, &&headers, b"{}").await?;
//! let again = verifier.verify_once(&guard, "endpoint-1", ttl, &&headers, b"{}").await;
//! assert!(matches!(again, Err(WebhookError::Duplicate(..))));
//! # Ok::<(), WebhookError>(())
//! # })
//! # }
//! ```
//!
//! # Schemes
//!
//! | scheme | headers | signed content | encoding | secret |
//! |--------|---------|----------------|----------|--------|
//! | [`Stripe`] | `Stripe-Signature: t=<ts>,v1=<sig>[,v1=…]` (`v0` ignored) | `<ts>.<body>` | hex HMAC-SHA256 | `whsec_…` string bytes (not decoded) |
//! | [`StandardWebhooks`] | `webhook-id`, `webhook-timestamp`, `webhook-signature` (or `svix-*`) | `<id>.<ts>.<body>` | `v1,<base64 HMAC-SHA256>` / `v1a,<base64 Ed25519>`, space-separated | `whsec_<base64>` decoded; `whsk_`/`whpk_` Ed25519 |
//! | [`Zoom`] | `x-zm-signature: v0=<sig>`, `x-zm-request-timestamp` | `v0:<ts>:<body>` | hex HMAC-SHA256 | secret token bytes |
//! | [`GitHub`] | `X-Hub-Signature-256: sha256=<sig>` | `<body>` | hex HMAC-SHA256 | secret bytes |
//! | [`Shopify`] | `X-Shopify-Hmac-Sha256: <sig>` | `<body>` | base64 HMAC-SHA256 | client secret bytes |
//! | [`Slack`] | `X-Slack-Signature: v0=<sig>`, `X-Slack-Request-Timestamp` | `v0:<ts>:<body>` | hex HMAC-SHA256 | signing secret bytes |
//! | [`Custom`] | configurable | template of text, `{id}`, `{timestamp}`, `{body}` | hex or base64, optional prefix | secret bytes |
//!
//! Timestamps are decimal seconds, digits only (no sign, no spaces), checked against the
//! injected [`Clock`](portcullis_core::Clock) with a two-sided [`Tolerance`] (default 300 s
//! each way, inclusive). `whsec_` secrets decode with or without base64 padding (the
//! Python `standardwebhooks` package accepts unpadded ones, the Rust one does not; we
//! follow Python so every peer's secret loads), and the prefix is optional as in the
//! official libraries. Outbound we sign with Standard Webhooks ([`Signer`]).
//!
//! Your own format: implement [`Scheme`]. Its [`extract`](Scheme::extract) reads the
//! headers into a [`Message`] (timestamp, id, the signed [`Content`] as [`Part`]s, and the
//! candidate [`Signatures`]; [`parse_timestamp`] parses a timestamp header as the built-in
//! schemes do); the [`Verifier`] does the cryptography and the time checks.
//!
//! Rotation: give [`Verifier::new`] several secrets; [`Verified::secret_index`] says which
//! one matched. By name (for configuration files and the CLI): [`by_name`] and [`sign`].
//!
//! # Features
//!
//! | feature | default | adds |
//! |---------|---------|------|
//! | `http` | no | `impl HeaderLookup for &http::HeaderMap` (http 1.x) |
//!
//! # Security considerations
//!
//! - Every MAC comparison is constant-time (`subtle`), over all candidate signatures and
//!   every configured secret, so timing reveals neither which byte differed nor which
//!   secret is configured. Ed25519 uses `verify_strict`.
//! - Caps run before any cryptography: body size, each header's size, and the number of
//!   candidate signatures ([`Limits`]); a header with 10 000 signatures is refused
//!   without computing a MAC.
//! - Duplicate signature, timestamp or id headers are refused (an intermediary that
//!   joins or splits them could otherwise make us verify one value and the application
//!   act on another); use a [`HeaderLookup`] that reports duplicates.
//! - Message ids are delimited in the signed content: a Standard Webhooks id containing
//!   `.`, or a [`Custom`] id containing the character of the template text touching
//!   `{id}`, is refused ([`WebhookError::IdContainsDelimiter`]) before any MAC, when
//!   verifying and when signing, so a captured delivery cannot be re-split into another
//!   id (a new replay id) and body under the same MAC. `{id}` must be separated from other
//!   placeholders by literal text. Ids from the official libraries and Svix (`msg_` +
//!   base62) and from [`new_message_id`] never contain `.`.
//! - Errors name the header and the problem, never the header's value, a MAC or a secret;
//!   a failed check is only "no signature matched".
//! - Schemes without a signed timestamp (GitHub, Shopify, most custom ones) accept a
//!   captured request forever unless a [`ReplayGuard`] remembers it: use
//!   [`Verifier::verify_once`]. A guard error must reject the request (fail closed).
//! - Secrets are held in zeroizing types with redacted `Debug`. The HMAC state computed
//!   from a key during one verification is not zeroized by the `hmac` crate.
//! - The Stripe secret is used as text: a verifier given the base64-decoded bytes of a
//!   `whsec_` Stripe secret fails (tested), as Stripe's own libraries do.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

// Every module is private: each public item has exactly one path, here at the root.
// Files are layered (see each file's imports): error, limits, headers, key, message and mac
// at the bottom; the scheme trait, then the schemes, the verify engine and outbound above.
mod error;
mod headers;
mod key;
mod limits;
mod mac;
mod message;
mod outbound;
mod replay;
mod scheme;
mod verify;

pub use error::{SecretProblem, WebhookError};
pub use headers::{Header, HeaderLookup, from_fn};
pub use key::Key;
pub use limits::Limits;
pub use message::{
    Candidate, CandidateKind, Content, EntryForm, MAX_PARTS, Message, Part, Signatures,
    TagEncoding, parse_timestamp,
};
pub use outbound::delivery::{
    DeliveryAttempt, OutboundRequest, Transport, TransportError, TransportResponse,
    attempt_delivery,
};
pub use outbound::retry::{AttemptOutcome, NextStep, RetryPolicy, parse_retry_after};
pub use outbound::signer::{Signer, new_message_id};
pub use replay::{MemoryReplayGuard, ReplayGuard, ReplayOutcome};
pub use scheme::custom::{Custom, CustomBuilder, Encoding};
pub use scheme::presets::{GitHub, Shopify, Slack, Zoom};
pub use scheme::registry::{by_name, sign};
pub use scheme::standard::StandardWebhooks;
pub use scheme::stripe::Stripe;
pub use scheme::zoom::{zoom_encrypted_token, zoom_url_validation};
pub use scheme::{Delivery, Scheme};
pub use verify::{Tolerance, Verified, Verifier};
