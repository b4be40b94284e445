//! One call that opens every blob this crate writes.

use std::sync::Arc;

use portcullis_core::{SecretBytes, TenantId};

use crate::KeysError;
use crate::derive::TenantSalt;
use crate::envelope::Envelope;
use crate::format::{self, Source};
use crate::sealer::Sealer;

/// Opens any blob of this crate — [`Sealer`] blobs (formats 3 and 1) and [`Envelope`]
/// blobs (formats 3 and 2) — by reading its format and key source, so a service whose
/// rows hold old and new blobs, or both kinds, calls one function.
///
/// ```
/// # use std::sync::Arc;
/// # use portcullis_core::{KeyId, Provider, TenantId};
/// # use portcullis_keys::*;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Provider::system();
/// let sealer = Arc::new(Sealer::new(
///     Purpose::new("credentials")?,
///     MasterKeys::new(KeyVersion::new(1)?, MasterKey::generate(&provider)?),
///     provider.clone(),
/// ));
/// let kek = KeyId::new("kek-1")?;
/// let kms = LocalKms::new(provider.clone()).with_kek(kek.clone(), &MasterKey::generate(&provider)?)?;
/// let envelope = Arc::new(Envelope::new(Arc::new(kms), kek, provider, EnvelopeConfig::default()));
/// let opener = Opener::new().with_sealer(Arc::clone(&sealer)).with_envelope(Arc::clone(&envelope));
///
/// let acme: TenantId = "acme".parse()?;
/// let a = sealer.seal(&acme, b"row:1", b"one")?;
/// let b = envelope.seal(&acme, b"row:2", b"two").await?;
/// assert_eq!(opener.open(&acme, b"row:1", &a).await?.expose_secret(), b"one");
/// assert_eq!(opener.open(&acme, b"row:2", &b).await?.expose_secret(), b"two");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Opener {
    sealer: Option<Arc<Sealer>>,
    envelope: Option<Arc<Envelope>>,
}

impl Opener {
    /// An opener with no keys (add a sealer, an envelope or both).
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens sealer blobs with `sealer` (builder style).
    #[must_use]
    pub fn with_sealer(mut self, sealer: Arc<Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Opens envelope blobs with `envelope` (builder style).
    #[must_use]
    pub fn with_envelope(mut self, envelope: Arc<Envelope>) -> Self {
        self.envelope = Some(envelope);
        self
    }

    /// Opens `blob` for `tenant` and `context`, whatever its format.
    ///
    /// # Errors
    /// [`KeysError::OtherKeySource`] if the blob's kind has no keys here, else the errors
    /// of [`Sealer::open`] or [`Envelope::open`].
    pub async fn open(
        &self,
        tenant: &TenantId,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        self.open_inner(tenant, None, context, blob).await
    }

    /// Like [`Opener::open`] for a tenant with a crypto-shredding salt. Envelope blobs
    /// are never salted, so an envelope blob is refused here rather than opened with the
    /// salt ignored.
    ///
    /// # Errors
    /// As for [`Opener::open`]; [`KeysError::InvalidInput`] for an envelope blob.
    pub async fn open_salted(
        &self,
        tenant: &TenantId,
        salt: &TenantSalt,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        self.open_inner(tenant, Some(salt), context, blob).await
    }

    async fn open_inner(
        &self,
        tenant: &TenantId,
        salt: Option<&TenantSalt>,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        match format::parse(blob)?.source {
            Source::Derived(_) => {
                let sealer = self
                    .sealer
                    .as_ref()
                    .ok_or(KeysError::OtherKeySource("a sealed"))?;
                match salt {
                    Some(salt) => sealer.open_salted(tenant, salt, context, blob),
                    None => sealer.open(tenant, context, blob),
                }
            }
            Source::Envelope { .. } => {
                let envelope = self
                    .envelope
                    .as_ref()
                    .ok_or(KeysError::OtherKeySource("an envelope"))?;
                if salt.is_some() {
                    return Err(KeysError::InvalidInput {
                        what: "salt",
                        value: "given for an envelope blob, which is never salted".to_owned(),
                    });
                }
                envelope.open(tenant, context, blob).await
            }
        }
    }
}
