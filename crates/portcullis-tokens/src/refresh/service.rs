//! The refresh-token service: issue at login, rotate, revoke.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{
    ActorId, Provider, SecretArray, SecretString, TenantId, UnixTime, random_array,
};
use zeroize::Zeroizing;

use super::format::{self, FamilyId};
use super::store::{
    FamilyStatus, NewFamily, RefreshStore, RotateOutcome, RotateRequest, SessionInfo, TokenRef,
};
use crate::error::TokenError;

/// Lifetimes of refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Absolute lifetime of a family (session), from login. Default 30 days.
    pub absolute: Duration,
    /// A token not rotated within this time expires. Default 7 days.
    pub idle: Duration,
    /// How long a just-rotated token may be presented again and receive the same
    /// successor. Default 10 seconds; at most 60.
    pub grace: Duration,
    /// Live sessions one subject may hold in a tenant. A login beyond it revokes the
    /// subject's session that ends first (the oldest login). Default 100; 1 to
    /// [`MAX_SESSIONS_PER_SUBJECT`](crate::MAX_SESSIONS_PER_SUBJECT).
    pub max_sessions_per_subject: u32,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            absolute: Duration::from_secs(30 * 86_400),
            idle: Duration::from_secs(7 * 86_400),
            grace: Duration::from_secs(10),
            max_sessions_per_subject: 100,
        }
    }
}

/// A refresh token just issued or rotated. The token is secret; the rest may be logged.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    /// The token to hand to the client (shown once).
    pub token: SecretString,
    /// Its family (session) id.
    pub family: FamilyId,
    /// Its generation.
    pub generation: u32,
    /// Its subject.
    pub subject: ActorId,
    /// When it stops being usable unless rotated (idle deadline, capped by the family's
    /// absolute expiry): use it as the cookie's lifetime.
    pub expires_at: UnixTime,
    /// `true` when this is a grace-window replay (the family's current token handed out
    /// again).
    pub replay: bool,
}

/// Issues, rotates and revokes refresh tokens over a [`RefreshStore`].
///
/// One family is one login session. [`RefreshTokens::issue`] creates it with a
/// generation-0 token; [`RefreshTokens::rotate`] exchanges the current token for its
/// successor. The token format is specified in [`refresh_format`](crate::refresh_format); the store keeps only hashes.
///
/// # The rotation state machine
///
/// [`RefreshStore::rotate`] receives `(tenant, family, presented = (generation, hash),
/// successor hash, now, grace_until, idle_until)`. The family record holds `subject`,
/// `expires_at` (absolute), `revoked` (bool), `current = (generation, hash, idle_until)`
/// and optionally `previous = (generation, hash, successor hash, grace_until)`. The rows
/// are evaluated in order; the first that matches decides. Every implementation (memory,
/// Redis Lua, PostgreSQL) must reproduce this table exactly, atomically per family.
///
/// | row | condition | state change | outcome |
/// |-----|-----------|--------------|---------|
/// | 1 | no record for `(tenant, family)` | none | `NotFound` |
/// | 2 | `revoked`, or the family was created at or before the tenant's refresh epoch ([`RefreshTokens::revoke_tenant`]) | none | `Revoked` |
/// | 3 | `now >= expires_at` | none | `Expired` |
/// | 4 | `presented == current` and `now >= current.idle_until` | none | `Expired` |
/// | 5 | `presented == current` | `recent := [r in recent where now < r.grace_until] + [(current.generation, current.hash, grace_until)]`, keeping the last [`GRACE_CHAIN`](crate::GRACE_CHAIN); `current := (generation + 1, successor, min(idle_until, expires_at))` | `Rotated { current, replay: false }` |
/// | 6 | `presented == r` for some `r` in `recent` with `now < r.grace_until` | none | `Rotated { current, replay: true }` |
/// | 7 | anything else (a rotated token after its grace window, an older generation pushed out of `recent`, a future generation) | `revoked := true` | `ReuseDetected` |
///
/// "`presented == X`" means equal generation and equal hash (compared in constant time).
/// Row 7 is safe to apply to anything that reaches the store because the caller has
/// already verified the token's tag: only tokens the service itself issued get there, so
/// a stale one is evidence of theft, never a guess. Revocation is terminal, which makes a
/// revoke racing a rotation win: whichever runs first, the family ends revoked and any
/// successor handed out is refused at its next use.
///
/// A replay (row 6) receives the family's *current* token, which the service derives from
/// the presented one down the successor chain: after two quick rotations (two tabs
/// refreshing at once, one of them twice), the token rotated first still gets the live
/// token inside its grace window instead of revoking the session.
pub struct RefreshTokens {
    store: Arc<dyn RefreshStore>,
    key: SecretArray<32>,
    policy: RefreshPolicy,
    provider: Provider,
}

