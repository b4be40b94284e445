//! Refresh tokens: opaque, rotated on every use, grouped in families with reuse detection.
//!
//! One family is one login session. [`RefreshTokens::issue`] creates it with a
//! generation-0 token; [`RefreshTokens::rotate`] exchanges the current token for its
//! successor. The token format is specified in [`format`](mod@format); the store keeps only hashes.
//!
//! # The rotation state machine
//!
//! [`RefreshStore::rotate`] receives `(tenant, family, presented = (generation, hash),
//! successor hash, now, grace_until, idle_until)`. The family record holds `subject`,
//! `expires_at` (absolute), `revoked` (bool), `current = (generation, hash, idle_until)`
//! and optionally `previous = (generation, hash, successor hash, grace_until)`. The rows
//! are evaluated in order; the first that matches decides. Every implementation (memory,
//! Redis Lua, PostgreSQL) must reproduce this table exactly, atomically per family.
//!
//! | row | condition | state change | outcome |
//! |-----|-----------|--------------|---------|
//! | 1 | no record for `(tenant, family)` | none | `NotFound` |
//! | 2 | `revoked` | none | `Revoked` |
//! | 3 | `now >= expires_at` | none | `Expired` |
//! | 4 | `presented == current` and `now >= current.idle_until` | none | `Expired` |
//! | 5 | `presented == current` | `previous := (current.generation, current.hash, successor, grace_until)`; `current := (generation + 1, successor, min(idle_until, expires_at))` | `Rotated { replay: false }` |
//! | 6 | `previous` exists, `presented == previous`, `successor == previous.successor` and `now < previous.grace_until` | none | `Rotated { replay: true }` |
//! | 7 | anything else (a rotated token after its grace window, an older generation, a future generation) | `revoked := true` | `ReuseDetected` |
//!
//! "`presented == X`" means equal generation and equal hash (compared in constant time).
//! Row 7 is safe to apply to anything that reaches the store because the caller has
//! already verified the token's tag: only tokens the service itself issued get there, so
//! a stale one is evidence of theft, never a guess. Revocation is terminal, which makes a
//! revoke racing a rotation win: whichever runs first, the family ends revoked and any
//! successor handed out is refused at its next use.
//!
//! Known limitation: a replay after the successor has itself been rotated (two rotations
//! inside one grace window) falls into row 7 and revokes the family.

pub mod format;
mod service;
mod store;

pub use format::{FamilyId, TokenHash};
pub use service::{IssuedRefresh, RefreshPolicy, RefreshTokens};
pub use store::{FamilyStatus, NewFamily, RefreshStore, RotateOutcome, RotateRequest, TokenRef};
