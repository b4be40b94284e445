//! The store behind one-time tickets, and its in-memory implementation.

mod memory;

pub use memory::MemoryTicketStore;

use std::fmt;

use portcullis_core::{TenantId, UnixTime};

use crate::error::TokenError;

/// Records which tickets were redeemed.
///
/// A ticket is a short-lived JWT (`typ` = `ticket`, default 30 s) bound to a subject and a
/// purpose; see [`TokenService::issue_ticket`](crate::TokenService::issue_ticket) and
/// [`TokenService::redeem_ticket`](crate::TokenService::redeem_ticket). Single use is
/// enforced by [`TicketStore::consume`], an atomic insert-if-absent (Redis:
/// `SET {tenant}:ticket:<jti> 1 NX PXAT keep_until`).
#[async_trait::async_trait]
pub trait TicketStore: Send + Sync + fmt::Debug {
    /// Marks `jti` of `tenant` as used, keeping the mark until `keep_until`. Returns `true`
    /// if this call was the first (the ticket may be honoured), `false` if it was already
    /// used. Atomic: of any number of concurrent calls for one `jti`, exactly one returns
    /// `true`. Entries whose `keep_until` is at or before `now` may be purged.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`]; callers must then refuse the ticket.
    async fn consume(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, TokenError>;
}
