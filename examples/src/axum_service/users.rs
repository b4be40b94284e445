//! The user table: each user's roles and password hash (never the password), built at
//! start-up from the demo configuration.

use std::collections::HashMap;
use std::sync::RwLock;

use portcullis_core::{ActorId, Provider, TenantId, random_array};
use portcullis_passwords::Passwords;

use super::config::DemoUser;
use super::error::{ApiError, ServiceError};

/// bcrypt cost of the imported demo hash: the minimum, so start-up and tests stay fast (a
/// real import carries whatever cost the older system used).
const IMPORTED_BCRYPT_COST: u32 = 4;

/// One user as the service stores it.
#[derive(Debug)]
pub(crate) struct StoredUser {
    /// Role names in the RBAC policy.
    pub(crate) roles: Vec<String>,
    /// A PHC string (`$argon2id$...`) or an imported legacy hash (`$2b$...`); replaced
    /// when a login finds it below the current policy.
    password_hash: RwLock<String>,
}

impl StoredUser {
    /// A copy of the stored hash.
    pub(crate) fn password_hash(&self) -> Result<String, ApiError> {
        self.password_hash
            .read()
            .map(|h| h.clone())
            .map_err(|_| ApiError::unavailable("user table"))
    }

    /// Replaces the stored hash with `new` if it is still `old`, and says whether it did:
    /// of two logins that verified the same old hash, only the first one replaces it.
    pub(crate) fn replace_password_hash(&self, old: &str, new: String) -> Result<bool, ApiError> {
        let mut stored = self
            .password_hash
            .write()
            .map_err(|_| ApiError::unavailable("user table"))?;
        if stored.as_str() != old {
            return Ok(false);
        }
        *stored = new;
        Ok(true)
    }
}

/// Every user, by tenant then id. The set of users is fixed at start-up; only their
/// password hashes change (each behind its own lock).
#[derive(Debug, Default)]
pub(crate) struct Users {
    tenants: HashMap<TenantId, HashMap<ActorId, StoredUser>>,
}

impl Users {
    /// Hashes each seed's password and keeps the hash only: Argon2id through `passwords`,
    /// or, for a seed marked [`DemoUser::imported_bcrypt`], a bcrypt `$2b$` string at
    /// cost 4 that stands for a hash imported from an older system (the first login
    /// replaces it with Argon2id). The seeds' passwords are dropped here.
    pub(crate) fn hash_seeds(
        seeds: Vec<DemoUser>,
        passwords: &Passwords,
        provider: &Provider,
    ) -> Result<Self, ServiceError> {
        let mut users = Self::default();
        for seed in seeds {
            let password = seed.password.expose_secret();
            let hash = if seed.imported_bcrypt {
                let salt: [u8; 16] = random_array(provider)?;
                // Refuses a password over bcrypt's 72 bytes instead of truncating it
                // (`portcullis-passwords` would refuse to verify it).
                bcrypt::non_truncating_hash_with_salt(password, IMPORTED_BCRYPT_COST, salt)
                    .map_err(|e| {
                        ServiceError::Config(format!("bcrypt hash of `{}`: {e}", seed.actor))
                    })?
                    .format_for_version(bcrypt::Version::TwoB)
            } else {
                passwords.hash(password)?
            };
            let row = StoredUser {
                roles: seed.roles,
                password_hash: RwLock::new(hash),
            };
            let tenant = users.tenants.entry(seed.tenant.clone()).or_default();
            if tenant.insert(seed.actor.clone(), row).is_some() {
                return Err(ServiceError::Config(format!(
                    "user `{}` of tenant `{}` is configured twice",
                    seed.actor, seed.tenant
                )));
            }
        }
        Ok(users)
    }

    /// The user `actor` of `tenant`, if any.
    pub(crate) fn get(&self, tenant: &TenantId, actor: &ActorId) -> Option<&StoredUser> {
        self.tenants.get(tenant).and_then(|t| t.get(actor))
    }

    /// Whether some user belongs to `tenant`.
    pub(crate) fn knows_tenant(&self, tenant: &TenantId) -> bool {
        self.tenants.contains_key(tenant)
    }
}

/// The scheme of a stored hash, for the audit log (the name only, never hash bytes).
pub(crate) fn scheme_name(hash: &str) -> &'static str {
    let id = hash.split('$').nth(1).unwrap_or_default();
    match id {
        "2a" | "2b" | "2y" => "bcrypt",
        "argon2id" => "argon2id",
        "argon2i" => "argon2i",
        "argon2d" => "argon2d",
        "scrypt" => "scrypt",
        "pbkdf2-sha256" => "pbkdf2-sha256",
        _ => "unknown",
    }
}
