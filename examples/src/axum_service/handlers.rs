//! The request handlers: login, refresh, documents, the Stripe receiver and audit
//! verification. Each one records what it did in the tenant's audit log.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use portcullis_core::{ActorId, SecretString, TenantId, random_array};
use portcullis_passwords::{PasswordError, Verification};
use portcullis_tokens::{IssuedRefresh, TokenError};
use portcullis_webhooks::{Tolerance, WebhookError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Caller, RoleClaims};
use super::error::ApiError;
use super::state::{App, Document};
use super::users::{StoredUser, scheme_name};

type Answer = Result<(StatusCode, Json<Value>), ApiError>;

/// `POST /login` body.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginRequest {
    tenant: String,
    username: String,
    password: SecretString,
}

/// `POST /refresh` body.
#[derive(Debug, Deserialize)]
pub(crate) struct RefreshRequest {
    tenant: String,
    refresh_token: SecretString,
}

/// `POST /tenants/{tenant}/documents` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NewDocument {
    title: String,
    body: String,
}

fn parse_tenant(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid tenant id"))
}

/// Issues an access token for `refresh`'s subject and session, with the user's roles.
fn tokens_answer(app: &App, tenant: &TenantId, refresh: &IssuedRefresh) -> Answer {
    let user = app
        .users
        .get(tenant, &refresh.subject)
        .ok_or_else(|| ApiError::unauthorized("user no longer exists"))?;
    let roles = RoleClaims {
        roles: user.roles.clone(),
    };
    let access = app
        .tokens
        .issue_access(tenant, &refresh.subject, Some(&refresh.family), &roles)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "could not issue token"))?;
    let expires_in = app.tokens.config().access_ttl().as_secs();
    Ok((
        StatusCode::OK,
        Json(json!({
            "access_token": access.token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh.token.expose_secret(),
            "session": refresh.family.to_string(),
            "generation": refresh.generation,
            "replay": refresh.replay,
        })),
    ))
}

/// `POST /login`: verifies the password against the stored hash (`portcullis-passwords`,
/// on a blocking thread), upgrades a legacy hash to Argon2id, starts a session.
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Answer {
    let tenant = parse_tenant(&req.tenant)?;
    let actor: Option<ActorId> = req.username.parse().ok();
    let ip = Some(peer.ip());
    throttle_login(&app, &tenant, actor.as_ref(), peer).await?;
    let user = actor
        .as_ref()
        .and_then(|a| app.users.get(&tenant, a).map(|u| (a, u)));
    let stored = user.map(|(_, u)| u.password_hash()).transpose()?;
    // An unknown user is verified against nothing (`None`): the same Argon2 work as a user
    // on the current parameters, and always a mismatch.
    let checked = check_password(&app, req.password, stored).await?;
    let (verified, failure) = match &checked.verdict {
        Ok(verdict) => (verdict.is_verified(), json!({})),
        Err(PasswordError::Busy) => {
            return Err(ApiError::unavailable("password hasher").with_retry_after(1));
        }
        // Fail closed: a password over the length bound or a stored hash that cannot be
        // used is a failed login like a wrong password, with the same answer. The error
        // (which never holds the password or hash bytes) goes to the audit log, this
        // example's only record: it has no tracing.
        Err(e) => (false, json!({ "error": e.to_string() })),
    };
    let Some((actor, user)) = user.filter(|_| verified) else {
        if app.users.knows_tenant(&tenant) {
            let who = match actor {
                Some(a) => a,
                None => ActorId::new("anonymous").map_err(|_| ApiError::unavailable("actor"))?,
            };
            app.record(&tenant, &who, "auth.login_failed", "session", ip, failure)
                .await?;
        }
        return Err(ApiError::unauthorized("invalid username or password"));
    };
    if let (Some(old), Some(new)) = (checked.stored.as_deref(), checked.rehashed) {
        upgrade_hash(&app, &tenant, actor, user, old, new, ip).await?;
    }
    let session = app
        .refresh
        .issue(&tenant, actor)
        .await
        .map_err(|_| ApiError::unavailable("session store"))?;
    app.record(
        &tenant,
        actor,
        "auth.login",
        &format!("session/{}", session.family),
        ip,
        json!({}),
    )
    .await?;
    tokens_answer(&app, &tenant, &session)
}

