//! Sending webhooks: the Standard Webhooks signer, the retry policy, the delivery-attempt
//! record and the transport seam (no HTTP client lives in this crate).

pub(crate) mod delivery;
pub(crate) mod retry;
pub(crate) mod signer;
