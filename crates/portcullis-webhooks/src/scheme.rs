//! The [`Scheme`] trait every scheme implements and the inputs of an outbound signature;
//! the schemes themselves live in `scheme/`, one scheme family per file.

pub(crate) mod custom;
pub(crate) mod presets;
pub(crate) mod registry;
pub(crate) mod standard;
pub(crate) mod stripe;
pub(crate) mod zoom;

use std::fmt::Debug;

use crate::error::WebhookError;
use crate::headers::HeaderLookup;
use crate::key::Key;
use crate::limits::Limits;
use crate::message::Message;

/// The inputs of one outbound signature.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The message id (used by schemes that sign one: Standard Webhooks, custom `{id}`).
    pub id: &'a str,
    /// Seconds since the epoch (used by schemes that sign a timestamp).
    pub timestamp: u64,
    /// The exact body bytes that will be sent.
    pub body: &'a [u8],
}

/// A webhook signature scheme: how to read secrets, how to read the signature headers of a
/// request, and how to sign an outgoing one.
///
/// The verification engine ([`crate::Verifier`]) does the cryptography and the time
/// checks; a scheme only describes the format. Implementations must not allocate per
/// header byte beyond the caps in [`Limits`], and must fail with a specific
/// [`WebhookError`] (missing, duplicate, malformed header) before any cryptography.
pub trait Scheme: Send + Sync + Debug {
    /// The scheme's short name (`stripe`, `standard`, `zoom`, `github`, `shopify`, `slack`,
    /// or a custom scheme's own).
    fn name(&self) -> &str;

    /// Loads a secret as this scheme expects it (see [`Key`]).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] with a hint.
    fn parse_secret(&self, secret: &str) -> Result<Key, WebhookError>;

    /// Reads the timestamp, id, signed-content layout and candidate signatures from the
    /// headers.
    ///
    /// # Errors
    ///
    /// Missing, duplicate, oversized or malformed headers, too many signatures.
    fn extract<'s, 'h: 's>(
        &'s self,
        headers: &dyn HeaderLookup<'h>,
        limits: &Limits,
    ) -> Result<Message<'s>, WebhookError>;

    /// The headers (name, value) that sign `delivery` with `key`.
    ///
    /// # Errors
    ///
    /// [`WebhookError::WrongKeyKind`] if the key cannot sign for this scheme,
    /// [`WebhookError::InvalidInput`] if the id or timestamp cannot be represented.
    fn sign(
        &self,
        key: &Key,
        delivery: &Delivery<'_>,
    ) -> Result<Vec<(String, String)>, WebhookError>;
}
