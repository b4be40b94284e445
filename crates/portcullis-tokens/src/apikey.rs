//! API keys: long-lived credentials for machines, shown once, stored as hashes.

pub mod format;
mod memory;
mod service;
mod store;

pub use memory::MemoryApiKeyStore;
pub use service::{ApiKeys, NewApiKey};
pub use store::{ApiKeyRecord, ApiKeyStore, MAX_API_KEY_RECORDS_PER_OWNER, MAX_API_KEYS_PER_OWNER};
