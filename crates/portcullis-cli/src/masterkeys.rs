//! The master-key file format (version 1).
//!
//! A UTF-8 text file, readable only by its owner (written with mode `0600`):
//!
//! ```text
//! portcullis-master-keys v1
//! primary 2
//! key 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
//! key 2 <64 lowercase hex digits>
//! ```
//!
//! - Line 1 is exactly `portcullis-master-keys v1`.
//! - Exactly one `primary <version>` line names the version that seals; it must be one of
//!   the keys.
//! - One `key <version> <hex>` line per master key: the version is a decimal `u32` of 1 or
//!   more, unique; the key is 32 bytes as 64 hex digits.
//! - Empty lines and lines starting with `#` are ignored. Anything else is an error.
//!
//! Every listed version opens blobs; sealing uses the primary. `keys rotate` appends
//! version `max + 1` and makes it primary (the file is replaced atomically); after
//! `keys reencrypt` has moved every blob, delete the old `key` line to retire it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portcullis_core::SecureRandom;
use portcullis_keys::{KeyVersion, MasterKey, MasterKeys};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};

/// The first line of every master-key file.
pub(crate) const HEADER: &str = "portcullis-master-keys v1";

/// A parsed master-key file.
#[derive(Debug)]
pub(crate) struct MasterKeyFile {
    pub(crate) primary: u32,
    pub(crate) keys: BTreeMap<u32, MasterKey>,
}

fn bad(line: usize, what: &str) -> CliError {
    CliError::Usage(format!("master key file, line {line}: {what}"))
}

impl MasterKeyFile {
    /// A file with one freshly generated key, version 1.
    pub(crate) fn generate(rng: &dyn SecureRandom) -> CliResult<Self> {
        let mut keys = BTreeMap::new();
        keys.insert(1, MasterKey::generate(rng).map_err(CliError::failed)?);
        Ok(Self { primary: 1, keys })
    }

    /// Adds version `max + 1` and makes it primary; returns the new version.
    pub(crate) fn rotate(&mut self, rng: &dyn SecureRandom) -> CliResult<u32> {
        let next = self
            .keys
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| CliError::Failed("no key version above the highest".to_owned()))?;
        self.keys
            .insert(next, MasterKey::generate(rng).map_err(CliError::failed)?);
        self.primary = next;
        Ok(next)
    }

    /// Parses the text of a master-key file.
    pub(crate) fn parse(text: &str) -> CliResult<Self> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(bad(1, &format!("expected `{HEADER}`"))),
        }
        let mut primary = None;
        let mut keys = BTreeMap::new();
        for (n, line) in lines {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split(' ');
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("primary"), Some(v), None, None) => {
                    if primary.replace(version(n, v)?).is_some() {
                        return Err(bad(n, "more than one `primary` line"));
                    }
                }
                (Some("key"), Some(v), Some(hex_key), None) => {
                    let v = version(n, v)?;
                    let bytes =
                        Zeroizing::new(hex::decode(hex_key).map_err(|_| bad(n, "key is not hex"))?);
                    let key = MasterKey::from_slice(&bytes)
                        .map_err(|_| bad(n, "key must be 32 bytes (64 hex digits)"))?;
                    if keys.insert(v, key).is_some() {
                        return Err(bad(n, &format!("version {v} appears twice")));
                    }
                }
                _ => {
                    return Err(bad(
                        n,
                        "expected `primary <version>` or `key <version> <hex>`",
                    ));
                }
            }
        }
        let primary = primary.ok_or_else(|| bad(0, "no `primary` line"))?;
        if !keys.contains_key(&primary) {
            return Err(bad(
                0,
                &format!("primary version {primary} has no `key` line"),
            ));
        }
        Ok(Self { primary, keys })
    }

    /// The file's text (secret: hold it in a zeroizing buffer).
    pub(crate) fn render(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        let _ = writeln!(out, "{HEADER}");
        let _ = writeln!(
            out,
            "# Portcullis master keys: secret. Format in `portcullis keys --help`."
        );
        let _ = writeln!(out, "primary {}", self.primary);
        for (v, key) in &self.keys {
            let hex_key = Zeroizing::new(hex::encode(key.expose_secret()));
            let _ = writeln!(out, "key {v} {}", hex_key.as_str());
        }
        out
    }

    /// A key ring: every version opens, the primary seals.
    pub(crate) fn keyring(&self) -> CliResult<MasterKeys> {
        let mut ring: Option<MasterKeys> = None;
        let lowest = self.keys.keys().next().copied().unwrap_or(self.primary);
        for (v, key) in &self.keys {
            let version = KeyVersion::new(*v).map_err(CliError::usage)?;
            let key = MasterKey::new(*key.expose_secret());
            match ring.as_mut() {
                None => ring = Some(MasterKeys::new(version, key)),
                Some(r) => r.insert(version, key).map_err(CliError::usage)?,
            }
        }
        let mut ring = ring.ok_or_else(|| bad(0, "no keys"))?;
        ring.set_primary(KeyVersion::new(self.primary).map_err(CliError::usage)?)
            .map_err(CliError::usage)?;
        ring.set_min_decrypt_version(KeyVersion::new(lowest).map_err(CliError::usage)?)
            .map_err(CliError::usage)?;
        Ok(ring)
    }
}

fn version(line: usize, text: &str) -> CliResult<u32> {
    match text.parse::<u32>() {
        Ok(v) if v >= 1 && !text.starts_with('0') => Ok(v),
        _ => Err(bad(line, "version must be a decimal number of 1 or more")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_render_round_trip_and_rejections() {
        let text = "portcullis-master-keys v1\n# c\nprimary 2\nkey 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nkey 2 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n";
        let f = MasterKeyFile::parse(text).unwrap();
        assert_eq!(f.primary, 2);
        let again = MasterKeyFile::parse(&f.render()).unwrap();
        assert_eq!(again.keys.len(), 2);
        assert_eq!(again.keyring().unwrap().primary().get(), 2);
        for broken in [
            "nope\n",
            "portcullis-master-keys v1\nkey 1 00\nprimary 1\n",
            "portcullis-master-keys v1\nprimary 3\nkey 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
            "portcullis-master-keys v1\nprimary 0\n",
            "portcullis-master-keys v1\nkey 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        ] {
            assert!(MasterKeyFile::parse(broken).is_err(), "{broken}");
        }
    }
}
