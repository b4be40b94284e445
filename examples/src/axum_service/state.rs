//! The shared application state: every crate's service, wired to its stores.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use portcullis_audit::{
    AuditLog, AuditStore, MemoryStore, Metadata, NewEntry, NoteSigner, NoteVerifier,
};
use portcullis_core::{ActorId, Provider, SecretArray, TenantId};
use portcullis_keys::{KeyVersion, MasterKey, MasterKeys, Purpose, Sealer};
use portcullis_passwords::Passwords;
use portcullis_ratelimit::{MemoryRateLimiter, RateLimiter, presets};
use portcullis_rbac::Policy;
use portcullis_tokens::{
    Algorithm, KeyMaterial, KeyState, MemoryRefreshStore, MemoryRevocationStore, MemoryTicketStore,
    RefreshPolicy, RefreshStore, RefreshTokens, RevocationStore, SigningKeys, TokenConfig,
    TokenService, TokenStores,
};
use portcullis_webhooks::{MemoryReplayGuard, ReplayGuard, Stripe, Verifier};
use serde_json::Value;

use super::config::ServiceConfig;
use super::error::{ApiError, ServiceError};
use super::policy::demo_policy;
use super::users::Users;

/// The stores behind the service's async seams.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Refresh-token families.
    pub refresh: Arc<dyn RefreshStore>,
    /// Access-token revocation.
    pub revocation: Arc<dyn RevocationStore>,
    /// Webhook replay guard.
    pub replay: Arc<dyn ReplayGuard>,
    /// The audit log.
    pub audit: Arc<dyn AuditStore>,
    /// Login attempts (10 per minute per client IP, and per account).
    pub login_limiter: Arc<dyn RateLimiter>,
    labels: Labels,
}

/// Where each store lives, for [`Stores::describe`].
#[derive(Debug, Clone, Copy)]
struct Labels {
    refresh: &'static str,
    revocation: &'static str,
    replay: &'static str,
    audit: &'static str,
    limiter: &'static str,
}

impl Stores {
    /// Every store in memory (the default; state is lost on restart).
    pub fn in_memory(provider: Provider) -> Self {
        Self {
            refresh: Arc::new(MemoryRefreshStore::new()),
            revocation: Arc::new(MemoryRevocationStore::new(provider.clone())),
            replay: Arc::new(MemoryReplayGuard::new(provider.clone())),
            audit: Arc::new(MemoryStore::new()),
            login_limiter: Arc::new(MemoryRateLimiter::with_capacity(
                presets::auth_per_ip(),
                provider.clone(),
                100_000,
            )),
            labels: Labels {
                refresh: "refresh families in memory",
                revocation: "revocations in memory",
                replay: "replay guard in memory",
                audit: "audit log in memory",
                limiter: "login rate limit in memory",
            },
        }
    }

    /// Replaces the audit store with the append-only PostgreSQL store at `url` (migrated
    /// first, idempotently). Call inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ServiceError::Postgres`] if the pool cannot be built or the migration fails.
    pub async fn with_postgres_audit(mut self, url: &str) -> Result<Self, ServiceError> {
        use portcullis_postgres::{PgAuditStore, PgOptions, PgPool, migrate};
        let pool = PgPool::connect(url, PgOptions::default())?;
        migrate(&pool).await?;
        self.audit = Arc::new(PgAuditStore::new(pool));
        self.labels.audit = "audit log in PostgreSQL";
        Ok(self)
    }

    /// Replaces the refresh-family store, the revocation store, the webhook replay
    /// guard and the login rate limiter with their Redis implementations at `url`, every key under `prefix`
    /// (default `portcullis`). The backend reads time from `provider`. Call inside a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`ServiceError::Redis`] for a bad URL or prefix, or a server that cannot be reached.
    pub async fn with_redis(
        mut self,
        provider: Provider,
        url: &str,
        prefix: Option<&str>,
    ) -> Result<Self, ServiceError> {
        use portcullis_redis::{
            RedisBackend, RedisConfig, RedisRateLimiter, RedisRefreshStore, RedisReplayGuard,
            RedisRevocationStore, TimeSource,
        };
        let mut config = RedisConfig::new();
        if let Some(prefix) = prefix {
            config = config.prefix(prefix);
        }
        let backend = RedisBackend::connect(url, config, provider).await?;
        self.refresh = Arc::new(RedisRefreshStore::new(backend.clone()));
        self.revocation = Arc::new(RedisRevocationStore::new(backend.clone()));
        self.replay = Arc::new(RedisReplayGuard::new(backend.clone()));
        self.login_limiter = Arc::new(RedisRateLimiter::new(
            backend,
            "login",
            presets::auth_per_ip(),
            TimeSource::Server,
        )?);
        self.labels.limiter = "login rate limit in Redis";
        self.labels.refresh = "refresh families in Redis";
        self.labels.revocation = "revocations in Redis";
        self.labels.replay = "replay guard in Redis";
        Ok(self)
    }

    /// The stores chosen by the environment: Redis for tokens and the replay guard when
    /// `PORTCULLIS_REDIS_URL` is set (key prefix `PORTCULLIS_REDIS_PREFIX`, default
    /// `portcullis`), PostgreSQL for the audit log when `PORTCULLIS_DATABASE_URL` is set,
    /// memory otherwise.
    ///
    /// # Errors
    ///
    /// As [`Stores::with_redis`] and [`Stores::with_postgres_audit`].
    pub async fn from_env(provider: Provider) -> Result<Self, ServiceError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut stores = Self::in_memory(provider.clone());
        if let Some(url) = var("PORTCULLIS_REDIS_URL") {
            let prefix = var("PORTCULLIS_REDIS_PREFIX");
            stores = stores.with_redis(provider, &url, prefix.as_deref()).await?;
        }
        if let Some(url) = var("PORTCULLIS_DATABASE_URL") {
            stores = stores.with_postgres_audit(&url).await?;
        }
        Ok(stores)
    }

    /// Which backend holds what, for the start-up banner.
    pub fn describe(&self) -> String {
        let l = self.labels;
        format!(
            "{}, {}, {}, {}, {}",
            l.refresh, l.revocation, l.replay, l.limiter, l.audit
        )
    }
}

