//! Keyed pseudonyms for subject ids, with per-subject keys held outside the log.
//!
//! A subject id (a user id, an email) is replaced before hashing by
//! `psn:` + base64url-no-pad of the first 16 bytes of
//! `HMAC-SHA256(subject key, "portcullis-audit/pseudonym/v1" || 0x00 || tenant || 0x00 || subject)`.
//! The subject key is 32 random bytes kept in a [`SubjectKeys`] store, never in the log.
//! Whoever holds the key can test whether a pseudonym belongs to a subject; erasing the
//! key (crypto-shredding) leaves the log verifiable while the pseudonym can no longer be
//! linked to anyone.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use portcullis_core::{ActorId, BackendError, Provider, SecretArray, TenantId};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::entry::NewEntry;
use crate::error::AuditError;
use crate::metadata::{Json, Metadata};
use crate::redact::Redactor;

/// Where per-subject keys live (a KMS-backed table, a separate database): never the log.
///
/// Synchronous because redaction runs inside append; a remote implementation should cache.
pub trait SubjectKeys: Send + Sync + Debug {
    /// The key of `subject` in `tenant`, created if it does not exist yet.
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] if the key store fails (the append is then refused).
    fn key_for(&self, tenant: &TenantId, subject: &str) -> Result<SecretArray<32>, AuditError>;

    /// The key of `subject` if it exists (erased keys do not).
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] if the key store fails.
    fn existing_key(
        &self,
        tenant: &TenantId,
        subject: &str,
    ) -> Result<Option<SecretArray<32>>, AuditError>;

    /// Erases the key of `subject`, returning whether one existed.
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] if the key store fails.
    fn erase(&self, tenant: &TenantId, subject: &str) -> Result<bool, AuditError>;
}

type KeyMap = HashMap<(TenantId, String), SecretArray<32>>;

/// In-memory [`SubjectKeys`] (tests, single-process deployments).
#[derive(Debug)]
pub struct MemorySubjectKeys {
    provider: Provider,
    keys: Mutex<KeyMap>,
}

impl MemorySubjectKeys {
    /// An empty key store drawing keys from `provider`'s generator.
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, KeyMap>, AuditError> {
        self.keys.lock().map_err(|_| {
            AuditError::Backend(BackendError::other("audit.subject_keys", "lock poisoned"))
        })
    }
}

impl SubjectKeys for MemorySubjectKeys {
    fn key_for(&self, tenant: &TenantId, subject: &str) -> Result<SecretArray<32>, AuditError> {
        let mut keys = self.lock()?;
        let id = (tenant.clone(), subject.to_owned());
        if let Some(k) = keys.get(&id) {
            return Ok(k.clone());
        }
        let k = SecretArray::<32>::random(&self.provider)
            .map_err(|e| BackendError::other("audit.subject_keys", e))?;
        keys.insert(id, k.clone());
        Ok(k)
    }

    fn existing_key(
        &self,
        tenant: &TenantId,
        subject: &str,
    ) -> Result<Option<SecretArray<32>>, AuditError> {
        Ok(self
            .lock()?
            .get(&(tenant.clone(), subject.to_owned()))
            .cloned())
    }

    fn erase(&self, tenant: &TenantId, subject: &str) -> Result<bool, AuditError> {
        Ok(self
            .lock()?
            .remove(&(tenant.clone(), subject.to_owned()))
            .is_some())
    }
}

fn compute(key: &SecretArray<32>, tenant: &TenantId, subject: &str) -> Result<String, AuditError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret())
        .map_err(|_| AuditError::Redaction("bad pseudonym key".into()))?;
    mac.update(b"portcullis-audit/pseudonym/v1\0");
    mac.update(tenant.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(subject.as_bytes());
    let tag = mac.finalize().into_bytes();
    let short = tag
        .get(..16)
        .ok_or_else(|| AuditError::Redaction("short tag".into()))?;
    Ok(format!("psn:{}", URL_SAFE_NO_PAD.encode(short)))
}

/// Replaces subject ids with keyed pseudonyms: the actor (if enabled) and the named
/// top-level metadata fields whose values are strings.
#[derive(Debug, Clone)]
pub struct Pseudonymizer {
    keys: Arc<dyn SubjectKeys>,
    actor: bool,
    fields: Vec<String>,
}

impl Pseudonymizer {
    /// A pseudonymizer with keys from `keys`, touching nothing until configured.
    pub fn new(keys: Arc<dyn SubjectKeys>) -> Self {
        Self {
            keys,
            actor: false,
            fields: Vec::new(),
        }
    }

    /// Also pseudonymizes the actor.
    #[must_use]
    pub fn actor(mut self, on: bool) -> Self {
        self.actor = on;
        self
    }

    /// Pseudonymizes these top-level metadata fields.
    #[must_use]
    pub fn metadata_fields<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        fields: I,
    ) -> Self {
        self.fields.extend(fields.into_iter().map(Into::into));
        self
    }

    /// The pseudonym of `subject` in `tenant` (creating its key if needed).
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] if the key store fails.
    pub fn pseudonym(&self, tenant: &TenantId, subject: &str) -> Result<String, AuditError> {
        compute(&self.keys.key_for(tenant, subject)?, tenant, subject)
    }

    /// Whether `pseudonym` is `subject`'s (in constant time); `false` once the key is erased.
    ///
    /// # Errors
    ///
    /// [`AuditError::Backend`] if the key store fails.
    pub fn matches(
        &self,
        tenant: &TenantId,
        subject: &str,
        pseudonym: &str,
    ) -> Result<bool, AuditError> {
        let Some(key) = self.keys.existing_key(tenant, subject)? else {
            return Ok(false);
        };
        let expected = compute(&key, tenant, subject)?;
        Ok(bool::from(expected.as_bytes().ct_eq(pseudonym.as_bytes())))
    }
}

impl Redactor for Pseudonymizer {
    fn redact(&self, tenant: &TenantId, entry: &mut NewEntry) -> Result<(), AuditError> {
        if self.actor {
            let p = self.pseudonym(tenant, entry.actor().as_str())?;
            let actor = ActorId::new(p).map_err(|e| AuditError::Redaction(e.to_string()))?;
            entry.set_actor(actor);
        }
        if !self.fields.is_empty() {
            let mut tree = entry.metadata().tree()?;
            if let Json::Obj(fields) = &mut tree {
                for (k, v) in fields.iter_mut() {
                    if let Json::Str(s) = v {
                        if self.fields.iter().any(|f| f == k) {
                            *s = self.pseudonym(tenant, s)?;
                        }
                    }
                }
            }
            entry.set_metadata(Metadata::from_tree(&tree)?);
        }
        Ok(())
    }
}
