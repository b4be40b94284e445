//! An axum service composing every Portcullis crate; `cargo run --example axum-service`
//! serves it on `127.0.0.1:3000` (override with `PORTCULLIS_LISTEN`).
//!
//! | route | what it shows |
//! |---|---|
//! | `POST /login` `{"tenant","username","password"}` | at most 10 attempts a minute per client IP and per account, else 429 with `Retry-After` (`portcullis-ratelimit`); the password verified against the stored Argon2id hash on a blocking thread (`portcullis-passwords`; an unknown user does the same work; wrong password, unknown user and unusable hash: the same 401; hasher busy: 503, `Retry-After: 1`); a legacy hash (imported bcrypt user `lena`) upgraded to Argon2id at login, recorded as `user.password_rehashed`; a refresh-token family (session) and an EdDSA access token carrying the user's roles (`portcullis-tokens`) |
//! | `POST /refresh` `{"tenant","refresh_token"}` | rotation; a second tab inside the 10 s grace window gets the session's current token (the same successor, or a later one after further quick rotations); a rotated token presented again after its grace window is reuse: **401** and the whole session is revoked, including its access tokens |
//! | `GET /tenants/{tenant}/documents` | bearer auth → [`Caller`]; RBAC route guard (`documents:read`), then tenant isolation on the path's tenant (`portcullis-rbac`); bodies opened with the tenant's key (`portcullis-keys`) |
//! | `POST /tenants/{tenant}/documents` `{"title","body"}` | guarded by `documents:write`; the body is sealed for the tenant and bound to the document id |
//! | `POST /tenants/{tenant}/webhooks/stripe` | Stripe signature over the raw body bytes, replay guard (`portcullis-webhooks`): 200, or 400 (bad signature or timestamp), 409 (replay) |
//! | `GET /tenants/{tenant}/audit/verify` | guarded by `audit:read` (admins): verifies the tenant's hash chain, signs a C2SP checkpoint and opens it with the published key (`portcullis-audit`) |
//!
//! Every request that reaches a tenant is recorded in that tenant's audit log: logins
//! and refreshes (and failed ones), password hash upgrades, reuse, document reads and writes, RBAC denials (with
//! the reason code, in the caller's own tenant), accepted and rejected webhooks.
//! Requests turned away before any tenant is established (no or invalid bearer token, a
//! tenant that does not exist) get 401/404 and are not recorded. If the audit log cannot
//! record, the request is refused (503), as is any request whose store cannot answer:
//! nothing fails open.
//!
//! Denials answer `403 {"error":"forbidden","reason":"needs role editor","code":"needs_role"}`
//! (or `cross-tenant`, ...): the reason of the [`portcullis_rbac::Decision`].
//!
//! # Stores
//!
//! In memory by default ([`Stores::in_memory`]); the environment switches backends
//! ([`Stores::from_env`]):
//!
//! | variable | effect |
//! |---|---|
//! | `PORTCULLIS_REDIS_URL` | refresh families, access-token revocations, the webhook replay guard and the login rate limiter in Redis (`portcullis-redis`, [`Stores::with_redis`]); key prefix `PORTCULLIS_REDIS_PREFIX` (default `portcullis`) |
//! | `PORTCULLIS_DATABASE_URL` | the audit log in the append-only PostgreSQL store (`portcullis-postgres`, migrated at start-up, [`Stores::with_postgres_audit`]) |
//! | `PORTCULLIS_AUDIT_SIGNING_KEY` | the checkpoint signer (`PRIVATE+KEY+...`); set it when the log outlives the process, or checkpoints stored by an earlier run (signed by another generated key) will not open |
//!
//! Documents (sealed) stay in process memory in every mode. Connect to PostgreSQL as a
//! login role granted `portcullis_app`, not as a superuser, or row-level security is
//! bypassed (see `portcullis-postgres`).
//!
//! # Demo shortcuts (not for production)
//!
//! Users, passwords and roles come from [`ServiceConfig::demo`], and the user table lives
//! in process memory (a real service keeps it in a database): the passwords are hashed
//! at start-up and only the hashes kept, `lena`'s bcrypt hash (cost 4) included, which
//! stands for one imported from an older system. The signing key, refresh key and master
//! key are generated at start-up; the service speaks plain HTTP (terminate TLS in front
//! of it).

mod auth;
mod config;
mod error;
mod guard;
mod handlers;
mod policy;
mod state;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use auth::{Caller, RoleClaims};
pub use config::{DEMO_STRIPE_SECRET, DemoUser, ServiceConfig};
pub use error::{ApiError, ServiceError};
pub use policy::{ROUTES, demo_policy, route_permission};
pub use state::{App, Stores};

/// The service's router. Serve it with [`serve`] (the handlers read the peer address for
/// the audit log, which needs connect info).
pub fn router(app: Arc<App>) -> Router {
    let guarded = Router::new()
        .route(
            "/tenants/{tenant}/documents",
            get(handlers::list_documents).post(handlers::create_document),
        )
        .route(
            "/tenants/{tenant}/audit/verify",
            get(handlers::verify_audit),
        )
        .route_layer(from_fn_with_state(app.clone(), guard::rbac_guard));
    Router::new()
        .route("/login", post(handlers::login))
        .route("/refresh", post(handlers::refresh))
        .route(
            "/tenants/{tenant}/webhooks/stripe",
            post(handlers::stripe_webhook),
        )
        .merge(guarded)
        .with_state(app)
}

/// Serves [`router`] on `listener` until the process ends.
///
/// # Errors
///
/// [`ServiceError::Io`] if serving fails.
pub async fn serve(listener: TcpListener, app: Arc<App>) -> Result<(), ServiceError> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
