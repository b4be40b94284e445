//! Start-up errors and HTTP error responses.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Setting up tokens failed.
    #[error(transparent)]
    Tokens(#[from] portcullis_tokens::TokenError),
    /// Setting up sealing failed.
    #[error(transparent)]
    Keys(#[from] portcullis_keys::KeysError),
    /// Setting up the webhook verifier failed.
    #[error(transparent)]
    Webhooks(#[from] portcullis_webhooks::WebhookError),
    /// The policy did not compile.
    #[error(transparent)]
    Rbac(#[from] portcullis_rbac::RbacError),
    /// Setting up the audit log failed.
    #[error(transparent)]
    Audit(#[from] portcullis_audit::AuditError),
    /// Connecting to or migrating PostgreSQL failed.
    #[error(transparent)]
    Postgres(#[from] portcullis_postgres::PostgresError),
    /// Connecting to Redis failed.
    #[error(transparent)]
    Redis(#[from] portcullis_redis::RedisError),
    /// Hashing a demo user's password failed.
    #[error(transparent)]
    Passwords(#[from] portcullis_passwords::PasswordError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] portcullis_core::RandomError),
    /// Binding or serving failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// An error answer: a status and a JSON body `{"error": ..., "reason": ..., "code": ...}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub error: String,
    /// The RBAC reason, for 403 answers.
    pub reason: Option<String>,
    /// The RBAC reason code, for 403 answers.
    pub code: Option<&'static str>,
    /// Seconds for the `Retry-After` header, for 429 answers and a busy password hasher's
    /// 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status` and message `error`.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            reason: None,
            code: None,
            retry_after: None,
        }
    }

    /// 401 with `error`.
    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }

    /// 403 with the decision's reason and code.
    pub fn forbidden(reason: String, code: &'static str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: "forbidden".to_owned(),
            reason: Some(reason),
            code: Some(code),
            retry_after: None,
        }
    }

    /// 429 with a `Retry-After` of `secs` (at least 1).
    pub fn too_many_requests(secs: u64) -> Self {
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too many login attempts")
        }
    }

    /// 503: a store could not answer, so the request is refused (fail closed).
    pub fn unavailable(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{what} unavailable; request refused"),
        )
    }

    /// The same answer with a `Retry-After` of `secs` (at least 1).
    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "reason": self.reason, "code": self.code });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