/// What a password check found.
struct Checked {
    /// The answer of [`portcullis_passwords::Passwords::verify`].
    verdict: Result<Verification, PasswordError>,
    /// The hash that was checked (`None` for an unknown user).
    stored: Option<String>,
    /// A new Argon2id hash of the password, when it verified and `needs_rehash`.
    rehashed: Option<String>,
}

/// Verifies `password` against `stored` and, when the stored hash is below the current
/// policy, hashes the password again while it is at hand. Both are CPU-bound (Argon2),
/// so they run on tokio's blocking pool, not on an async worker.
async fn check_password(
    app: &App,
    password: SecretString,
    stored: Option<String>,
) -> Result<Checked, ApiError> {
    let passwords = Arc::clone(&app.passwords);
    tokio::task::spawn_blocking(move || {
        let verdict = passwords.verify(password.expose_secret(), stored.as_deref());
        // If this hash fails (say, Busy), the login still stands and the next one
        // upgrades the hash.
        let rehashed = match &verdict {
            Ok(v) if v.needs_rehash() => passwords.hash(password.expose_secret()).ok(),
            _ => None,
        };
        Checked {
            verdict,
            stored,
            rehashed,
        }
    })
    .await
    .map_err(|_| ApiError::unavailable("password hasher"))
}

/// Replaces `user`'s stored hash `old` (verified a moment ago, below the current policy)
/// with `new`, and records `user.password_rehashed` with the old and new schemes (never a
/// hash or the password). Of two concurrent logins only the first replaces the hash and
/// records it. If the audit log cannot record, the old hash is put back (it still
/// verifies) and the login is refused: no upgrade goes unrecorded.
async fn upgrade_hash(
    app: &App,
    tenant: &TenantId,
    actor: &ActorId,
    user: &StoredUser,
    old: &str,
    new: String,
    ip: Option<std::net::IpAddr>,
) -> Result<(), ApiError> {
    let new_scheme = scheme_name(&new);
    if !user.replace_password_hash(old, new.clone())? {
        return Ok(());
    }
    let recorded = app
        .record(
            tenant,
            actor,
            "user.password_rehashed",
            &format!("users/{actor}"),
            ip,
            json!({ "old_scheme": scheme_name(old), "new_scheme": new_scheme }),
        )
        .await;
    if recorded.is_err() {
        // Only if no later upgrade replaced it meanwhile.
        let _ = user.replace_password_hash(&new, old.to_owned());
    }
    recorded
}

/// Charges one login attempt to the client's IP and to the account; over either limit
/// the answer is 429 with `Retry-After` (recorded when the tenant exists). A limiter that
/// cannot answer refuses the login (503).
async fn throttle_login(
    app: &App,
    tenant: &TenantId,
    actor: Option<&ActorId>,
    peer: SocketAddr,
) -> Result<(), ApiError> {
    let account = actor.map_or("-", ActorId::as_str);
    let keys = [
        format!("ip:{}", peer.ip()),
        format!("account:{tenant}:{account}"),
    ];
    for key in keys {
        let decision = app
            .login_limiter
            .check(&key, 1)
            .await
            .map_err(|_| ApiError::unavailable("rate limiter"))?;
        if !decision.allowed {
            if app.users.knows_tenant(tenant) {
                let who = match actor {
                    Some(a) => a.clone(),
                    None => {
                        ActorId::new("anonymous").map_err(|_| ApiError::unavailable("actor"))?
                    }
                };
                let limit = key.split(':').next().unwrap_or("limit");
                app.record(
                    tenant,
                    &who,
                    "auth.login_throttled",
                    "session",
                    Some(peer.ip()),
                    json!({ "limit": limit }),
                )
                .await?;
            }
            let wait = decision.retry_after;
            let secs = wait
                .as_secs()
                .saturating_add(u64::from(wait.subsec_nanos() > 0));
            return Err(ApiError::too_many_requests(secs));
        }
    }
    Ok(())
}

