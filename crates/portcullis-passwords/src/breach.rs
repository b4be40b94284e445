//! Breach checks by k-anonymity, as the Pwned Passwords range API defines them: the
//! password's SHA-1 is computed here, only its first 5 hex digits leave this process, and
//! the source answers every suffix it knows under that prefix (padded with zero-count
//! decoys when the source pads), which is compared here in constant time.
//!
//! The SHA-1 is of the password's raw UTF-8 bytes (as the corpus was built), uppercase hex.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use async_trait::async_trait;
use portcullis_core::BackendError;
use sha1::{Digest, Sha1};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

#[cfg(feature = "hibp-http")]
mod http;
#[cfg(feature = "hibp-http")]
pub use http::{HibpRange, PWNED_PASSWORDS_API};

/// The first 5 uppercase hex digits of a SHA-1: all that is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPrefix([u8; 5]);

impl HashPrefix {
    /// The prefix as a string (`"21BD1"`).
    pub fn as_str(&self) -> &str {
        // Always ASCII hex by construction.
        std::str::from_utf8(&self.0).unwrap_or("00000")
    }
}

impl fmt::Display for HashPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One answer line: the other 35 hex digits and how often the corpus saw the password.
/// A count of 0 is padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeEntry {
    /// Uppercase hex digits 6 to 40 of the SHA-1.
    pub suffix: [u8; 35],
    /// Times seen (0 for a padding entry).
    pub count: u64,
}

impl RangeEntry {
    /// Parses `SUFFIX:COUNT` (the range API's line; hex in either case).
    pub fn parse_line(line: &str) -> Option<Self> {
        let (suffix, count) = line.trim().split_once(':')?;
        let suffix = upper_hex::<35>(suffix)?;
        let count = count.trim().parse().ok()?;
        Some(Self { suffix, count })
    }
}

fn upper_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes: [u8; N] = s.as_bytes().try_into().ok()?;
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        if !b.is_ascii_hexdigit() {
            return None;
        }
        *o = b.to_ascii_uppercase();
    }
    Some(out)
}

/// A source of range answers: the Pwned Passwords API ([`HibpRange`], feature
/// `hibp-http`), a local list ([`OfflineBreachList`]), or your own mirror.
#[async_trait]
pub trait BreachRange: Send + Sync + fmt::Debug {
    /// Every entry whose SHA-1 starts with `prefix`.
    ///
    /// # Errors
    /// [`BackendError`] when the source cannot answer.
    async fn range(&self, prefix: &HashPrefix) -> Result<Vec<RangeEntry>, BackendError>;
}

/// The uppercase-hex SHA-1 of `password`'s UTF-8 bytes, zeroized on drop.
fn sha1_hex(password: &str) -> Zeroizing<[u8; 40]> {
    let digest = Zeroizing::new(<[u8; 20]>::from(Sha1::digest(password.as_bytes())));
    let mut out = Zeroizing::new([0u8; 40]);
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0');
        }
    }
    out
}

/// How often `breaches` has seen `password` (0: not seen). Only the 5-digit prefix of its
/// SHA-1 is passed to the source; every returned suffix is compared in constant time.
///
/// # Errors
/// The source's [`BackendError`].
pub async fn breach_count(breaches: &dyn BreachRange, password: &str) -> Result<u64, BackendError> {
    let hex = sha1_hex(password);
    let mut prefix = [0u8; 5];
    prefix.copy_from_slice(hex.get(..5).unwrap_or(&[b'0'; 5]));
    let suffix = hex.get(5..).unwrap_or(&[]);
    let entries = breaches.range(&HashPrefix(prefix)).await?;
    let mut count = 0u64;
    for entry in &entries {
        let hit = entry.suffix.as_slice().ct_eq(suffix);
        count = u64::conditional_select(&count, &entry.count, hit);
    }
    Ok(count)
}

/// Why a breach list file was refused. Lines are named by number, never echoed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BreachFileError {
    /// The file could not be read.
    #[error("the breach list could not be read")]
    Io(#[from] std::io::Error),
    /// A line is not `SHA1HEX` or `SHA1HEX:COUNT`.
    #[error(
        "line {line} of the breach list is not a 40-digit SHA-1 in hex, optionally followed by :count"
    )]
    Line {
        /// 1-based line number.
        line: usize,
    },
}

/// A breach list in memory, from a file of SHA-1 hashes: one per line, 40 hex digits,
/// optionally `:count` (the Pwned Passwords downloader's format); blank lines and lines
/// starting with `#` are skipped. Memory is about 28 bytes per hash: for a curated list
/// (the most common few million passwords), not the whole corpus.
#[derive(Clone)]
pub struct OfflineBreachList {
    sorted: Vec<([u8; 40], u64)>,
}

impl fmt::Debug for OfflineBreachList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfflineBreachList")
            .field("hashes", &self.sorted.len())
            .finish()
    }
}

impl OfflineBreachList {
    /// Reads the list from `reader`.
    ///
    /// # Errors
    /// [`BreachFileError`]: unreadable, or a malformed line (nothing is kept).
    pub fn from_reader(reader: impl BufRead) -> Result<Self, BreachFileError> {
        let mut sorted = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || BreachFileError::Line { line: i + 1 };
            let (hash, count) = match line.split_once(':') {
                Some((h, c)) => (h, c.trim().parse::<u64>().map_err(|_| bad())?),
                None => (line, 1),
            };
            sorted.push((upper_hex::<40>(hash).ok_or_else(bad)?, count.max(1)));
        }
        sorted.sort_unstable();
        sorted.dedup_by(|a, b| {
            if a.0 == b.0 {
                b.1 = b.1.saturating_add(a.1);
                true
            } else {
                false
            }
        });
        Ok(Self { sorted })
    }

    /// Reads the list from a file.
    ///
    /// # Errors
    /// As for [`OfflineBreachList::from_reader`].
    pub fn from_file(path: &Path) -> Result<Self, BreachFileError> {
        let file = std::fs::File::open(path)?;
        Self::from_reader(std::io::BufReader::new(file))
    }

    /// Number of distinct hashes.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
}

#[async_trait]
impl BreachRange for OfflineBreachList {
    async fn range(&self, prefix: &HashPrefix) -> Result<Vec<RangeEntry>, BackendError> {
        let head = |h: &[u8; 40]| h.first_chunk::<5>().copied().unwrap_or_default();
        let start = self.sorted.partition_point(|(h, _)| head(h) < prefix.0);
        let entries = self
            .sorted
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .take_while(|(h, _)| head(h) == prefix.0)
            .filter_map(|(h, count)| {
                let suffix: [u8; 35] = h.get(5..)?.try_into().ok()?;
                Some(RangeEntry {
                    suffix,
                    count: *count,
                })
            })
            .collect();
        Ok(entries)
    }
}
