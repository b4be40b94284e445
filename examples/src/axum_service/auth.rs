//! Bearer-token authentication: the `Authorization: Bearer <jwt>` header becomes a
//! [`Caller`] with its resolved RBAC principal.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{Principal, ResolvedPrincipal};
use portcullis_tokens::{FamilyId, RevocationReason, TokenError};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::state::App;

/// The caller-defined claims of our access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleClaims {
    /// The user's roles in its tenant, as the RBAC policy names them.
    pub roles: Vec<String>,
}

/// An authenticated request's caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant the token was issued for.
    pub tenant: TenantId,
    /// The user.
    pub actor: ActorId,
    /// The session (refresh family) the token belongs to.
    pub session: Option<FamilyId>,
    /// The principal, resolved once against the policy.
    pub principal: ResolvedPrincipal,
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("authorization is not a bearer token"))?;
        let verified = app
            .tokens
            // Signature, claims, revocation and, since the token names its session, that
            // the session is live: after logout or a detected refresh-token reuse the token
            // stops working at once, not when it expires.
            .verify_access::<RoleClaims>(token)
            .await
            .map_err(|e| match e {
                TokenError::Backend(_) => ApiError::unavailable("token stores"),
                TokenError::Revoked {
                    reason: RevocationReason::SessionEnded,
                } => ApiError::unauthorized("session ended"),
                e => ApiError::unauthorized(format!("invalid access token: {e}")),
            })?;
        let claims = verified.claims;
        let mut principal = Principal::new(claims.sub.clone(), claims.tid.clone());
        for role in &claims.extra.roles {
            principal = principal.with_role(role.clone());
        }
        Ok(Self {
            principal: app.policy.resolve(&principal),
            tenant: claims.tid,
            actor: claims.sub,
            session: claims.sid,
        })
    }
}