/// `POST /refresh`: rotates the refresh token; a reused one revokes the session.
pub(crate) async fn refresh(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RefreshRequest>,
) -> Answer {
    let tenant = parse_tenant(&req.tenant)?;
    let ip = Some(peer.ip());
    match app
        .refresh
        .rotate(&tenant, req.refresh_token.expose_secret())
        .await
    {
        Ok(next) => {
            app.record(
                &tenant,
                &next.subject,
                "auth.refresh",
                &format!("session/{}", next.family),
                ip,
                json!({ "generation": next.generation, "replay": next.replay }),
            )
            .await?;
            tokens_answer(&app, &tenant, &next)
        }
        Err(TokenError::ReuseDetected { family, subject }) => {
            app.record(
                &tenant,
                &subject,
                "auth.refresh_reuse",
                &format!("session/{family}"),
                ip,
                json!({ "revoked": true }),
            )
            .await?;
            Err(ApiError::unauthorized(
                "refresh token reuse detected; the session is revoked",
            ))
        }
        Err(TokenError::Backend(_)) => Err(ApiError::unavailable("session store")),
        Err(e) => {
            // Forged, foreign, expired or revoked: recorded for the tenant it claims to be
            // for (when that tenant exists), without the token.
            if app.users.knows_tenant(&tenant) {
                let resource = match &e {
                    TokenError::RefreshRevoked { family } => format!("session/{family}"),
                    _ => "session".to_owned(),
                };
                let anonymous =
                    ActorId::new("anonymous").map_err(|_| ApiError::unavailable("actor"))?;
                app.record(
                    &tenant,
                    &anonymous,
                    "auth.refresh_failed",
                    &resource,
                    ip,
                    json!({ "error": e.to_string() }),
                )
                .await?;
            }
            Err(ApiError::unauthorized(e.to_string()))
        }
    }
}

/// `GET /tenants/{tenant}/documents` (guarded: `documents:read`).
pub(crate) async fn list_documents(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(caller): Extension<Caller>,
    Path(tenant): Path<String>,
) -> Answer {
    let tenant = parse_tenant(&tenant)?;
    let docs: Vec<Document> = app
        .documents
        .lock()
        .map_err(|_| ApiError::unavailable("document store"))?
        .get(&tenant)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(docs.len());
    for d in &docs {
        let body = app
            .sealer
            .open(&tenant, d.id.as_bytes(), &d.sealed_body)
            .map_err(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "document does not open")
            })?;
        out.push(json!({
            "id": d.id,
            "title": d.title,
            "body": String::from_utf8_lossy(body.expose_secret()),
        }));
    }
    app.record(
        &tenant,
        &caller.actor,
        "document.list",
        "documents",
        Some(peer.ip()),
        json!({ "count": out.len() }),
    )
    .await?;
    Ok((StatusCode::OK, Json(Value::Array(out))))
}

