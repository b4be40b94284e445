//! The key-management seam: wrap and unwrap data keys under a named key-encryption key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use async_trait::async_trait;
use portcullis_core::{KeyId, Provider};

use crate::KeysError;
use crate::aead::{AeadKey, KEY_LEN, NONCE_LEN, nonce_from_slice};
use crate::derive::put_lp;
use crate::keyring::{KeyVersion, MasterKey};
use crate::secret_key::secret_key_type;

#[cfg(feature = "aws-kms")]
mod aws;
#[cfg(feature = "aws-kms")]
pub use aws::{AwsKms, AwsKmsError};
#[cfg(feature = "vault-transit")]
mod vault;
#[cfg(feature = "vault-transit")]
pub use vault::{VaultError, VaultTransit, VaultTransitConfig};

secret_key_type! {
    /// A 256-bit data key in plaintext. Zeroized on drop, `Debug` redacted.
    pub struct DataKey;

    /// Wraps 32 bytes.
    fn new;

    /// Copies 32 bytes from a slice (for KMS implementations).
    ///
    /// # Errors
    /// [`KeysError::KeyLength`] unless exactly 32 bytes.
    fn from_slice;

    /// Generates a random data key.
    ///
    /// # Errors
    /// [`KeysError::Random`] if the generator fails.
    fn generate;

    /// The key bytes.
    fn expose_secret;
}

/// A data key encrypted by a KMS: opaque bytes, safe to store and print.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WrappedKey(Vec<u8>);

impl WrappedKey {
    /// Wraps the bytes a KMS returned.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A data key fresh from [`Kms::generate_data_key`]: the plaintext for immediate use (never
/// stored) and its wrapped form (stored with the data).
#[derive(Debug)]
pub struct GeneratedKey {
    /// The plaintext data key.
    pub plaintext: DataKey,
    /// The same key wrapped under the KEK, bound to the context.
    pub wrapped: WrappedKey,
}

/// Key-value pairs the KMS binds to a wrapped key (AWS "encryption context", Vault
/// "context"); unwrapping needs exactly the same pairs. Never put secrets in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsContext(BTreeMap<String, String>);

impl KmsContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pair (builder style).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// The pairs, sorted by key.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Canonical encoding: `count (u32 BE)` then `lp(key) || lp(value)` per pair in key
    /// order, `lp(x) = len(x) (u32 BE) || x`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let count = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (k, v) in &self.0 {
            put_lp(&mut out, k.as_bytes());
            put_lp(&mut out, v.as_bytes());
        }
        out
    }
}

/// A key-management service holding key-encryption keys (KEKs) that never leave it.
///
/// Implement it for AWS KMS (`Encrypt`/`Decrypt` with an encryption context), GCP KMS
/// (additional authenticated data = [`KmsContext::encode`]), Vault Transit (`context`) or
/// an HSM. Each method is one call to the service. Errors from the service are
/// [`KeysError::Backend`]; a wrapped key that does not authenticate is
/// [`KeysError::Decrypt`]; callers fail closed on both.
#[async_trait]
pub trait Kms: Send + Sync + fmt::Debug {
    /// Creates a new 256-bit data key and returns it both in plaintext and wrapped under
    /// `kek`, bound to `context` (AWS KMS `GenerateDataKey`, Vault Transit
    /// `datakey/plaintext`; a local KMS draws it from its injected generator).
    ///
    /// # Errors
    /// [`KeysError::UnknownKek`], [`KeysError::Random`] or [`KeysError::Backend`].
    async fn generate_data_key(
        &self,
        kek: &KeyId,
        context: &KmsContext,
    ) -> Result<GeneratedKey, KeysError>;

    /// Encrypts `data_key` under the KEK named `kek`, bound to `context`.
    ///
    /// # Errors
    /// [`KeysError::UnknownKek`] or [`KeysError::Backend`].
    async fn wrap(
        &self,
        kek: &KeyId,
        data_key: &DataKey,
        context: &KmsContext,
    ) -> Result<WrappedKey, KeysError>;

    /// Decrypts a wrapped key; fails unless `kek` and `context` match the wrap.
    ///
    /// # Errors
    /// [`KeysError::UnknownKek`], [`KeysError::Decrypt`] or [`KeysError::Backend`].
    async fn unwrap(
        &self,
        kek: &KeyId,
        wrapped: &WrappedKey,
        context: &KmsContext,
    ) -> Result<DataKey, KeysError>;
}

const LOCAL_KMS_FORMAT: u8 = 0x01;
const LOCAL_KMS_LABEL: &[u8] = b"portcullis-keys/local-kms/v1";

