//! The refresh-family store trait and the records it exchanges.

use std::fmt;

use portcullis_core::{ActorId, TenantId, UnixTime};

use super::format::{FamilyId, TokenHash};
use crate::error::TokenError;

/// A token as the store sees it: its generation and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRef {
    /// Generation (0 at login).
    pub generation: u32,
    /// SHA-256 of the token's bytes.
    pub hash: TokenHash,
}

/// A family to create at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    /// The family id (random).
    pub family: FamilyId,
    /// Whose session it is.
    pub subject: ActorId,
    /// Login time.
    pub created_at: UnixTime,
    /// Absolute end of the session: no rotation at or after it.
    pub expires_at: UnixTime,
    /// The generation-0 token.
    pub current: TokenRef,
    /// The idle deadline of the generation-0 token.
    pub idle_until: UnixTime,
    /// The subject's session cap (1 to [`MAX_SESSIONS_PER_SUBJECT`]): when the subject
    /// already has this many live families in the tenant (not revoked, before their
    /// absolute end), the store revokes the ones that end first (ties: the smaller family
    /// id text) to make room, in the same atomic step as the create.
    pub max_sessions: u32,
    /// A label for the subject's session list (for example the user agent), at most
    /// [`MAX_SESSION_LABEL_LEN`] bytes without control characters; `None` for none.
    pub label: Option<String>,
}

/// The longest session label, in bytes.
pub const MAX_SESSION_LABEL_LEN: usize = 256;

/// One live session of a subject, as [`RefreshStore::list_sessions`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session (refresh family).
    pub family: FamilyId,
    /// Login time.
    pub created_at: UnixTime,
    /// The last rotation (the login time if never rotated).
    pub last_used: UnixTime,
    /// The absolute end of the session.
    pub expires_at: UnixTime,
    /// The label given at login.
    pub label: Option<String>,
}

impl SessionInfo {
    /// A session as a store reports it (for [`RefreshStore`] implementations).
    pub fn new(
        family: FamilyId,
        created_at: UnixTime,
        last_used: UnixTime,
        expires_at: UnixTime,
        label: Option<String>,
    ) -> Self {
        Self {
            family,
            created_at,
            last_used,
            expires_at,
            label,
        }
    }
}

/// The largest per-subject session cap a [`RefreshPolicy`](crate::RefreshPolicy) may set.
/// It bounds the work of [`RefreshStore::revoke_subject`] (a Redis script touches at most
/// this many families).
pub const MAX_SESSIONS_PER_SUBJECT: u32 = 256;

/// How many recently rotated tokens of one family stay replayable, each until its own
/// grace window closes (row 6 of the state machine on
/// [`RefreshTokens`](crate::RefreshTokens)). More rotations than this inside one grace
/// window push the oldest out; its replay is then reuse.
pub const GRACE_CHAIN: usize = 8;

/// One rotation request; see the state machine on [`RefreshTokens`](crate::RefreshTokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateRequest {
    /// The family named by the presented token.
    pub family: FamilyId,
    /// The presented token (its tag was verified by the caller).
    pub presented: TokenRef,
    /// The hash of the presented token's deterministic successor (generation + 1).
    pub successor: TokenHash,
    /// The time of the request.
    pub now: UnixTime,
    /// If this request rotates, the presented token may be replayed until this time
    /// (`now + grace`) and receive the family's current token.
    pub grace_until: UnixTime,
    /// If this request rotates, the successor's idle deadline (`min(now + idle, expires_at)`).
    pub idle_until: UnixTime,
}

/// The result of [`RefreshStore::rotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The presented token was current and is now rotated (row 5), or was rotated less
    /// than a grace window ago and is replayed (row 6).
    Rotated {
        /// The family's subject.
        subject: ActorId,
        /// The family's absolute expiry.
        expires_at: UnixTime,
        /// The family's current token after this request: the successor for row 5; for
        /// row 6 the token the latest rotation handed out (the presented token's
        /// successor, or a later one after further rotations).
        current: TokenRef,
        /// `true` for a grace-window replay (row 6).
        replay: bool,
    },
    /// Reuse of a rotated token outside the grace window: the family is now revoked (row 7).
    ReuseDetected {
        /// The family's subject.
        subject: ActorId,
    },
    /// The family was already revoked (row 2).
    Revoked,
    /// The family passed its absolute lifetime, or the token its idle lifetime (rows 3, 4).
    Expired,
    /// No such family in this tenant (row 1).
    NotFound,
}

