//! The RBAC route guard: a middleware that authenticates the caller, checks the matched
//! route with [`Policy::guard_route`](portcullis_rbac::Policy::guard_route), then checks the
//! action on the tenant named in the path with
//! [`Policy::authorize`](portcullis_rbac::Policy::authorize) (tenant isolation), and
//! records every denial in the audit log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portcullis_core::TenantId;
use portcullis_rbac::{Decision, Resource};
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::policy::route_permission;
use super::state::App;

/// Guards a route layer: on allow, the [`Caller`] is put in the request's extensions for
/// the handler; on deny, the answer is 403 with the decision's reason and code.
pub(crate) async fn rbac_guard(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    matched: MatchedPath,
    Path(params): Path<HashMap<String, String>>,
    caller: Caller,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let route = matched.as_str();
    let Some(target) = params
        .get("tenant")
        .and_then(|t| t.parse::<TenantId>().ok())
    else {
        return ApiError::new(StatusCode::NOT_FOUND, "unknown tenant").into_response();
    };
    let policy = &app.policy;
    // Coarse gate: may this principal use this route at all (in its own tenant)?
    let coarse = policy.guard_route(&method, route, &caller.principal);
    // Object level: the action on the tenant the path names.
    let decision = if coarse.is_denied() {
        coarse
    } else {
        match route_permission(&method, route).and_then(|p| policy.action(p)) {
            Some(action) => policy.authorize(
                &caller.principal,
                action,
                &Resource::new(&target, "tenant", target.as_str()),
            ),
            None => coarse,
        }
    };
    if decision.is_allowed() {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    deny(&app, &caller, &method, route, &target, peer, decision).await
}

async fn deny(
    app: &App,
    caller: &Caller,
    method: &str,
    route: &str,
    target: &TenantId,
    peer: SocketAddr,
    decision: Decision<'_>,
) -> Response {
    let reason = decision.reason();
    let metadata = json!({
        "method": method,
        "route": route,
        "target_tenant": target.as_str(),
        "reason": reason.code(),
        "policy_version": decision.policy_version(),
    });
    // The denial goes to the caller's own tenant's log (the other tenant's log is not
    // theirs to write to).
    if let Err(e) = app
        .record(
            &caller.tenant,
            &caller.actor,
            "access.denied",
            route,
            Some(peer.ip()),
            metadata,
        )
        .await
    {
        return e.into_response();
    }
    ApiError::forbidden(reason.to_string(), reason.code()).into_response()
}
