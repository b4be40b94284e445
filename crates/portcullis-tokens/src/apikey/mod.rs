//! API keys: long-lived credentials for machines, shown once, stored as hashes.
//!
//! The format is specified in [`format`](mod@format). Verification order: layout and checksum (no
//! store access, so typos and garbage cost nothing), then one store lookup by id, then a
//! constant-time comparison of SHA-256 hashes, then revocation and expiry (only for keys
//! whose secret matched, so a guesser learns nothing about a key's status).

pub mod format;
mod service;
mod store;

pub use service::{ApiKeys, NewApiKey};
pub use store::{ApiKeyRecord, ApiKeyStore, MAX_API_KEYS_PER_OWNER};
