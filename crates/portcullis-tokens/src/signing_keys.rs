//! Signing keys, their lifecycle, and the JWKS export.
//!
//! One idea per child, layered so that no child reaches back up:
//!
//! - `jws`: the JWS algorithms, the compact serialization (split, header, signature
//!   check); knows nothing of keys beyond a decoding key;
//! - `jwk`: the public JWK members, the RFC 7638 thumbprint and the JWKS document;
//! - `material`: one key ([`KeyMaterial`]) and its secret handling, built on `jws` and
//!   `jwk`;
//! - `import`: verification keys from JWK and JWKS documents (identity providers'), built
//!   on `material`;
//! - `ring`: the set of keys ([`SigningKeys`]) and their lifecycle, built on the three
//!   others.

mod import;
mod jwk;
mod jws;
mod material;
mod ring;

pub(crate) use import::verify_with_embedded_jwk;
pub use import::{JwksKeys, MAX_JWKS_KEYS, SkippedJwk, parse_jwks};
pub use jwk::{Jwk, Jwks};
pub use jws::Algorithm;
pub(crate) use jws::{parse_header, split_compact, to_low_s};
pub use material::{KeyMaterial, MAX_RSA_BITS, MIN_HMAC_SECRET_LEN, MIN_RSA_BITS};
pub use ring::{KeyState, SigningKeys};