impl fmt::Debug for RefreshTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("store", &self.store)
            .field("key", &self.key)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RefreshTokens {
    /// A service over `store`, authenticating tokens with `key` (32 random bytes kept
    /// secret and stable: changing it invalidates every outstanding refresh token).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] if a lifetime is zero, the idle lifetime exceeds the
    /// absolute one, or the grace window exceeds 60 seconds.
    pub fn new(
        store: Arc<dyn RefreshStore>,
        key: SecretArray<32>,
        policy: RefreshPolicy,
        provider: Provider,
    ) -> Result<Self, TokenError> {
        let bad = |reason: &str| TokenError::InvalidConfig {
            reason: reason.to_owned(),
        };
        if policy.absolute.is_zero() || policy.idle.is_zero() {
            return Err(bad("refresh lifetimes must be positive"));
        }
        if policy.idle > policy.absolute {
            return Err(bad("refresh idle lifetime exceeds the absolute lifetime"));
        }
        if policy.grace > Duration::from_secs(60) {
            return Err(bad("refresh grace window must be at most 60 s"));
        }
        if policy.max_sessions_per_subject == 0
            || policy.max_sessions_per_subject > super::store::MAX_SESSIONS_PER_SUBJECT
        {
            return Err(bad("max sessions per subject must be 1 to 256"));
        }
        Ok(Self {
            store,
            key,
            policy,
            provider,
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn RefreshStore> {
        &self.store
    }

    /// Starts a session: creates a family and returns its generation-0 token. If the
    /// subject already holds [`RefreshPolicy::max_sessions_per_subject`] live sessions,
    /// the one that ends first is revoked in the same atomic step.
    ///
    /// # Errors
    ///
    /// [`TokenError::Random`], [`TokenError::Backend`].
    pub async fn issue(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
    ) -> Result<IssuedRefresh, TokenError> {
        self.issue_labeled(tenant, subject, None).await
    }

    /// [`RefreshTokens::issue`] with a label shown in the subject's session list (for
    /// example the login's user agent): at most
    /// [`MAX_SESSION_LABEL_LEN`](crate::MAX_SESSION_LABEL_LEN) bytes, no control
    /// characters. The label is stored as given; treat it as the client's words when you
    /// display it.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for a label out of bounds; as
    /// [`RefreshTokens::issue`].
    pub async fn issue_labeled(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        label: Option<&str>,
    ) -> Result<IssuedRefresh, TokenError> {
        if let Some(label) = label {
            if label.len() > super::store::MAX_SESSION_LABEL_LEN
                || label.chars().any(char::is_control)
            {
                return Err(TokenError::InvalidConfig {
                    reason: "a session label must be at most 256 bytes without control characters"
                        .to_owned(),
                });
            }
        }
        let now = self.provider.now();
        let family = FamilyId::from_bytes(random_array(&self.provider)?);
        let secret = Zeroizing::new(random_array::<32>(&self.provider)?);
        let token = format::build(&self.key, tenant, family, 0, &secret)?;
        let expires_at = now.saturating_add(self.policy.absolute);
        let idle_until = now.saturating_add(self.policy.idle).min(expires_at);
        self.store
            .create(
                tenant,
                NewFamily {
                    family,
                    subject: subject.clone(),
                    created_at: now,
                    expires_at,
                    current: TokenRef {
                        generation: 0,
                        hash: token.hash(),
                    },
                    idle_until,
                    max_sessions: self.policy.max_sessions_per_subject,
                    label: label.map(str::to_owned),
                },
            )
            .await?;
        Ok(IssuedRefresh {
            token: token.encode(),
            family,
            generation: 0,
            subject: subject.clone(),
            expires_at: idle_until,
            replay: false,
        })
    }

    /// Rotates `presented`, returning its successor. A token rotated less than the grace
    /// window ago receives the family's current token instead (the same successor for
    /// concurrent calls; a later token if the successor was itself rotated meanwhile),
    /// marked [`IssuedRefresh::replay`].
    ///
    /// # Errors
    ///
    /// [`TokenError::RefreshInvalid`] for malformed, forged, foreign-tenant or unknown
    /// tokens; [`TokenError::ReuseDetected`] when a rotated token comes back outside the
    /// grace window (the family is now revoked); [`TokenError::RefreshRevoked`];
    /// [`TokenError::RefreshExpired`]; [`TokenError::Backend`] (never a success).
    pub async fn rotate(
        &self,
        tenant: &TenantId,
        presented: &str,
    ) -> Result<IssuedRefresh, TokenError> {
        let token = format::parse(&self.key, tenant, presented)?;
        let next = format::successor(&self.key, tenant, &token)?;
        let now = self.provider.now();
        let request = RotateRequest {
            family: token.family,
            presented: TokenRef {
                generation: token.generation,
                hash: token.hash(),
            },
            successor: next.hash(),
            now,
            grace_until: now.saturating_add(self.policy.grace),
            idle_until: now.saturating_add(self.policy.idle),
        };
        match self.store.rotate(tenant, request).await? {
            RotateOutcome::Rotated {
                subject,
                expires_at,
                current,
                replay,
            } => {
                // The current token derives from the presented one: its successor, or
                // (after further rotations inside the grace window) a later one down the
                // same chain. At most GRACE_CHAIN steps; it must be what the store holds.
                let steps = current.generation.checked_sub(token.generation);
                let steps = steps.filter(|&n| n >= 1 && n as usize <= super::store::GRACE_CHAIN);
                let Some(steps) = steps else {
                    return Err(TokenError::RefreshInvalid);
                };
                let mut out = next;
                for _ in 1..steps {
                    out = format::successor(&self.key, tenant, &out)?;
                }
                if !out.hash().ct_eq(&current.hash) {
                    return Err(TokenError::RefreshInvalid);
                }
                Ok(IssuedRefresh {
                    token: out.encode(),
                    family: token.family,
                    generation: out.generation,
                    subject,
                    expires_at: request.idle_until.min(expires_at),
                    replay,
                })
            }
            RotateOutcome::ReuseDetected { subject } => Err(TokenError::ReuseDetected {
                family: token.family,
                subject,
            }),
            RotateOutcome::Revoked => Err(TokenError::RefreshRevoked {
                family: token.family,
            }),
            RotateOutcome::Expired => Err(TokenError::RefreshExpired),
            RotateOutcome::NotFound => Err(TokenError::RefreshInvalid),
        }
    }

    /// Logout: revokes the family of `presented`. Returns whether it was active.
    ///
    /// # Errors
    ///
    /// [`TokenError::RefreshInvalid`] for a token that does not authenticate;
    /// [`TokenError::Backend`].
    pub async fn revoke_token(
        &self,
        tenant: &TenantId,
        presented: &str,
    ) -> Result<bool, TokenError> {
        let token = format::parse(&self.key, tenant, presented)?;
        self.revoke_family(tenant, &token.family).await
    }

    /// Revokes one family (session), including every scoped token derived from it.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke_family(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
    ) -> Result<bool, TokenError> {
        self.store
            .revoke_family(tenant, family, self.provider.now())
            .await
    }

    /// Revokes every session of `subject` in `tenant`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke_subject(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
    ) -> Result<u64, TokenError> {
        self.store
            .revoke_subject(tenant, subject, self.provider.now())
            .await
    }

    /// Ends every session of `tenant` (tenant-wide logout): every family created at or
    /// before now is revoked, in one store operation whatever the tenant's size. The epoch
    /// is kept for the absolute lifetime, so no such family rotates again. Logins in the
    /// same millisecond as the call count as before it. Pair it with
    /// [`TokenService::revoke_tenant`](crate::TokenService::revoke_tenant) to end the
    /// access tokens too. Returns the epoch.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke_tenant(&self, tenant: &TenantId) -> Result<UnixTime, TokenError> {
        let at = self.provider.now();
        self.store
            .revoke_tenant_before(tenant, at, at.saturating_add(self.policy.absolute))
            .await?;
        Ok(at)
    }

    /// The live sessions of `subject` (family id, login time, last rotation, end, label),
    /// oldest login first: for a "your devices" page.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn sessions(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
    ) -> Result<Vec<SessionInfo>, TokenError> {
        self.store
            .list_sessions(tenant, subject, self.provider.now())
            .await
    }

    /// Ends one session of `subject`, as the subject asks from its session list. Returns
    /// whether a live session of that subject was revoked: a family of another subject
    /// (or none) is left alone and reported as `false`, whichever it was.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke_session(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        family: &FamilyId,
    ) -> Result<bool, TokenError> {
        match self.status(tenant, family).await? {
            FamilyStatus::Active { subject: owner } if owner == *subject => {
                self.revoke_family(tenant, family).await
            }
            _ => Ok(false),
        }
    }

    /// "Log out my other devices": ends every session of the subject of `presented` (a
    /// refresh token of a live session) except that session. Returns how many ended.
    ///
    /// # Errors
    ///
    /// [`TokenError::RefreshInvalid`] for a token that does not authenticate or whose
    /// session is not live; [`TokenError::Backend`].
    pub async fn revoke_other_sessions(
        &self,
        tenant: &TenantId,
        presented: &str,
    ) -> Result<u64, TokenError> {
        let token = format::parse(&self.key, tenant, presented)?;
        let FamilyStatus::Active { subject } = self.status(tenant, &token.family).await? else {
            return Err(TokenError::RefreshInvalid);
        };
        self.store
            .revoke_subject_except(tenant, &subject, &token.family, self.provider.now())
            .await
    }

    /// The status of a family now.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn status(
        &self,
        tenant: &TenantId,
        family: &FamilyId,
    ) -> Result<FamilyStatus, TokenError> {
        self.store
            .family_status(tenant, family, self.provider.now())
            .await
    }
}