/// A [`Kms`] backed by in-process 256-bit KEKs (AES-256-GCM, random nonce).
///
/// For tests, development and single-host deployments whose KEK comes from a file or
/// environment secret. Wrapped key: `0x01 || nonce (12) || AES-256-GCM(kek, data key)
/// (32) || tag (16)` = 61 bytes; AAD = `lp("portcullis-keys/local-kms/v1") || lp(kek id)
/// || context.encode()`.
#[derive(Debug)]
pub struct LocalKms {
    keks: HashMap<KeyId, AeadKey>,
    provider: Provider,
}

impl LocalKms {
    /// An empty local KMS.
    pub fn new(provider: Provider) -> Self {
        Self {
            keks: HashMap::new(),
            provider,
        }
    }

    /// Adds a KEK (builder style).
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] if `id` is already present.
    pub fn with_kek(mut self, id: KeyId, kek: &MasterKey) -> Result<Self, KeysError> {
        if self.keks.contains_key(&id) {
            return Err(KeysError::InvalidInput {
                what: "duplicate kek id",
                value: id.as_str().to_owned(),
            });
        }
        let key = AeadKey::new(kek.expose_secret())?;
        self.keks.insert(id, key);
        Ok(self)
    }

    fn kek(&self, id: &KeyId) -> Result<&AeadKey, KeysError> {
        self.keks
            .get(id)
            .ok_or_else(|| KeysError::UnknownKek(id.as_str().to_owned()))
    }

    fn aad(kek: &KeyId, context: &KmsContext) -> Vec<u8> {
        let mut aad = Vec::new();
        put_lp(&mut aad, LOCAL_KMS_LABEL);
        put_lp(&mut aad, kek.as_str().as_bytes());
        aad.extend_from_slice(&context.encode());
        aad
    }
}

#[async_trait]
impl Kms for LocalKms {
    async fn generate_data_key(
        &self,
        kek: &KeyId,
        context: &KmsContext,
    ) -> Result<GeneratedKey, KeysError> {
        // Look the KEK up first, so an unknown KEK costs no randomness.
        self.kek(kek)?;
        let plaintext = DataKey::generate(&self.provider)?;
        let wrapped = self.wrap(kek, &plaintext, context).await?;
        Ok(GeneratedKey { plaintext, wrapped })
    }

    async fn wrap(
        &self,
        kek: &KeyId,
        data_key: &DataKey,
        context: &KmsContext,
    ) -> Result<WrappedKey, KeysError> {
        let key = self.kek(kek)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + KEY_LEN + 16);
        out.push(LOCAL_KMS_FORMAT);
        key.seal_random_nonce_into(
            &self.provider,
            &Self::aad(kek, context),
            data_key.expose_secret(),
            &mut out,
        )?;
        Ok(WrappedKey(out))
    }

    async fn unwrap(
        &self,
        kek: &KeyId,
        wrapped: &WrappedKey,
        context: &KmsContext,
    ) -> Result<DataKey, KeysError> {
        let key = self.kek(kek)?;
        let (&format, rest) = wrapped.0.split_first().ok_or(KeysError::Decrypt)?;
        if format != LOCAL_KMS_FORMAT {
            return Err(KeysError::Decrypt);
        }
        let (nonce, body) = rest.split_at_checked(NONCE_LEN).ok_or(KeysError::Decrypt)?;
        let nonce = nonce_from_slice(nonce).ok_or(KeysError::Decrypt)?;
        let plain = key.open(&nonce, &Self::aad(kek, context), body)?;
        DataKey::from_slice(plain.expose_secret()).map_err(|_| KeysError::Decrypt)
    }
}

fn master_context(version: KeyVersion) -> KmsContext {
    KmsContext::new()
        .with("portcullis.purpose", "master-key")
        .with("portcullis.key-version", version.to_string())
}

/// Wraps a master key under a KMS KEK for storage (so the KMS backs the key ring).
///
/// # Errors
/// As for [`Kms::wrap`].
pub async fn wrap_master_key(
    kms: &dyn Kms,
    kek: &KeyId,
    version: KeyVersion,
    key: &MasterKey,
) -> Result<WrappedKey, KeysError> {
    let data = DataKey::from_slice(key.expose_secret())?;
    kms.wrap(kek, &data, &master_context(version)).await
}

/// Unwraps a stored master key with the KMS (at start-up, to build a [`crate::MasterKeys`]).
/// The version is bound in the KMS context, so a wrapped key cannot be loaded as another
/// version.
///
/// # Errors
/// As for [`Kms::unwrap`].
pub async fn unwrap_master_key(
    kms: &dyn Kms,
    kek: &KeyId,
    version: KeyVersion,
    wrapped: &WrappedKey,
) -> Result<MasterKey, KeysError> {
    let data = kms.unwrap(kek, wrapped, &master_context(version)).await?;
    MasterKey::from_slice(data.expose_secret())
}
