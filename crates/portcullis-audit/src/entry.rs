//! Audit entries and their canonical binary encoding (see the crate docs, "Entry
//! encoding", for the byte-by-byte specification).

use std::net::IpAddr;

use portcullis_core::{ActorId, TenantId, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::hash::Hash;
use crate::metadata::Metadata;

/// Version byte that opens every canonical encoding.
pub const ENCODING_VERSION: u8 = 1;

/// Maximum length of an action name in bytes.
pub const MAX_ACTION_LEN: usize = 128;
/// Maximum length of a resource in bytes.
pub const MAX_RESOURCE_LEN: usize = 1024;
/// Maximum length of a run id in bytes.
pub const MAX_RUN_ID_LEN: usize = 128;

fn check_token(field: &'static str, s: &str, max: usize) -> Result<(), AuditError> {
    if s.is_empty() || s.len() > max {
        return Err(AuditError::field(
            field,
            format!("must be 1 to {max} bytes"),
        ));
    }
    let starts_ok = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    let chars_ok = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if !starts_ok || !chars_ok {
        return Err(AuditError::field(
            field,
            format!(
                "`{}` must match [A-Za-z0-9][A-Za-z0-9_.:-]*",
                s.escape_debug()
            ),
        ));
    }
    Ok(())
}

fn check_resource(s: &str) -> Result<(), AuditError> {
    if s.len() > MAX_RESOURCE_LEN {
        return Err(AuditError::field(
            "resource",
            format!("longer than {MAX_RESOURCE_LEN} bytes"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(AuditError::field(
            "resource",
            "contains a control character",
        ));
    }
    Ok(())
}

/// A workflow run and the step within it that an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RunStepRecord")]
pub struct RunStep {
    id: String,
    step: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunStepRecord {
    id: String,
    step: u64,
}

impl TryFrom<RunStepRecord> for RunStep {
    type Error = AuditError;
    fn try_from(r: RunStepRecord) -> Result<Self, AuditError> {
        Self::new(r.id, r.step)
    }
}

impl RunStep {
    /// Run `id` (1-128 bytes of `[A-Za-z0-9_.:-]`, starting with a letter or digit), step `step`.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidField`] if `id` is not acceptable.
    pub fn new(id: impl Into<String>, step: u64) -> Result<Self, AuditError> {
        let id = id.into();
        check_token("run_id", &id, MAX_RUN_ID_LEN)?;
        Ok(Self { id, step })
    }
    /// The run id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The step sequence number within the run.
    pub fn step(&self) -> u64 {
        self.step
    }
}

/// What a caller records: everything but tenant, seq, previous hash and time, which the
/// log assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    actor: ActorId,
    action: String,
    resource: String,
    ip: Option<IpAddr>,
    run: Option<RunStep>,
    metadata: Metadata,
}

impl NewEntry {
    /// An entry: `actor` did `action` (1-128 bytes of `[A-Za-z0-9_.:-]`, e.g. `user.login`)
    /// on `resource` (up to 1024 bytes of text without control characters).
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidField`] if `action` or `resource` is not acceptable.
    pub fn new(actor: ActorId, action: &str, resource: &str) -> Result<Self, AuditError> {
        check_token("action", action, MAX_ACTION_LEN)?;
        check_resource(resource)?;
        Ok(Self {
            actor,
            action: action.to_owned(),
            resource: resource.to_owned(),
            ip: None,
            run: None,
            metadata: Metadata::empty(),
        })
    }

    /// Sets the client IP address.
    #[must_use]
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the workflow run and step.
    #[must_use]
    pub fn with_run(mut self, run: RunStep) -> Self {
        self.run = Some(run);
        self
    }

    /// Sets the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The actor.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }
    /// The action.
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The resource.
    pub fn resource(&self) -> &str {
        &self.resource
    }
    /// The client IP address.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }
    /// The run and step.
    pub fn run(&self) -> Option<&RunStep> {
        self.run.as_ref()
    }
    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Replaces the actor (used by redactors).
    pub fn set_actor(&mut self, actor: ActorId) {
        self.actor = actor;
    }
    /// Replaces the resource (used by redactors).
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidField`] if `resource` is not acceptable.
    pub fn set_resource(&mut self, resource: String) -> Result<(), AuditError> {
        check_resource(&resource)?;
        self.resource = resource;
        Ok(())
    }
    /// Replaces the IP address (used by redactors).
    pub fn set_ip(&mut self, ip: Option<IpAddr>) {
        self.ip = ip;
    }
    /// Replaces the metadata (used by redactors).
    pub fn set_metadata(&mut self, metadata: Metadata) {
        self.metadata = metadata;
    }
}

/// A sealed entry: its place in a tenant's chain, its content, and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EntryRecord", into = "EntryRecord")]
pub struct Entry {
    tenant: TenantId,
    seq: u64,
    prev: Hash,
    time: UnixTime,
    body: NewEntry,
    hash: Hash,
}

/// The JSON-line form of an entry (file store, exports).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRecord {
    v: u8,
    tenant: TenantId,
    seq: u64,
    prev: Hash,
    time_ms: u64,
    actor: ActorId,
    action: String,
    resource: String,
    ip: Option<IpAddr>,
    run: Option<RunStep>,
    metadata: Metadata,
    hash: Hash,
}

impl TryFrom<EntryRecord> for Entry {
    type Error = AuditError;
    fn try_from(r: EntryRecord) -> Result<Self, AuditError> {
        if r.v != ENCODING_VERSION {
            return Err(AuditError::field(
                "v",
                format!("unsupported version {}", r.v),
            ));
        }
        let mut body = NewEntry::new(r.actor, &r.action, &r.resource)?;
        body.ip = r.ip;
        body.run = r.run;
        body.metadata = r.metadata;
        Ok(Self {
            tenant: r.tenant,
            seq: r.seq,
            prev: r.prev,
            time: UnixTime::from_millis(r.time_ms),
            body,
            hash: r.hash,
        })
    }
}

impl From<Entry> for EntryRecord {
    fn from(e: Entry) -> Self {
        Self {
            v: ENCODING_VERSION,
            tenant: e.tenant,
            seq: e.seq,
            prev: e.prev,
            time_ms: e.time.as_millis(),
            actor: e.body.actor,
            action: e.body.action,
            resource: e.body.resource,
            ip: e.body.ip,
            run: e.body.run,
            metadata: e.body.metadata,
            hash: e.hash,
        }
    }
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Every field is bounded far below 4 GiB by validation, so the length always fits.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(bytes);
}

impl Entry {
    /// Seals `body` as entry `seq` of `tenant`'s chain after `prev`, at `time`, computing
    /// its hash. This is the one function every store uses to build entries, so a backend
    /// (for example PostgreSQL, inside its transaction) produces the same bytes.
    pub fn seal(tenant: TenantId, seq: u64, prev: Hash, time: UnixTime, body: NewEntry) -> Self {
        let mut e = Self {
            tenant,
            seq,
            prev,
            time,
            body,
            hash: Hash::ZERO,
        };
        e.hash = e.compute_hash(&mut Vec::with_capacity(256));
        e
    }

    /// Appends the canonical encoding (version 1) to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        buf.push(ENCODING_VERSION);
        put_bytes(buf, self.tenant.as_str().as_bytes());
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(self.prev.as_bytes());
        buf.extend_from_slice(&self.time.as_millis().to_be_bytes());
        put_bytes(buf, self.body.actor.as_str().as_bytes());
        put_bytes(buf, self.body.action.as_bytes());
        put_bytes(buf, self.body.resource.as_bytes());
        match self.body.ip {
            None => buf.push(0),
            Some(IpAddr::V4(v4)) => {
                buf.push(4);
                buf.extend_from_slice(&v4.octets());
            }
            Some(IpAddr::V6(v6)) => {
                buf.push(6);
                buf.extend_from_slice(&v6.octets());
            }
        }
        match &self.body.run {
            None => buf.push(0),
            Some(run) => {
                buf.push(1);
                put_bytes(buf, run.id.as_bytes());
                buf.extend_from_slice(&run.step.to_be_bytes());
            }
        }
        put_bytes(buf, self.body.metadata.as_str().as_bytes());
    }

    /// The canonical encoding (version 1).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(256);
        self.encode_into(&mut buf);
        buf
    }

    /// Recomputes the hash from the content, using `scratch` as the encoding buffer.
    pub fn compute_hash(&self, scratch: &mut Vec<u8>) -> Hash {
        scratch.clear();
        self.encode_into(scratch);
        Hash::digest(scratch)
    }

    /// The JSON-line form (no trailing newline).
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidMetadata`] if serialization fails (it does not for entries
    /// built by this crate).
    pub fn to_json_line(&self) -> Result<String, AuditError> {
        serde_json::to_string(self).map_err(|e| AuditError::InvalidMetadata(e.to_string()))
    }

    /// Parses one JSON line.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidField`] if the line is not a valid entry.
    pub fn from_json_line(line: &str) -> Result<Self, AuditError> {
        serde_json::from_str(line).map_err(|e| AuditError::field("entry", e.to_string()))
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    /// The position in the tenant's chain, from 0.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The hash of the previous entry ([`Hash::ZERO`] for seq 0).
    pub fn prev(&self) -> &Hash {
        &self.prev
    }
    /// When the entry was appended (milliseconds since the Unix epoch).
    pub fn time(&self) -> UnixTime {
        self.time
    }
    /// The recorded content.
    pub fn body(&self) -> &NewEntry {
        &self.body
    }
    /// The stored hash (as written; [`crate::verify_chain`] checks it).
    pub fn hash(&self) -> &Hash {
        &self.hash
    }
    /// The RFC 6962 leaf hash of this entry in the tenant's Merkle tree:
    /// `SHA-256(0x00 || entry hash)`.
    pub fn leaf_hash(&self) -> Hash {
        crate::merkle::leaf_hash(self.hash.as_bytes())
    }
}
