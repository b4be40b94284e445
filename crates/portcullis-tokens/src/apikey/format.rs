//! The API-key wire format.
//!
//! ```text
//! <prefix> "_" <id: 16 base62> <secret: 32 base62> <checksum: 6 base62>
//! ```
//!
//! | part | characters | content |
//! |------|------------|---------|
//! | prefix | 1 to 16 of `a-z 0-9`, starting with a letter | chosen by the service (for example `pc_live`'s `pclive`) |
//! | `_` | 1 | separator |
//! | id | 16 | uniformly random base62 (about 95 bits): the public lookup id |
//! | secret | 32 | uniformly random base62 (about 190 bits) |
//! | checksum | 6 | CRC-32 (IEEE) of the ASCII bytes of `prefix "_" id secret`, as a base62 number left-padded with `0` to 6 digits |
//!
//! The base62 alphabet is `0-9 A-Z a-z` (digit value 0 to 61 in that order). Random
//! characters are drawn by rejection sampling (bytes of 248 or more are discarded), so
//! each is uniform. The store keeps `SHA-256(the whole key as ASCII)`, never the key.
//!
//! Test vector: prefix `pc`, id `0123456789abcdef`, secret
//! `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef` give the key
//! `pc_0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZabcdef` followed by the checksum in
//! `tests/vectors/api_key.txt`.

use crate::error::TokenError;

/// The base62 alphabet, in digit order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of the id part.
pub const ID_LEN: usize = 16;
/// Length of the secret part.
pub const SECRET_LEN: usize = 32;
/// Length of the checksum part.
pub const CHECKSUM_LEN: usize = 6;
/// Longest prefix.
pub const MAX_PREFIX_LEN: usize = 16;

/// Checks a prefix: 1 to 16 of `a-z 0-9`, starting with a letter.
///
/// # Errors
///
/// [`TokenError::InvalidConfig`].
pub fn check_prefix(prefix: &str) -> Result<(), TokenError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(TokenError::InvalidConfig {
            reason: "api key prefix must be 1 to 16 of `a-z 0-9`, starting with a letter"
                .to_owned(),
        })
    }
}

/// The 6-character base62 checksum of `head` (`prefix "_" id secret`).
pub fn checksum(head: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = crc32fast::hash(head.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        let digit = usize::try_from(n % 62).unwrap_or(0);
        *slot = ALPHABET.get(digit).copied().unwrap_or(b'0');
        n /= 62;
    }
    out
}

/// A parsed key whose checksum matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// The prefix.
    pub prefix: &'a str,
    /// The lookup id.
    pub id: &'a str,
}

/// Parses `presented` against the expected `prefix` and checks its checksum. No secret
/// comparison happens here; this only rejects malformed keys and typos early.
///
/// # Errors
///
/// [`TokenError::ApiKeyMalformed`] for the wrong prefix, length or alphabet;
/// [`TokenError::ApiKeyChecksum`] when the checksum does not match.
pub fn parse<'a>(prefix: &str, presented: &'a str) -> Result<ParsedKey<'a>, TokenError> {
    let malformed = |reason| TokenError::ApiKeyMalformed { reason };
    let (got_prefix, body) = presented.split_once('_').ok_or(malformed("missing `_`"))?;
    if got_prefix != prefix {
        return Err(malformed("wrong prefix"));
    }
    if body.len() != ID_LEN + SECRET_LEN + CHECKSUM_LEN {
        return Err(malformed("wrong length"));
    }
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(malformed("characters outside base62"));
    }
    let split = presented.len() - CHECKSUM_LEN;
    let (head, check) = (
        presented.get(..split).ok_or(malformed("wrong length"))?,
        presented.get(split..).ok_or(malformed("wrong length"))?,
    );
    if checksum(head).as_slice() != check.as_bytes() {
        return Err(TokenError::ApiKeyChecksum);
    }
    let id = body.get(..ID_LEN).ok_or(malformed("wrong length"))?;
    Ok(ParsedKey {
        prefix: got_prefix,
        id,
    })
}

/// Draws `len` uniform base62 characters from `rng`.
///
/// # Errors
///
/// [`TokenError::Random`].
pub fn random_base62(
    rng: &dyn portcullis_core::SecureRandom,
    len: usize,
) -> Result<String, TokenError> {
    let mut out = String::with_capacity(len);
    let mut buf = zeroize::Zeroizing::new([0u8; 64]);
    while out.len() < len {
        rng.fill(&mut *buf)?;
        for &b in buf.iter() {
            // 248 = 4 * 62: bytes below it map uniformly onto the alphabet.
            if b < 248 && out.len() < len {
                out.push(char::from(
                    ALPHABET.get(usize::from(b % 62)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
    Ok(out)
}
