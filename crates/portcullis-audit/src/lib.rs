//! Tamper-evident, append-only audit logs that a customer or auditor can verify without
//! trusting the server.
//!
//! Every meaningful action becomes an [`Entry`] in its tenant's log. Entries have a
//! versioned canonical binary encoding; each entry's SHA-256 hash covers the previous
//! entry's hash, forming one hash chain per tenant ([`verify_chain`] names the first bad
//! seq). Over the same entries sits an RFC 6962 Merkle tree ([`MerkleTree`]) with inclusion
//! and consistency proofs, and signed checkpoints ([`Checkpoint`]) in the C2SP
//! tlog-checkpoint / signed-note format with Ed25519 keys ([`NoteSigner`]). Redactors
//! ([`PiiRedactor`], [`Pseudonymizer`]) run before hashing. Storage sits behind the async
//! [`AuditStore`] trait, with [`MemoryStore`] and the append-only JSON-lines
//! [`FileStore`]; [`AuditLog`] ties them together, and the `*_log_file` functions ([`verify_log_file`]) are the one-call
//! operations of the command-line tool.
//!
//! # When not to use it
//!
//! - As a general event store or analytics pipeline: entries are small, validated and
//!   immutable; queries beyond "range of seqs" are not offered.
//! - For secrets: anything appended is kept forever in every copy of the log. Redact or
//!   pseudonymize personal data before it is hashed (see below); the log cannot forget.
//! - Alone, as proof against a malicious operator: a chain can be rewritten end to end by
//!   whoever holds the store. Tamper-evidence comes from checkpoints that leave the
//!   operator's hands (customers, auditors, a witness) and are compared later.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_audit::{leaf_hash, verify_inclusion, AuditLog, MemoryStore, Metadata, NewEntry, NoteSigner, PiiRedactor};
//! use portcullis_core::{ActorId, Provider, TenantId};
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let signer = NoteSigner::generate("audit.example.com", &Provider::system())?;
//! let verifier = signer.verifier(); // publish `verifier.to_string()` to customers
//! let log = AuditLog::new(Arc::new(MemoryStore::new()), Provider::system())
//!     .with_redactor(Arc::new(PiiRedactor::new()))
//!     .with_signer(signer);
//!
//! let tenant: TenantId = "acme".parse()?;
//! let entry = NewEntry::new(ActorId::new("alice")?, "invoice.approve", "invoices/42")?
//!     .with_ip("203.0.113.7".parse()?)
//!     .with_metadata(Metadata::parse(r#"{"amount_cents": 125000, "note": "ok by bob@example.com"}"#)?);
//! let receipt = log.append(&tenant, entry).await?;
//! assert_eq!(receipt.seq, 0);
//!
//! // A signed checkpoint, and a proof that the entry is in it.
//! let proven = log.append_with_proof(&tenant, NewEntry::new(ActorId::new("bob")?, "invoice.pay", "invoices/42")?).await?;
//! let cp = portcullis_audit::Checkpoint::open(&proven.checkpoint.note, &verifier, "audit.example.com/acme")?;
//! let leaf = leaf_hash(proven.receipt.hash.as_bytes());
//! verify_inclusion(leaf.as_bytes(), proven.receipt.seq, cp.size(), &proven.proof, cp.root().as_bytes())?;
//!
//! // The whole chain verifies against the latest checkpoint.
//! assert_eq!(log.verify(&tenant).await?.size, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! This crate has no optional features.
//!
//! | Module / type | What it does |
//! | --- | --- |
//! | [`Entry`], [`NewEntry`], [`Metadata`] | entries, canonical encoding, canonical JSON |
//! | [`verify_chain`], [`ChainVerifier`] | chain verification naming the first bad seq |
//! | [`MerkleTree`], [`leaf_hash`], [`verify_inclusion`], [`verify_consistency`] | RFC 6962 hashing, proofs, strict verifiers |
//! | [`NoteSigner`], [`NoteVerifier`], [`Checkpoint`] | C2SP signed notes (Ed25519) and tlog checkpoints |
//! | [`Redactor`], [`PiiRedactor`], [`Pseudonymizer`] | redaction before hashing |
//! | [`AuditStore`], [`MemoryStore`], [`FileStore`] | storage seam and two stores |
//! | [`AuditLog`] | redact, timestamp, append, checkpoint, prove, verify |
//! | [`verify_log_file`], [`append_to_file_store`], [`checkpoint_log_file`], [`keygen`] | one-call CLI operations on log files |
//!
//! # Entry encoding (version 1)
//!
//! The entry hash is `SHA-256(encoding)`. All integers are big-endian; `str` fields are a
//! `u32` byte length followed by UTF-8 bytes.
//!
//! | # | Field | Bytes |
//! | --- | --- | --- |
//! | 1 | version | `u8` = `0x01` |
//! | 2 | tenant | `u32` length + [`portcullis_core::TenantId`] bytes |
//! | 3 | seq | `u64` (0 for the tenant's first entry, gapless) |
//! | 4 | prev | 32 bytes: previous entry's hash, all zero for seq 0 |
//! | 5 | time | `u64` milliseconds since the Unix epoch |
//! | 6 | actor | `u32` length + [`portcullis_core::ActorId`] bytes |
//! | 7 | action | `u32` length + 1-128 bytes of `[A-Za-z0-9][A-Za-z0-9_.:-]*` |
//! | 8 | resource | `u32` length + 0-1024 bytes of UTF-8 without control characters |
//! | 9 | ip | `0x00` (none), or `0x04` + 4 bytes, or `0x06` + 16 bytes |
//! | 10 | run | `0x00` (none), or `0x01` + `u32` length + run id (as action's alphabet) + `u64` step |
//! | 11 | metadata | `u32` length + canonical JSON (see [`Metadata`]: a top-level object, keys sorted by UTF-8 bytes and unique, no whitespace, integers only in `-2^63 ..= 2^64-1`, floats and `-0` rejected, fixed string escapes) |
//!
//! Test vector (tenant `acme`, seq 0, prev zero, time 1 700 000 000 000 ms, actor `alice`,
//! action `user.login`, resource `app`, no ip, no run, metadata `{}`):
//!
//! ```text
//! 01
//! 00000004 61636d65
//! 0000000000000000
//! 0000000000000000000000000000000000000000000000000000000000000000
//! 0000018bcfe56800
//! 00000005 616c696365
//! 0000000a 757365722e6c6f67696e
//! 00000003 617070
//! 00
//! 00
//! 00000002 7b7d
//! entry hash  c8a83fad17deace065c2b2bdbe6330e63edd01d2dc920bc0535533900eeddf97
//! ```
//!
//! Two more vectors (IPv4/IPv6, run step, escapes, non-ASCII, extreme integers) are in
//! `tests/vectors/entry_encoding.json`, computed independently from this table.
//!
//! The stored form (file store, exports) is one JSON object per line:
//! `{"v":1,"tenant":..,"seq":..,"prev":"<hex>","time_ms":..,"actor":..,"action":..,
//! "resource":..,"ip":"<addr>"|null,"run":{"id":..,"step":..}|null,"metadata":{..},
//! "hash":"<hex>"}`. Unknown fields are rejected. The JSON form is a transport; only the
//! binary encoding above is hashed.
//!
//! # Merkle tree and checkpoints
//!
//! The Merkle leaf of entry `seq` is `SHA-256(0x00 || entry hash)`; interior nodes are
//! `SHA-256(0x01 || left || right)`; the tree over a tenant's first `n` entries follows
//! RFC 6962 (no odd-node duplication; the empty tree's root is `SHA-256("")`).
//!
//! A checkpoint is a C2SP signed note whose text is
//!
//! ```text
//! <log name>/<tenant>\n      origin: one per tenant; the log name defaults to the key name
//! <tree size>\n              decimal, no leading zeros
//! <root>\n                   standard base64 of the 32-byte Merkle root
//!
//! — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>\n
//! ```
//!
//! Keys use the signed-note encodings: verifier `name+hash+base64(0x01||public key)`,
//! signer `PRIVATE+KEY+name+hash+base64(0x01||seed)`, where `hash` is the first 4 bytes of
//! `SHA-256(name || "\n" || 0x01 || public key)` in hex. Signing is checked against Go's
//! `golang.org/x/mod/sumdb/note` vector.
//!
//! # Verification guide (for a customer or auditor)
//!
//! You need: the operator's verifier key (pinned once, out of band), your tenant id, and
//! an export of your log (the JSON lines). Keep every checkpoint you receive.
//!
//! 1. **Open the checkpoint**: [`Checkpoint::open`] with the pinned [`NoteVerifier`] and
//!    origin `<log name>/<tenant>`. A wrong key fails as "invalid signature"; a checkpoint
//!    of another tenant fails as an origin mismatch.
//! 2. **Verify the chain**: [`verify_log_file`] (or [`verify_chain`]) recomputes
//!    every hash and link; it prints `ok: <n> entries` or names the first bad seq and the
//!    fault (hash mismatch, broken link, gap, reorder, wrong tenant, malformed).
//! 3. **Compare with the checkpoint**: with a [`CheckpointCheck`], the first `size`
//!    entries must reproduce the signed root. Fewer entries is truncation; another root is
//!    a rewrite, even a perfectly rehashed one.
//! 4. **Check consistency over time**: for a newer checkpoint, ask the operator for the
//!    consistency proof between the two sizes and check it with
//!    [`Checkpoint::verify_extended_by`]: the newer log must extend the older one.
//! 5. **Spot-check single entries**: for one entry, an inclusion proof against a checkpoint
//!    ([`verify_inclusion`] with the entry's leaf hash) proves it is in the log
//!    without downloading the rest.
//!
//! # Security considerations
//!
//! - The chain alone detects accidental and partial tampering; only checkpoints held by
//!   someone other than the operator detect a complete rewrite. Publish checkpoints
//!   (daily, or per request with [`AuditLog::append_with_proof`]) and have customers keep
//!   them.
//! - Signature failures are opaque ("invalid signature"); structural failures are
//!   specific. Merkle verifiers are strict: wrong proof lengths, index ≥ size, size 0 and
//!   hashes that are not 32 bytes are rejected before hashing, and roots compare in
//!   constant time.
//! - Leaves and nodes are domain-separated (`0x00`/`0x01`), and every variable-length field
//!   of the encoding is length-prefixed, so no two different entries or trees share bytes.
//! - Redaction happens before hashing: what a redactor removes is never stored. The
//!   built-in [`PiiRedactor`] is pattern based and may miss unusual formats or redact
//!   harmless digit strings; treat it as a safety net, not as the place where personal
//!   data is decided. Pseudonym keys ([`SubjectKeys`]) must live outside the log and its
//!   backups; erasing a key makes its pseudonyms unlinkable while the chain still
//!   verifies.
//! - Signer keys are zeroized on drop and never printed; store the `PRIVATE+KEY` string as
//!   a secret.
//! - Entry time comes from the injected [`portcullis_core::Clock`] and is not proof of time:
//!   a checkpoint shows an entry existed no later than when the checkpoint was received.
//! - The file store blocks its executor thread on `fsync`; a torn last line stops all
//!   operations on that tenant until an operator repairs the file.
#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod chain;
mod checkpoint;
mod entry;
mod error;
mod hash;
mod log;
mod merkle;
mod metadata;
mod note;
mod ops;
mod pseudonym;
mod redact;
mod store;

pub use chain::{ChainHead, ChainVerifier, verify_chain, verify_chain_against};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{
    ENCODING_VERSION, Entry, MAX_ACTION_LEN, MAX_RESOURCE_LEN, MAX_RUN_ID_LEN, NewEntry, RunStep,
};
pub use error::{AuditError, ChainFault};
pub use hash::Hash;
pub use log::{AuditLog, ProvenAppend};
pub use merkle::{
    MerkleTree, empty_root, leaf_hash, node_hash, root_of, verify_consistency, verify_inclusion,
};
pub use metadata::Metadata;
pub use note::{MAX_SIGNATURES, NoteSigner, NoteVerifier};
pub use ops::{
    AppendRequest, CheckpointCheck, GeneratedKeys, VerifyReport, append_to_file_store,
    checkpoint_log_file, keygen, verify_lines, verify_log_file,
};
pub use pseudonym::{MemorySubjectKeys, Pseudonymizer, SubjectKeys};
pub use redact::{PiiRedactor, Redactor, mask_ip};
pub use store::{
    AppendReceipt, AuditStore, FileStore, MemoryStore, PendingEntry, StoredCheckpoint, seal_batch,
};