/// What [`RefreshStore::family_status`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FamilyStatus {
    /// Not revoked, not past its absolute lifetime nor its current token's idle deadline.
    Active {
        /// The family's subject.
        subject: ActorId,
    },
    /// Revoked.
    Revoked,
    /// Past its absolute lifetime or idle deadline.
    Expired,
    /// Unknown in this tenant.
    NotFound,
}

/// Storage of refresh-token families. Every method is one atomic operation on the state of
/// one tenant (a Redis Lua script, a PostgreSQL transaction), and keys always include the
/// tenant. The store holds only token hashes.
///
/// A Redis layout that fits: a hash `{tenant}:rf:<family>` with the fields of the state
/// machine (subject, expires_at, revoked, cur_gen, cur_hash, idle_until, and the recent
/// tokens with their grace deadlines) expiring at `expires_at`, and a set
/// `{tenant}:rf-sub:<subject>` of family ids for [`RefreshStore::revoke_subject`]. The
/// `{tenant}` hash tag keeps one tenant's keys in one cluster slot, so each method is one
/// script in one round trip.
#[async_trait::async_trait]
pub trait RefreshStore: Send + Sync + fmt::Debug {
    /// Creates a family, first revoking the subject's sessions that end first if the
    /// subject is at [`NewFamily::max_sessions`] (see there).
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`] with kind `Conflict` if the family id exists in the tenant.
    async fn create(&self, tenant: &TenantId, family: NewFamily) -> Result<(), TokenError>;

    /// Applies the rotation state machine on [`RefreshTokens`](crate::RefreshTokens) atomically.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`]; the caller then issues nothing.
    async fn rotate(
        &self,
        tenant: &TenantId,
        request: RotateRequest,
    ) -> Result<RotateOutcome, TokenError>;

    /// Revokes one family. Returns whether it existed and was not already revoked.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn revoke_family(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        now: UnixTime,
    ) -> Result<bool, TokenError>;

    /// Revokes every family of `subject` in `tenant`. Returns how many were newly revoked.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn revoke_subject(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        now: UnixTime,
    ) -> Result<u64, TokenError>;

    /// Tenant-wide logout in O(1): every family of `tenant` created at or before `at` is
    /// revoked. The store records `at` as the tenant's refresh epoch (raised
    /// monotonically, never lowered) and keeps it at least until `keep_until` (the end of
    /// the longest family created by then); [`RefreshStore::rotate`] and
    /// [`RefreshStore::family_status`] report every family created at or before the epoch
    /// as revoked. No family is visited, whatever the tenant's size.
    ///
    /// # Errors
    ///
    /// [`TokenError::RetentionBeforeEpoch`] if `keep_until < at` (nothing stored);
    /// [`TokenError::Backend`].
    async fn revoke_tenant_before(
        &self,
        tenant: &TenantId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError>;

    /// The live sessions of `subject` in `tenant` at `now` (not revoked, not under the
    /// tenant's refresh epoch, before their absolute end and their current token's idle
    /// deadline), oldest login first. At most the subject's session cap.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn list_sessions(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        now: UnixTime,
    ) -> Result<Vec<SessionInfo>, TokenError>;

    /// Revokes every family of `subject` in `tenant` except `keep` ("log out my other
    /// devices"). Returns how many were newly revoked; `keep` is left as it is.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn revoke_subject_except(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        keep: &FamilyId,
        now: UnixTime,
    ) -> Result<u64, TokenError>;

    /// The family's status at `now` (used to verify scoped tokens).
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`]; callers then deny.
    async fn family_status(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
        now: UnixTime,
    ) -> Result<FamilyStatus, TokenError>;
}
