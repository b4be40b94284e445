//! Portcullis keys (docs below are completed in lib docs).
#![forbid(unsafe_code)]

mod aead;
mod cache;
mod derive;
pub mod envelope;
mod error;
pub mod format;
mod keyring;
pub mod kms;
pub mod resolver;
pub mod rotation;
mod sealer;
mod usage;

pub use cache::CacheStats;
pub use derive::{Purpose, TenantSalt};
pub use envelope::{Envelope, EnvelopeConfig, EnvelopeStats};
pub use error::KeysError;
pub use format::{BlobHeader, inspect};
pub use keyring::{KeyVersion, Keyring, KeyringStatus, MasterKey};
pub use kms::{DataKey, Kms, KmsContext, LocalKms, WrappedKey};
pub use resolver::{
    EnvFallback, ResolverConfig, ResolverStats, SecretName, SecretResolver, SecretSource,
};
pub use rotation::{
    BlobId, BlobSink, BlobSource, ReencryptInterrupted, ReencryptOptions, ReencryptReport,
    ReplaceOutcome, StoredBlob,
};
pub use sealer::{Reencrypted, Sealer, SealerConfig};
pub use usage::{UsagePolicy, UsageState, VersionUsage};
