//! The sealed blob (format version 1) and its additional authenticated data.
//!
//! ```text
//! blob = 0x01 || key_version (u32 BE) || nonce (12) || ciphertext || tag (16)
//! aad  = 0x01 || key_version (u32 BE) || len(tenant) (u32 BE) || tenant
//!             || len(context) (u32 BE) || context
//! ```
//! The crate docs ("Sealed blob format") specify it in full with a test vector.

use serde::{Deserialize, Serialize};

use crate::KeysError;
use crate::aead::{NONCE_LEN, TAG_LEN, nonce_from_slice};
use crate::derive::put_lp;
use crate::keyring::KeyVersion;

/// The format version byte this crate writes and reads.
pub const FORMAT_V1: u8 = 0x01;
/// Bytes before the ciphertext: version byte, key version, nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// The smallest valid blob (empty plaintext).
pub const MIN_BLOB_LEN: usize = HEADER_LEN + TAG_LEN;
/// Sealing overhead in bytes: `blob.len() == plaintext.len() + OVERHEAD`.
pub const OVERHEAD: usize = MIN_BLOB_LEN;

/// The public header of a sealed blob, readable without any key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobHeader {
    /// Format version (always [`FORMAT_V1`] today).
    pub format: u8,
    /// The master key version the blob was sealed under.
    pub key_version: KeyVersion,
}

pub(crate) struct ParsedBlob<'a> {
    pub(crate) header: BlobHeader,
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) body: &'a [u8],
}

/// Reads a blob's header (format and key version) without opening it, for example to find
/// blobs that still need re-encryption.
///
/// # Errors
/// [`KeysError::Truncated`] or [`KeysError::UnknownFormat`].
pub fn inspect(blob: &[u8]) -> Result<BlobHeader, KeysError> {
    parse(blob).map(|p| p.header)
}

pub(crate) fn parse(blob: &[u8]) -> Result<ParsedBlob<'_>, KeysError> {
    let (&format, rest) = blob.split_first().ok_or(KeysError::Truncated(0))?;
    if format != FORMAT_V1 {
        return Err(KeysError::UnknownFormat(format));
    }
    if blob.len() < MIN_BLOB_LEN {
        return Err(KeysError::Truncated(blob.len()));
    }
    let (version, rest) = rest
        .split_at_checked(4)
        .ok_or(KeysError::Truncated(blob.len()))?;
    let (nonce, body) = rest
        .split_at_checked(NONCE_LEN)
        .ok_or(KeysError::Truncated(blob.len()))?;
    let version: [u8; 4] = version
        .try_into()
        .map_err(|_| KeysError::Truncated(blob.len()))?;
    let nonce = nonce_from_slice(nonce).ok_or(KeysError::Truncated(blob.len()))?;
    Ok(ParsedBlob {
        header: BlobHeader {
            format,
            key_version: KeyVersion::from_wire(u32::from_be_bytes(version)),
        },
        nonce,
        body,
    })
}

/// Writes `0x01 || key_version` (the nonce and ciphertext follow).
pub(crate) fn write_prefix(out: &mut Vec<u8>, version: KeyVersion) {
    out.push(FORMAT_V1);
    out.extend_from_slice(&version.get().to_be_bytes());
}

/// The AAD binding format version, key version, tenant and caller context.
pub(crate) fn aad(version: KeyVersion, tenant: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(5 + 8 + tenant.len() + context.len());
    write_prefix(&mut aad, version);
    put_lp(&mut aad, tenant.as_bytes());
    put_lp(&mut aad, context);
    aad
}
