//! The refresh-token wire format.
//!
//! A refresh token is the text `prt_` followed by the unpadded base64url encoding of 69
//! bytes (92 characters in all, 96 with the prefix):
//!
//! | offset | length | field |
//! |--------|--------|-------|
//! | 0 | 1 | version, `0x01` |
//! | 1 | 16 | family id (random at login) |
//! | 17 | 4 | generation, big-endian `u32` (0 at login, +1 per rotation) |
//! | 21 | 32 | secret: random at generation 0, then `HMAC-SHA256(K, "portcullis-refresh-successor-v1" ‖ 0x00 ‖ previous token's 69 bytes)` |
//! | 53 | 16 | tag: first 16 bytes of `HMAC-SHA256(K, "portcullis-refresh-tag-v1" ‖ 0x00 ‖ len(tenant) as u8 ‖ tenant ‖ bytes[0..53])` |
//!
//! `K` is the service's 32-byte refresh key. The tag binds the token to its tenant and
//! lets the service reject forged or mistyped tokens before any store lookup; since a
//! token with a valid tag is one the service issued, presenting a stale one is proof of
//! reuse. The successor is a function of the presented token, so concurrent rotations of
//! one token all compute the same successor and the store can hand back "the same
//! successor" while holding only hashes. The store keeps `SHA-256(bytes[0..69])`.
//!
//! Test vector (`tests/vectors/refresh_token.txt`, computed independently with Python's
//! `hmac`): `K` = `00 01 .. 1f`, tenant `acme`, family `10 11 .. 1f`, generation 0,
//! secret = 32 bytes of `aa`:
//!
//! ```text
//! token0 prt_ARAREhMUFRYXGBkaGxwdHh8AAAAAqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqrPnAx9ihQTFwH4jgpNvjA1
//! hash0  412145e36d2bd43ef11b46aa4d5b92291cf4b8855122520d22be908d87b7489d
//! token1 prt_ARAREhMUFRYXGBkaGxwdHh8AAAABWNoYZdOrYwmYEPN6kGnqdpC5DUP0ZF-7o5DK6obehbGPzjp2uK44PLOfxh7_ba60
//! ```
//!
//! ```
//! use portcullis_core::{SecretArray, TenantId};
//! use portcullis_tokens::FamilyId;
//! use portcullis_tokens::refresh_format as format;
//!
//! let key = SecretArray::new(core::array::from_fn(|i| i as u8));
//! let tenant: TenantId = "acme".parse()?;
//! let family = FamilyId::from_bytes(core::array::from_fn(|i| 0x10 + i as u8));
//! let t0 = format::encode_token(&key, &tenant, family, 0, &SecretArray::new([0xaa; 32]))?;
//! assert_eq!(
//!     t0.expose_secret(),
//!     "prt_ARAREhMUFRYXGBkaGxwdHh8AAAAAqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqrPnAx9ihQTFwH4jgpNvjA1"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use portcullis_core::{SecretArray, SecretString, TenantId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::TokenError;

/// The text prefix of every refresh token.
pub const PREFIX: &str = "prt_";
/// Version byte of the current format.
pub const VERSION: u8 = 1;
/// Decoded length in bytes.
pub const RAW_LEN: usize = 69;
/// Encoded length in characters, prefix included.
pub const TEXT_LEN: usize = 96;
const BODY_LEN: usize = 53;

type HmacSha256 = Hmac<Sha256>;

/// A refresh-token family (one login session): 16 random bytes, written as 22 base64url
/// characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId([u8; 16]);

impl FamilyId {
    /// From raw bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FamilyId({self})")
    }
}

impl FromStr for FamilyId {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TokenError::Malformed {
            reason: "family id is not 22 base64url characters",
        };
        if s.len() != 22 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        <[u8; 16]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| bad())
    }
}

impl Serialize for FamilyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FamilyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of a refresh token's 69 bytes: what the store keeps instead of the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.iter().take(4).map(|b| format!("{b:02x}")).collect();
        write!(f, "TokenHash({prefix}...)")
    }
}

/// A decoded refresh token whose tag verified.
pub(crate) struct Decoded {
    pub(crate) raw: Zeroizing<[u8; RAW_LEN]>,
    pub(crate) family: FamilyId,
    pub(crate) generation: u32,
}

impl Decoded {
    pub(crate) fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.raw.as_slice()).into())
    }

    pub(crate) fn encode(&self) -> SecretString {
        let mut text = String::with_capacity(TEXT_LEN);
        text.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(self.raw.as_slice(), &mut text);
        SecretString::new(text)
    }
}

fn mac(key: &SecretArray<32>) -> Result<HmacSha256, TokenError> {
    // HMAC accepts keys of any length, so this never fails in practice.
    <HmacSha256 as Mac>::new_from_slice(key.expose_secret()).map_err(|_| TokenError::Signing)
}

