//! The blob formats and their additional authenticated data, parsed in one place.
//!
//! ```text
//! format 1 (sealer, legacy):   0x01 || key_version (u32 BE) || nonce (12) || ciphertext || tag (16)
//! format 2 (envelope, legacy): 0x02 || u16 len || kek || u16 len || wrapped || nonce (12) || ciphertext || tag
//! format 3 (key-committing):   0x03 || source || source fields || nonce (12) || commitment (32) || ciphertext || tag
//!     source 0x01 (derived):   key_version (u32 BE)
//!     source 0x02 (envelope):  u16 len || kek || u16 len || wrapped key
//! ```
//! The crate docs ("Blob formats") specify every field with test vectors.

use serde::{Deserialize, Serialize};

use crate::KeysError;
use crate::aead::{NONCE_LEN, TAG_LEN, nonce_from_slice};
use crate::commit::COMMITMENT_LEN;
use crate::derive::put_lp;
use crate::keyring::KeyVersion;

/// Format 1: the sealer's original, non-committing format (still opened, never written).
pub const FORMAT_V1: u8 = 0x01;
/// Format 2: the envelope's original, non-committing format (still opened, never written).
pub const FORMAT_V2: u8 = 0x02;
/// Format 3: key-committing, written by both [`crate::Sealer`] and [`crate::Envelope`].
pub const FORMAT_V3: u8 = 0x03;
/// Format 3 key source: a tenant key derived from a master key version.
pub const SOURCE_DERIVED: u8 = 0x01;
/// Format 3 key source: a data key wrapped by a KMS key-encryption key.
pub const SOURCE_ENVELOPE: u8 = 0x02;
/// Bytes of a format 3 sealer blob before the ciphertext: format, source, key version,
/// nonce, commitment.
pub const HEADER_LEN: usize = 1 + 1 + 4 + NONCE_LEN + COMMITMENT_LEN;
/// The smallest valid format 3 sealer blob (empty plaintext).
pub const MIN_BLOB_LEN: usize = HEADER_LEN + TAG_LEN;
/// Sealing overhead of [`crate::Sealer::seal`] in bytes: `blob.len() == plaintext.len() +
/// OVERHEAD` (66).
pub const OVERHEAD: usize = MIN_BLOB_LEN;

/// The public header of a sealer blob, readable without any key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobHeader {
    /// Format version: [`FORMAT_V3`] for every new blob, [`FORMAT_V1`] for old ones.
    pub format: u8,
    /// The master key version the blob was sealed under.
    pub key_version: KeyVersion,
}

impl BlobHeader {
    /// Whether the blob commits to its key (format 3); older blobs should be re-encrypted.
    pub fn is_key_committing(&self) -> bool {
        self.format == FORMAT_V3
    }
}

/// What any blob this crate writes says about its key, readable without a key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobKind {
    /// A [`crate::Sealer`] blob (format 1 or 3, derived key).
    Sealed(BlobHeader),
    /// An [`crate::Envelope`] blob (format 2 or 3, KMS-wrapped data key).
    Envelope {
        /// Format version ([`FORMAT_V2`] or [`FORMAT_V3`]).
        format: u8,
        /// The key-encryption key's name as stored in the blob (untrusted bytes).
        kek: Vec<u8>,
    },
}

/// The key a parsed blob needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Derived(KeyVersion),
    Envelope { kek: &'a [u8], wrapped: &'a [u8] },
}

/// A blob split into its fields (no key involved).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parsed<'a> {
    pub(crate) format: u8,
    pub(crate) source: Source<'a>,
    pub(crate) nonce: [u8; NONCE_LEN],
    /// Format 3 only.
    pub(crate) commitment: Option<&'a [u8]>,
    pub(crate) body: &'a [u8],
}

impl Parsed<'_> {
    pub(crate) fn kind(&self) -> BlobKind {
        match self.source {
            Source::Derived(key_version) => BlobKind::Sealed(BlobHeader {
                format: self.format,
                key_version,
            }),
            Source::Envelope { kek, .. } => BlobKind::Envelope {
                format: self.format,
                kek: kek.to_vec(),
            },
        }
    }
}

/// Reads a sealer blob's header (format and key version) without opening it, for example
/// to find blobs that still need re-encryption.
///
/// # Errors
/// [`KeysError::Truncated`], [`KeysError::UnknownFormat`], or
/// [`KeysError::OtherKeySource`] for an envelope blob.
pub fn inspect(blob: &[u8]) -> Result<BlobHeader, KeysError> {
    match parse(blob)?.kind() {
        BlobKind::Sealed(header) => Ok(header),
        BlobKind::Envelope { .. } => Err(KeysError::OtherKeySource("an envelope")),
    }
}

/// Reads what any blob of this crate needs to open (its format and key source) without a
/// key.
///
/// # Errors
/// [`KeysError::Truncated`] or [`KeysError::UnknownFormat`].
pub fn inspect_any(blob: &[u8]) -> Result<BlobKind, KeysError> {
    parse(blob).map(|p| p.kind())
}

fn take(input: &[u8], n: usize, total: usize) -> Result<(&[u8], &[u8]), KeysError> {
    input.split_at_checked(n).ok_or(KeysError::Truncated(total))
}

fn take_u16_prefixed(input: &[u8], total: usize) -> Result<(&[u8], &[u8]), KeysError> {
    let (len, rest) = take(input, 2, total)?;
    let len: [u8; 2] = len.try_into().map_err(|_| KeysError::Truncated(total))?;
    take(rest, usize::from(u16::from_be_bytes(len)), total)
}

