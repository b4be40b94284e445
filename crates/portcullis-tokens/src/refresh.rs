//! Refresh tokens: opaque, rotated on every use, grouped in families with reuse detection.

pub mod format;
mod memory;
mod service;
mod store;

pub use format::{FamilyId, TokenHash};
pub use memory::MemoryRefreshStore;
pub use service::{IssuedRefresh, RefreshPolicy, RefreshTokens};
pub use store::{
    FamilyStatus, GRACE_CHAIN, MAX_SESSION_LABEL_LEN, MAX_SESSIONS_PER_SUBJECT, NewFamily,
    RefreshStore, RotateOutcome, RotateRequest, SessionInfo, TokenRef,
};
