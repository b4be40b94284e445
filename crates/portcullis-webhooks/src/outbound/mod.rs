//! Sending webhooks: the Standard Webhooks signer, the retry policy, the delivery-attempt
//! record and the transport seam (no HTTP client lives in this crate).

mod delivery;
mod retry;
mod signer;

pub use delivery::{
    DeliveryAttempt, OutboundRequest, Transport, TransportError, TransportResponse,
    attempt_delivery,
};
pub use retry::{AttemptOutcome, NextStep, RetryPolicy, parse_retry_after};
pub use signer::{Signer, new_message_id};
