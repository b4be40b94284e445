//! Portcullis keys (docs below are completed in lib docs).
#![forbid(unsafe_code)]

mod aead;
mod cache;
mod derive;
mod error;
pub mod format;
mod keyring;
mod sealer;
mod usage;

pub use cache::CacheStats;
pub use derive::{Purpose, TenantSalt};
pub use error::KeysError;
pub use format::{BlobHeader, inspect};
pub use keyring::{KeyVersion, Keyring, KeyringStatus, MasterKey};
pub use sealer::{Reencrypted, Sealer, SealerConfig};
pub use usage::{UsagePolicy, UsageState, VersionUsage};
