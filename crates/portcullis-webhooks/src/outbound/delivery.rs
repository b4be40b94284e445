//! One delivery attempt: the transport seam and the record kept per attempt.

use std::fmt;

use portcullis_core::{Clock, SecureRandom, UnixTime};
use serde::{Deserialize, Serialize};

use super::retry::{AttemptOutcome, NextStep, RetryPolicy, parse_retry_after};
use super::signer::Signer;
use crate::error::WebhookError;

/// A request for the transport to send: POST `body` to `url` with `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The endpoint URL.
    pub url: String,
    /// Headers, including the signature headers and `content-type`.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes that were signed.
    pub body: Vec<u8>,
}

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The raw `Retry-After` header, if any.
    pub retry_after: Option<String>,
}

/// Why no answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No response within the transport's deadline.
    #[error("request timed out")]
    Timeout,
    /// The connection failed (DNS, TCP, TLS).
    #[error("connection failed")]
    ConnectionFailed,
}

/// Sends one HTTP request. Implement it with your HTTP client (reqwest, hyper, ...), with
/// a timeout (Svix uses 15 s) and without following redirects.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` once.
    ///
    /// # Errors
    ///
    /// [`TransportError`] if no HTTP response was received.
    async fn send(&self, request: &OutboundRequest) -> Result<TransportResponse, TransportError>;
}

/// The history record of one attempt (serde: JSON-friendly, times in integer ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// The message id (`webhook-id`).
    pub message_id: String,
    /// The endpoint URL.
    pub url: String,
    /// 1-based attempt number.
    pub attempt: u32,
    /// When the attempt started.
    pub started_at: UnixTime,
    /// When it ended.
    pub finished_at: UnixTime,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// What the policy decided.
    pub next: NextStep,
    /// When to try again, if `next` is a retry.
    pub next_attempt_at: Option<UnixTime>,
}

/// Makes attempt number `attempt` of delivering `body` (message `id`) to `url`: signs it
/// at the current time, sends it through `transport`, and returns the record with the
/// policy's decision. The caller stores the record and schedules the next attempt.
///
/// # Errors
///
/// Signing errors ([`WebhookError::InvalidInput`]) and [`WebhookError::Random`]; transport
/// failures are outcomes in the record, not errors.
#[allow(clippy::too_many_arguments)]
pub async fn attempt_delivery(
    transport: &dyn Transport,
    signer: &Signer,
    policy: &RetryPolicy,
    clock: &dyn Clock,
    rng: &dyn SecureRandom,
    url: &str,
    id: &str,
    body: &[u8],
    attempt: u32,
) -> Result<DeliveryAttempt, WebhookError> {
    let started_at = clock.now();
    let mut headers = signer.sign(id, started_at, body)?;
    headers.push(("content-type".to_owned(), "application/json".to_owned()));
    let request = OutboundRequest {
        url: url.to_owned(),
        headers,
        body: body.to_vec(),
    };
    let outcome = match transport.send(&request).await {
        Ok(r) => AttemptOutcome::Status {
            status: r.status,
            retry_after: r
                .retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, clock.now())),
        },
        Err(TransportError::Timeout) => AttemptOutcome::Timeout,
        Err(TransportError::ConnectionFailed) => AttemptOutcome::ConnectionFailed,
    };
    let finished_at = clock.now();
    let next = policy.next_step(attempt, &outcome, rng)?;
    let next_attempt_at = match next {
        NextStep::RetryAfter { delay } => Some(finished_at.saturating_add(delay)),
        _ => None,
    };
    Ok(DeliveryAttempt {
        message_id: id.to_owned(),
        url: url.to_owned(),
        attempt,
        started_at,
        finished_at,
        outcome,
        next,
        next_attempt_at,
    })
}
