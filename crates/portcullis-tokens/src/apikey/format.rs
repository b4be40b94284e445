//! The API-key wire format.
//!
//! ```text
//! <prefix> "_" <id: 16 base62> <secret: 32 base62> <checksum: 6 base62>
//! ```
//!
//! | part | characters | content |
//! |------|------------|---------|
//! | prefix | 1 to 16 of `a-z 0-9`, starting with a letter | chosen by the service (for example `pc`) |
//! | `_` | 1 | separator |
//! | id | 16 | uniformly random base62 (about 95 bits): the public lookup id |
//! | secret | 32 | uniformly random base62 (about 190 bits) |
//! | checksum | 6 | CRC-32 (IEEE) of the ASCII bytes of `prefix "_" id secret`, written as a base62 number, most significant digit first, left-padded with `0` to 6 digits |
//!
//! The base62 alphabet is `0-9 A-Z a-z` (digit values 0 to 61 in that order). Random
//! characters are drawn by rejection sampling (bytes of 248 or more are discarded), so
//! each is uniform. The store keeps `SHA-256(the whole key as ASCII)`, never the key.
//! Because 62^6 > 2^32, distinct CRCs give distinct checksums, so every single-character
//! substitution (a burst of at most 8 bits) is detected.
//!
//! Test vector (`tests/vectors/api_key.txt`, computed independently with Python's `zlib`):
//!
//! ```text
//! prefix   pc
//! id       0123456789abcdef
//! secret   ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef
//! crc32    0xea77d1e0  ->  checksum 4IDUXo
//! key      pc_0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZabcdef4IDUXo
//! sha256   30710ad6c54876ee83e5a9c06e5a90f94718893c970a9037a8b57ceb5f17544c
//! ```
//!
//! ```
//! use portcullis_tokens::api_key_format as format;
//! let head = "pc_0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
//! assert_eq!(&format::checksum(head), b"4IDUXo");
//! let parsed = format::parse("pc", "pc_0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZabcdef4IDUXo")?;
//! assert_eq!(parsed.id, "0123456789abcdef");
//! # Ok::<(), portcullis_tokens::TokenError>(())
//! ```

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