/// A stored document: its title in clear, its body sealed for the tenant.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) sealed_body: Vec<u8>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    pub(crate) tokens: TokenService,
    pub(crate) refresh: RefreshTokens,
    pub(crate) sealer: Sealer,
    pub(crate) policy: Policy,
    pub(crate) audit: AuditLog,
    pub(crate) audit_verifier: NoteVerifier,
    pub(crate) stripe: Verifier,
    pub(crate) replay: Arc<dyn ReplayGuard>,
    pub(crate) login_limiter: Arc<dyn RateLimiter>,
    /// Argon2id hashing and verification; shared with the blocking threads logins run on.
    pub(crate) passwords: Arc<Passwords>,
    /// Who may log in: roles and password hashes.
    pub(crate) users: Users,
    pub(crate) documents: Mutex<HashMap<TenantId, Vec<Document>>>,
    pub(crate) provider: Provider,
}

impl App {
    /// Builds the service: a fresh EdDSA signing key, refresh-token key and master key
    /// (demo: generated at start-up, so tokens and documents do not survive a restart),
    /// the demo policy, the Stripe verifier, the audit log with its checkpoint signer, and
    /// the user table: the passwords of `config.users` are hashed (Argon2id with
    /// `portcullis-passwords`, tens of milliseconds each; bcrypt for a user marked
    /// [`DemoUser::imported_bcrypt`]) and only the hashes kept.
    ///
    /// # Errors
    ///
    /// [`ServiceError`] if any piece fails to build, or a user is configured twice.
    ///
    /// [`DemoUser::imported_bcrypt`]: super::DemoUser::imported_bcrypt
    pub fn new(
        config: ServiceConfig,
        stores: Stores,
        provider: Provider,
    ) -> Result<Self, ServiceError> {
        let rng = &provider;
        let passwords = Arc::new(Passwords::new(provider.clone()));
        let users = Users::hash_seeds(config.users, &passwords, rng)?;
        let ring = Arc::new(SigningKeys::new());
        ring.insert(
            KeyMaterial::generate(Algorithm::EdDsa, rng)?,
            KeyState::Active,
        )?;
        let tokens = TokenService::new(
            ring,
            TokenConfig::new(config.issuer.clone(), config.audience.clone())?,
            TokenStores {
                revocation: stores.revocation.clone(),
                sessions: stores.refresh.clone(),
                tickets: Arc::new(MemoryTicketStore::new()),
            },
            provider.clone(),
        );
        let refresh = RefreshTokens::new(
            stores.refresh,
            SecretArray::random(rng)?,
            RefreshPolicy::default(),
            provider.clone(),
        )?;
        let sealer = Sealer::new(
            Purpose::new("documents")?,
            MasterKeys::new(KeyVersion::new(1)?, MasterKey::generate(rng)?),
            provider.clone(),
        );
        let signer = match &config.audit_signer_key {
            Some(key) => NoteSigner::parse(key.expose_secret())?,
            None => NoteSigner::generate("audit.portcullis.example", rng)?,
        };
        let audit_verifier = signer.verifier();
        let audit = AuditLog::new(stores.audit, provider.clone()).with_signer(signer);
        let stripe = Verifier::new(
            Stripe::new(),
            config
                .stripe_secrets
                .iter()
                .map(|s| s.expose_secret().to_owned()),
            provider.clone(),
        )?;
        Ok(Self {
            tokens,
            refresh,
            sealer,
            policy: demo_policy()?,
            audit,
            audit_verifier,
            stripe,
            replay: stores.replay,
            login_limiter: stores.login_limiter,
            passwords,
            users,
            documents: Mutex::new(HashMap::new()),
            provider,
        })
    }

    /// The key customers use to verify checkpoints (`name+hash+base64`).
    pub fn audit_verifier_key(&self) -> String {
        self.audit_verifier.to_string()
    }

    /// The stored password hash of `actor` in `tenant` (a PHC string such as
    /// `$argon2id$v=19$...`, or the imported `$2b$...` before that user's first login), if
    /// the user exists. For tests and operators; no route returns it.
    pub fn stored_password_hash(&self, tenant: &TenantId, actor: &ActorId) -> Option<String> {
        self.users
            .get(tenant, actor)
            .and_then(|u| u.password_hash().ok())
    }

    /// Appends an audit entry; failing to record refuses the request (fail closed).
    pub(crate) async fn record(
        &self,
        tenant: &TenantId,
        actor: &ActorId,
        action: &str,
        resource: &str,
        ip: Option<IpAddr>,
        metadata: Value,
    ) -> Result<(), ApiError> {
        let metadata = Metadata::parse(&metadata.to_string())
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "bad audit metadata"))?;
        let mut entry = NewEntry::new(actor.clone(), action, resource)
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "bad audit entry"))?
            .with_metadata(metadata);
        if let Some(ip) = ip {
            entry = entry.with_ip(ip);
        }
        self.audit
            .append(tenant, entry)
            .await
            .map(|_| ())
            .map_err(|_| ApiError::unavailable("audit log"))
    }
}