fn tag(key: &SecretArray<32>, tenant: &TenantId, body: &[u8]) -> Result<[u8; 32], TokenError> {
    let mut m = mac(key)?;
    m.update(b"portcullis-refresh-tag-v1\0");
    // Tenant ids are at most 64 bytes, so the length fits in one byte.
    m.update(&[u8::try_from(tenant.as_str().len()).unwrap_or(u8::MAX)]);
    m.update(tenant.as_str().as_bytes());
    m.update(body);
    Ok(m.finalize().into_bytes().into())
}

/// Builds a token from its fields, computing the tag.
pub(crate) fn build(
    key: &SecretArray<32>,
    tenant: &TenantId,
    family: FamilyId,
    generation: u32,
    secret: &[u8; 32],
) -> Result<Decoded, TokenError> {
    let mut raw = Zeroizing::new([0u8; RAW_LEN]);
    let (body, tag_out) = raw.split_at_mut(BODY_LEN);
    let (version, rest) = body.split_at_mut(1);
    version.copy_from_slice(&[VERSION]);
    let (fam, rest) = rest.split_at_mut(16);
    fam.copy_from_slice(family.as_bytes());
    let (gen_out, secret_out) = rest.split_at_mut(4);
    gen_out.copy_from_slice(&generation.to_be_bytes());
    secret_out.copy_from_slice(secret);
    let full = tag(key, tenant, body)?;
    tag_out.copy_from_slice(full.get(..16).unwrap_or(&[0u8; 16]));
    Ok(Decoded {
        raw,
        family,
        generation,
    })
}

/// The deterministic successor of `token` (generation + 1); [`TokenError::RefreshExpired`]
/// when the generation counter is exhausted.
pub(crate) fn successor(
    key: &SecretArray<32>,
    tenant: &TenantId,
    token: &Decoded,
) -> Result<Decoded, TokenError> {
    let generation = token
        .generation
        .checked_add(1)
        .ok_or(TokenError::RefreshExpired)?;
    let mut m = mac(key)?;
    m.update(b"portcullis-refresh-successor-v1\0");
    m.update(&*token.raw);
    let secret = Zeroizing::new(<[u8; 32]>::from(m.finalize().into_bytes()));
    build(key, tenant, token.family, generation, &secret)
}

/// Parses and authenticates a presented token. Every failure is
/// [`TokenError::RefreshInvalid`]: a client learns nothing from the difference.
pub(crate) fn parse(
    key: &SecretArray<32>,
    tenant: &TenantId,
    presented: &str,
) -> Result<Decoded, TokenError> {
    let invalid = || TokenError::RefreshInvalid;
    if presented.len() != TEXT_LEN {
        return Err(invalid());
    }
    let b64 = presented.strip_prefix(PREFIX).ok_or_else(invalid)?;
    let mut raw = Zeroizing::new([0u8; RAW_LEN]);
    let n = URL_SAFE_NO_PAD
        .decode_slice(b64, &mut *raw)
        .map_err(|_| invalid())?;
    if n != RAW_LEN {
        return Err(invalid());
    }
    let (body, presented_tag) = raw.split_at(BODY_LEN);
    let expected = tag(key, tenant, body)?;
    let ok: bool = expected
        .get(..16)
        .unwrap_or(&[])
        .ct_eq(presented_tag)
        .into();
    if !ok || body.first() != Some(&VERSION) {
        return Err(invalid());
    }
    let family: [u8; 16] = body
        .get(1..17)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(invalid)?;
    let generation: [u8; 4] = body
        .get(17..21)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(invalid)?;
    Ok(Decoded {
        raw,
        family: FamilyId(family),
        generation: u32::from_be_bytes(generation),
    })
}

/// Encodes the token with the given fields under `key` for `tenant` (for test vectors and
/// tooling; services use [`RefreshTokens`](super::RefreshTokens)).
///
/// # Errors
///
/// [`TokenError::Signing`] if the MAC cannot be keyed (never for 32-byte keys).
pub fn encode_token(
    key: &SecretArray<32>,
    tenant: &TenantId,
    family: FamilyId,
    generation: u32,
    secret: &SecretArray<32>,
) -> Result<SecretString, TokenError> {
    Ok(build(key, tenant, family, generation, secret.expose_secret())?.encode())
}

/// The successor of `presented` (generation + 1), as [`RefreshTokens::rotate`](super::RefreshTokens::rotate)
/// computes it.
///
/// # Errors
///
/// [`TokenError::RefreshInvalid`] if `presented` does not authenticate for `tenant`;
/// [`TokenError::RefreshExpired`] when the generation counter is exhausted.
pub fn successor_token(
    key: &SecretArray<32>,
    tenant: &TenantId,
    presented: &str,
) -> Result<SecretString, TokenError> {
    let token = parse(key, tenant, presented)?;
    Ok(successor(key, tenant, &token)?.encode())
}

/// The hash the store keeps for `presented`, after authenticating it.
///
/// # Errors
///
/// [`TokenError::RefreshInvalid`] if `presented` does not authenticate for `tenant`.
pub fn token_hash(
    key: &SecretArray<32>,
    tenant: &TenantId,
    presented: &str,
) -> Result<TokenHash, TokenError> {
    Ok(parse(key, tenant, presented)?.hash())
}
