//! Tamper-evident audit log (docs filled in below).
#![forbid(unsafe_code)]

mod chain;
mod checkpoint;
mod entry;
mod error;
mod hash;
mod log;
pub mod merkle;
mod metadata;
pub mod note;
pub mod ops;
mod pseudonym;
mod redact;
pub mod store;

pub use chain::{ChainHead, ChainVerifier, verify_chain, verify_chain_against};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{
    ENCODING_VERSION, Entry, MAX_ACTION_LEN, MAX_RESOURCE_LEN, MAX_RUN_ID_LEN, NewEntry, RunStep,
};
pub use error::{AuditError, ChainFault};
pub use hash::Hash;
pub use log::{AuditLog, ProvenAppend};
pub use metadata::Metadata;
pub use note::{NoteSigner, NoteVerifier};
pub use pseudonym::{MemorySubjectKeys, Pseudonymizer, SubjectKeys};
pub use redact::{PiiRedactor, Redactor, mask_ip};
pub use store::{
    AppendReceipt, AuditStore, FileStore, MemoryStore, PendingEntry, StoredCheckpoint,
};
