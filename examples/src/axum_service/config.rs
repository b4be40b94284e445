//! The service's configuration: issuer, audience, webhook secret and the demo user table.

use portcullis_core::{ActorId, SecretString, TenantId};

use super::ServiceError;

/// One user of the demo configuration: the seed of the service's user table.
///
/// The password is here only so the example runs without a user database: [`App::new`]
/// hashes it at start-up (Argon2id with `portcullis-passwords`, or bcrypt for a user
/// marked [`DemoUser::with_imported_bcrypt`]), keeps only the hash and drops the
/// password; logins are verified against the stored hash.
///
/// [`App::new`]: super::App::new
#[derive(Debug, Clone)]
pub struct DemoUser {
    /// The tenant the user belongs to.
    pub tenant: TenantId,
    /// The user's id (the token's `sub`).
    pub actor: ActorId,
    /// The demo password, hashed at start-up.
    pub password: SecretString,
    /// Role names in the RBAC policy.
    pub roles: Vec<String>,
    /// Whether the user starts with a bcrypt hash (`$2b$`, cost 4) instead of Argon2id:
    /// it stands for a hash imported from an older system, and is replaced by an
    /// Argon2id hash at the user's first successful login.
    pub imported_bcrypt: bool,
}

impl DemoUser {
    /// A user of `tenant` named `actor` with `password` and `roles`.
    ///
    /// # Errors
    ///
    /// [`ServiceError::Config`] if the tenant or actor id is invalid.
    pub fn new(
        tenant: &str,
        actor: &str,
        password: &str,
        roles: &[&str],
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            tenant: tenant
                .parse()
                .map_err(|e| ServiceError::Config(format!("tenant `{tenant}`: {e}")))?,
            actor: actor
                .parse()
                .map_err(|e| ServiceError::Config(format!("actor `{actor}`: {e}")))?,
            password: SecretString::new(password.to_owned()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            imported_bcrypt: false,
        })
    }

    /// The same user, stored with a bcrypt hash at start-up (see
    /// [`DemoUser::imported_bcrypt`]).
    #[must_use]
    pub fn with_imported_bcrypt(mut self) -> Self {
        self.imported_bcrypt = true;
        self
    }
}

/// What the service needs to start.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The `iss` of access tokens.
    pub issuer: String,
    /// The `aud` of access tokens.
    pub audience: String,
    /// Stripe endpoint secrets (`whsec_...`); several during a rotation.
    pub stripe_secrets: Vec<SecretString>,
    /// The audit log's checkpoint signer key (`PRIVATE+KEY+...`); a fresh key is generated
    /// at start-up when absent.
    pub audit_signer_key: Option<SecretString>,
    /// Who may log in: the seed of the user table, whose passwords [`App::new`] hashes.
    ///
    /// [`App::new`]: super::App::new
    pub users: Vec<DemoUser>,
}

/// The Stripe secret of the demo configuration.
pub const DEMO_STRIPE_SECRET: &str = "whsec_portcullis_axum_demo";

impl ServiceConfig {
    /// The demo configuration with tenants `acme` and `globex`.
    ///
    /// # Errors
    ///
    /// As [`ServiceConfig::demo_with_tenants`].
    pub fn demo() -> Result<Self, ServiceError> {
        Self::demo_with_tenants("acme", "globex")
    }

    /// The demo configuration with two tenants of your choice (tests use unique names):
    ///
    /// | tenant | user | password | roles |
    /// |---|---|---|---|
    /// | first | `alice` | `alice-demo-password` | `admin` |
    /// | first | `victor` | `victor-demo-password` | `viewer` |
    /// | second | `gina` | `gina-demo-password` | `admin` |
    /// | first | `lena` | `lena-demo-password` | `viewer` (bcrypt hash, imported) |
    ///
    /// `lena`'s hash starts as bcrypt, standing for one imported from an older system; her
    /// first login upgrades it to Argon2id.
    ///
    /// Stripe secret [`DEMO_STRIPE_SECRET`], issuer `https://auth.portcullis.example`,
    /// audience `portcullis-demo`.
    ///
    /// # Errors
    ///
    /// [`ServiceError::Config`] if a tenant name is not a valid tenant id.
    pub fn demo_with_tenants(first: &str, second: &str) -> Result<Self, ServiceError> {
        Ok(Self {
            issuer: "https://auth.portcullis.example".to_owned(),
            audience: "portcullis-demo".to_owned(),
            stripe_secrets: vec![SecretString::new(DEMO_STRIPE_SECRET.to_owned())],
            audit_signer_key: None,
            users: vec![
                DemoUser::new(first, "alice", "alice-demo-password", &["admin"])?,
                DemoUser::new(first, "victor", "victor-demo-password", &["viewer"])?,
                DemoUser::new(second, "gina", "gina-demo-password", &["admin"])?,
                DemoUser::new(first, "lena", "lena-demo-password", &["viewer"])?
                    .with_imported_bcrypt(),
            ],
        })
    }

    /// The user `actor` of `tenant` in this configuration, if any.
    pub fn user(&self, tenant: &TenantId, actor: &ActorId) -> Option<&DemoUser> {
        self.users
            .iter()
            .find(|u| &u.tenant == tenant && &u.actor == actor)
    }

    /// Whether some user of this configuration belongs to `tenant`.
    pub fn knows_tenant(&self, tenant: &TenantId) -> bool {
        self.users.iter().any(|u| &u.tenant == tenant)
    }
}
