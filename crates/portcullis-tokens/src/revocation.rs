//! Revocation of access and scoped tokens: a `jti` deny-list with expiry, and per-subject
//! and per-tenant "not before" epochs for mass logout.

mod memory;

pub use memory::MemoryRevocationStore;

use std::fmt;

use portcullis_core::{ActorId, TenantId, UnixTime};

use crate::error::TokenError;

/// Which rule revoked a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// Its `jti` is on the deny-list.
    TokenRevoked,
    /// It was issued at or before its subject's not-before epoch.
    SubjectEpoch,
    /// It was issued at or before its tenant's not-before epoch.
    TenantEpoch,
    /// Its parent session (refresh family) was revoked or expired.
    SessionEnded,
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TokenRevoked => "token id revoked",
            Self::SubjectEpoch => "issued before the subject's logout",
            Self::TenantEpoch => "issued before the tenant's logout",
            Self::SessionEnded => "parent session ended",
        })
    }
}

/// The answer of [`RevocationStore::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// No rule revokes the token.
    NotRevoked,
    /// A rule revokes it.
    Revoked(RevocationReason),
}

/// Where revocations are recorded. Each method is one atomic operation.
///
/// Semantics a backend must reproduce exactly:
///
/// - `revoke_jti(tenant, jti, keep_until)`: the pair is denied until `keep_until`, after
///   which it is forgotten (the token has expired by then).
/// - `revoke_subject_before(tenant, subject, at, keep_until)` and
///   `revoke_tenant_before(tenant, at, keep_until)`: set the epoch to the maximum of the
///   stored value and `at` (epochs never move backwards). A token is revoked when its
///   `iat` (whole seconds, as milliseconds) is **at or before** an epoch, so a token issued
///   in the same second as a mass logout is revoked too (fail closed). A `keep_until`
///   before `at` is refused with [`TokenError::RetentionBeforeEpoch`], nothing written.
/// - Retention: every write raises the entry's `keep_until` to the maximum seen and
///   (re)sets its expiry to `keep_until` measured from the store's clock at write time,
///   **at least one second**; once expired the entry revokes nothing. So an epoch must be
///   kept until every token issued before it has expired, or those tokens verify again:
///   [`TokenService::revoke_subject`](crate::TokenService::revoke_subject) and
///   [`TokenService::revoke_tenant`](crate::TokenService::revoke_tenant) compute that
///   retention themselves ([`TokenConfig::epoch_retention`](crate::TokenConfig::epoch_retention));
///   call the store directly only with a `keep_until` at least that long.
/// - `check(tenant, subject, jti, issued_at)`: one read answering all three rules, in the
///   order jti, subject, tenant.
///
/// A Redis backend keeps `{tenant}:jti:<jti>`, `{tenant}:sub-epoch:<subject>` and
/// `{tenant}:epoch` with expiry at `keep_until`, and answers `check` with one script.
#[async_trait::async_trait]
pub trait RevocationStore: Send + Sync + fmt::Debug {
    /// Denies `jti` in `tenant` until `keep_until`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    async fn revoke_jti(
        &self,
        tenant: &TenantId,
        jti: &str,
        keep_until: UnixTime,
    ) -> Result<(), TokenError>;

    /// Revokes every token of `subject` issued at or before `at` (monotonic), until
    /// `keep_until` (see the module docs for retention).
    ///
    /// # Errors
    ///
    /// [`TokenError::RetentionBeforeEpoch`] if `keep_until` < `at` (nothing written);
    /// [`TokenError::Backend`].
    async fn revoke_subject_before(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError>;

    /// Revokes every token of `tenant` issued at or before `at` (monotonic), until
    /// `keep_until` (see the module docs for retention).
    ///
    /// # Errors
    ///
    /// [`TokenError::RetentionBeforeEpoch`] if `keep_until` < `at` (nothing written);
    /// [`TokenError::Backend`].
    async fn revoke_tenant_before(
        &self,
        tenant: &TenantId,
        at: UnixTime,
        keep_until: UnixTime,
    ) -> Result<(), TokenError>;

    /// Whether a token with these claims is revoked.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`]; callers must then reject the token.
    async fn check(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        jti: &str,
        issued_at: UnixTime,
    ) -> Result<RevocationStatus, TokenError>;
}
