//! Conformance suite for the `portcullis-tokens` store traits: [`RefreshStore`],
//! [`RevocationStore`], [`TicketStore`] and [`ApiKeyStore`], one child module per trait
//! (the refresh store twice: as refresh families, and as the session store of a
//! [`TokenService`]), the shared fixtures in `fixtures`.
//!
//! A backend's integration test calls [`run_all`] with a factory for fresh, empty stores
//! reading time (where a store reads time itself: revocation retention) from the given
//! [`ManualClock`], and a `spawn` function that runs a future on a real task of a
//! multi-threaded runtime (for tokio:
//! `|f| Box::pin(async move { tokio::spawn(f).await.unwrap() })`). Other stores take time
//! as an argument, so the suite drives expiry with the same clock.
//!
//! ```ignore
//! portcullis_testkit::conformance::tokens::run_all(
//!     |clock| async move { StoreSet::memory(&clock.provider(0)) },
//!     |f| Box::pin(async move { tokio::spawn(f).await.unwrap() }),
//! ).await;
//! ```
//!
//! The refresh steps go through [`RefreshTokens`] (which computes hashes and successors)
//! so they exercise the state machine exactly as production does.
//!
//! [`RefreshStore`]: portcullis_tokens::RefreshStore
//! [`RevocationStore`]: portcullis_tokens::RevocationStore
//! [`TicketStore`]: portcullis_tokens::TicketStore
//! [`ApiKeyStore`]: portcullis_tokens::ApiKeyStore
//! [`TokenService`]: portcullis_tokens::TokenService
//! [`RefreshTokens`]: portcullis_tokens::RefreshTokens

// Test helpers: a failed expectation panics with the suite and step named. The children
// inherit this.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod api_keys;
mod dpop;
mod fixtures;
mod refresh;
mod revocation;
mod sessions;
mod tickets;

pub use api_keys::{api_key_delete, api_key_owner_cap, api_key_record_cap, api_key_records};
pub use dpop::dpop_proofs_are_accepted_once;
pub use fixtures::{BoxFuture, StoreSet};
pub use refresh::{
    concurrent_rotations_converge, duplicate_family_conflicts,
    forged_and_foreign_tokens_change_nothing, grace_chain_is_bounded,
    grace_then_reuse_revokes_family, refresh_lifetimes_expire,
    replay_after_two_rotations_gets_the_current_token, revoke_subject_is_scoped,
    revoke_tenant_ends_every_session, rotate_racing_revoke_revoke_wins,
    rotation_advances_generations, session_cap_evicts_the_oldest,
    sessions_are_listed_and_revoked_by_their_subject,
};
pub use revocation::{logout_outlasts_every_token, revocation_retention, revocation_rules};
pub use sessions::access_token_follows_its_session;
pub use tickets::tickets_are_single_use;

use std::future::Future;

use crate::ManualClock;

/// Runs every step, each on fresh stores.
pub async fn run_all<F, Fut, S>(factory: F, spawn: S)
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = StoreSet>,
    S: Fn(BoxFuture<String>) -> BoxFuture<String>,
{
    rotation_advances_generations(&factory(ManualClock::new()).await).await;
    grace_then_reuse_revokes_family(&factory(ManualClock::new()).await).await;
    replay_after_two_rotations_gets_the_current_token(&factory(ManualClock::new()).await).await;
    grace_chain_is_bounded(&factory(ManualClock::new()).await).await;
    forged_and_foreign_tokens_change_nothing(&factory(ManualClock::new()).await).await;
    concurrent_rotations_converge(&factory(ManualClock::new()).await, &spawn).await;
    rotate_racing_revoke_revoke_wins(&factory(ManualClock::new()).await, &spawn).await;
    refresh_lifetimes_expire(&factory(ManualClock::new()).await).await;
    revoke_subject_is_scoped(&factory(ManualClock::new()).await).await;
    session_cap_evicts_the_oldest(&factory(ManualClock::new()).await).await;
    revoke_tenant_ends_every_session(&factory(ManualClock::new()).await).await;
    sessions_are_listed_and_revoked_by_their_subject(&factory(ManualClock::new()).await).await;
    duplicate_family_conflicts(&factory(ManualClock::new()).await).await;
    let clock = ManualClock::new();
    tickets_are_single_use(&factory(clock.clone()).await, &clock, &spawn).await;
    revocation_rules(&factory(ManualClock::new()).await).await;
    let clock = ManualClock::new();
    revocation_retention(&factory(clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    logout_outlasts_every_token(&factory(clock.clone()).await, &clock).await;
    let clock = ManualClock::new();
    access_token_follows_its_session(&factory(clock.clone()).await, &clock).await;
    api_key_records(&factory(ManualClock::new()).await).await;
    api_key_owner_cap(&factory(ManualClock::new()).await).await;
    api_key_delete(&factory(ManualClock::new()).await).await;
    api_key_record_cap(&factory(ManualClock::new()).await).await;
    dpop_proofs_are_accepted_once(&factory(ManualClock::new()).await, &spawn).await;
}