fn take_version(input: &[u8], total: usize) -> Result<(KeyVersion, &[u8]), KeysError> {
    let (version, rest) = take(input, 4, total)?;
    let version: [u8; 4] = version
        .try_into()
        .map_err(|_| KeysError::Truncated(total))?;
    Ok((KeyVersion::from_wire(u32::from_be_bytes(version)), rest))
}

/// Splits any blob this crate writes into its fields. Every length is checked as it is
/// taken, and at least a tag's worth of bytes must follow: anything shorter is
/// [`KeysError::Truncated`] with the blob's length.
pub(crate) fn parse(blob: &[u8]) -> Result<Parsed<'_>, KeysError> {
    let total = blob.len();
    let (&format, rest) = blob.split_first().ok_or(KeysError::Truncated(0))?;
    let (source, rest) = match format {
        FORMAT_V1 => {
            let (version, rest) = take_version(rest, total)?;
            (Source::Derived(version), rest)
        }
        FORMAT_V2 => {
            let (kek, rest) = take_u16_prefixed(rest, total)?;
            let (wrapped, rest) = take_u16_prefixed(rest, total)?;
            (Source::Envelope { kek, wrapped }, rest)
        }
        FORMAT_V3 => {
            let (&source, rest) = rest.split_first().ok_or(KeysError::Truncated(total))?;
            match source {
                SOURCE_DERIVED => {
                    let (version, rest) = take_version(rest, total)?;
                    (Source::Derived(version), rest)
                }
                SOURCE_ENVELOPE => {
                    let (kek, rest) = take_u16_prefixed(rest, total)?;
                    let (wrapped, rest) = take_u16_prefixed(rest, total)?;
                    (Source::Envelope { kek, wrapped }, rest)
                }
                other => return Err(KeysError::UnknownKeySource(other)),
            }
        }
        other => return Err(KeysError::UnknownFormat(other)),
    };
    let (nonce, rest) = take(rest, NONCE_LEN, total)?;
    let nonce = nonce_from_slice(nonce).ok_or(KeysError::Truncated(total))?;
    let (commitment, body) = if format == FORMAT_V3 {
        let (c, body) = take(rest, COMMITMENT_LEN, total)?;
        (Some(c), body)
    } else {
        (None, rest)
    };
    if body.len() < TAG_LEN {
        return Err(KeysError::Truncated(total));
    }
    Ok(Parsed {
        format,
        source,
        nonce,
        commitment,
        body,
    })
}

/// Writes the format 3 sealer prefix `0x03 || 0x01 || key_version` (nonce, commitment and
/// ciphertext follow).
pub(crate) fn write_v3_derived_prefix(out: &mut Vec<u8>, version: KeyVersion) {
    out.push(FORMAT_V3);
    out.push(SOURCE_DERIVED);
    out.extend_from_slice(&version.get().to_be_bytes());
}

/// Writes the format 3 envelope prefix `0x03 || 0x02 || u16 lp(kek) || u16 lp(wrapped)`.
pub(crate) fn write_v3_envelope_prefix(
    out: &mut Vec<u8>,
    kek: &[u8],
    wrapped: &[u8],
) -> Result<(), KeysError> {
    let kek_len = u16::try_from(kek.len()).map_err(|_| too_long("kek id"))?;
    let wrapped_len = u16::try_from(wrapped.len()).map_err(|_| too_long("wrapped key"))?;
    out.push(FORMAT_V3);
    out.push(SOURCE_ENVELOPE);
    out.extend_from_slice(&kek_len.to_be_bytes());
    out.extend_from_slice(kek);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(wrapped);
    Ok(())
}

fn too_long(what: &'static str) -> KeysError {
    KeysError::InvalidInput {
        what,
        value: "longer than 65535 bytes".to_owned(),
    }
}

/// Format 1 AAD: `0x01 || key_version || lp(tenant) || lp(context)`.
pub(crate) fn aad_v1(version: KeyVersion, tenant: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(5 + 8 + tenant.len() + context.len());
    aad.push(FORMAT_V1);
    aad.extend_from_slice(&version.get().to_be_bytes());
    put_lp(&mut aad, tenant.as_bytes());
    put_lp(&mut aad, context);
    aad
}

/// Format 2 AAD: `0x02 || lp(kek) || lp(wrapped) || lp(tenant) || lp(context)`.
pub(crate) fn aad_v2(kek: &[u8], wrapped: &[u8], tenant: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(17 + kek.len() + wrapped.len() + tenant.len() + context.len());
    aad.push(FORMAT_V2);
    put_lp(&mut aad, kek);
    put_lp(&mut aad, wrapped);
    put_lp(&mut aad, tenant.as_bytes());
    put_lp(&mut aad, context);
    aad
}

/// Format 3 AAD: `0x03 || source || lp(tenant) || lp(context)`. The key version, KEK and
/// wrapped key are not in it: they select the base key, which the commitment binds (so a
/// data key can be rewrapped under another KEK without touching the ciphertext).
pub(crate) fn aad_v3(source: u8, tenant: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(10 + tenant.len() + context.len());
    aad.push(FORMAT_V3);
    aad.push(source);
    put_lp(&mut aad, tenant.as_bytes());
    put_lp(&mut aad, context);
    aad
}