/// `POST /tenants/{tenant}/documents` (guarded: `documents:write`); the body is sealed
/// for the tenant and bound to the document id before it is stored.
pub(crate) async fn create_document(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(caller): Extension<Caller>,
    Path(tenant): Path<String>,
    Json(doc): Json<NewDocument>,
) -> Answer {
    let tenant = parse_tenant(&tenant)?;
    if doc.title.len() > 200 || doc.body.len() > 64 * 1024 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "document too large",
        ));
    }
    let id_bytes: [u8; 8] =
        random_array(&app.provider).map_err(|_| ApiError::unavailable("random generator"))?;
    let id: String = id_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let id = format!("doc-{id}");
    let sealed_body = app
        .sealer
        .seal(&tenant, id.as_bytes(), doc.body.as_bytes())
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "could not seal"))?;
    app.record(
        &tenant,
        &caller.actor,
        "document.create",
        &format!("documents/{id}"),
        Some(peer.ip()),
        json!({ "title_bytes": doc.title.len(), "body_bytes": doc.body.len() }),
    )
    .await?;
    app.documents
        .lock()
        .map_err(|_| ApiError::unavailable("document store"))?
        .entry(tenant)
        .or_default()
        .push(Document {
            id: id.clone(),
            title: doc.title,
            sealed_body,
        });
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// `POST /tenants/{tenant}/webhooks/stripe`: verifies the raw body against the
/// `Stripe-Signature` header, then remembers the delivery so a replay is refused.
pub(crate) async fn stripe_webhook(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let tenant = parse_tenant(&tenant)?;
    if !app.users.knows_tenant(&tenant) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown tenant"));
    }
    let stripe = ActorId::new("stripe").map_err(|_| ApiError::unavailable("actor"))?;
    let scope = format!("{tenant}/stripe");
    let ttl = Tolerance::default().replay_ttl();
    let result = app
        .stripe
        .verify_once(app.replay.as_ref(), &scope, ttl, &&headers, &body)
        .await;
    let ip = Some(peer.ip());
    match result {
        Ok(verified) => {
            // Parse only after the signature checked out.
            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = event.get("id").and_then(Value::as_str).unwrap_or("unknown");
            let kind = event
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            app.record(
                &tenant,
                &stripe,
                "webhook.accepted",
                &format!("webhooks/stripe/{id}"),
                ip,
                json!({ "type": kind, "secret_index": verified.secret_index }),
            )
            .await?;
            Ok((StatusCode::OK, Json(json!({ "received": true }))))
        }
        Err(e) => {
            let (status, code) = match &e {
                WebhookError::Duplicate(..) => (StatusCode::CONFLICT, "duplicate"),
                WebhookError::Backend(_) => (StatusCode::SERVICE_UNAVAILABLE, "backend"),
                WebhookError::TimestampTooOld { .. } | WebhookError::TimestampInFuture { .. } => {
                    (StatusCode::BAD_REQUEST, "timestamp")
                }
                _ => (StatusCode::BAD_REQUEST, "signature"),
            };
            app.record(
                &tenant,
                &stripe,
                "webhook.rejected",
                "webhooks/stripe",
                ip,
                json!({ "why": code }),
            )
            .await?;
            Err(ApiError::new(status, e.to_string()))
        }
    }
}

/// `GET /tenants/{tenant}/audit/verify` (guarded: `audit:read`): records the request,
/// verifies the chain, signs a checkpoint and opens it with the published key.
pub(crate) async fn verify_audit(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(caller): Extension<Caller>,
    Path(tenant): Path<String>,
) -> Answer {
    let tenant = parse_tenant(&tenant)?;
    app.record(
        &tenant,
        &caller.actor,
        "audit.verify",
        "audit",
        Some(peer.ip()),
        json!({}),
    )
    .await?;
    let failed = |e: portcullis_audit::AuditError| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("audit verification failed: {e}"),
        )
    };
    let head = app.audit.verify(&tenant).await.map_err(failed)?;
    let signed = app.audit.checkpoint(&tenant).await.map_err(failed)?;
    let origin = app.audit.origin(&tenant).map_err(failed)?;
    let opened = portcullis_audit::Checkpoint::open(&signed.note, &app.audit_verifier, &origin)
        .map_err(failed)?;
    let entries = app
        .audit
        .store()
        .read(&tenant, 0, head.size)
        .await
        .map_err(failed)?;
    let actions: Vec<&str> = entries.iter().map(|e| e.body().action()).collect();
    Ok((
        StatusCode::OK,
        Json(json!({
            "ok": true,
            "entries": head.size,
            "head": head.hash.to_string(),
            "checkpoint": signed.note,
            "checkpoint_size": opened.size(),
            "verifier_key": app.audit_verifier_key(),
            "actions": actions,
        })),
    ))
}
