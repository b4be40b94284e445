//! The schemes a service imports and we only verify: bcrypt, scrypt and PBKDF2-SHA256.
//! A match always answers `needs_rehash`; nothing here creates such a hash.
//!
//! Legacy hashes were made by another system from the password's raw UTF-8 bytes, so they
//! are checked against the raw bytes (no NFKC, no pepper).

use password_hash::{PasswordHash, PasswordVerifier};

use crate::{PasswordError, Verification, VerifyLimits};

/// The scheme of a stored hash, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Argon2,
    Bcrypt,
    Scrypt,
    Pbkdf2Sha256,
}

pub(crate) fn scheme_of(stored: &str) -> Result<Scheme, PasswordError> {
    let unsupported = |scheme| Err(PasswordError::UnsupportedScheme { scheme });
    if stored.starts_with("$argon2id$")
        || stored.starts_with("$argon2i$")
        || stored.starts_with("$argon2d$")
    {
        Ok(Scheme::Argon2)
    } else if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$")
    {
        Ok(Scheme::Bcrypt)
    } else if stored.starts_with("$2x$") {
        // crypt_blowfish's marker for hashes made by its sign-extension bug.
        unsupported("bcrypt $2x$ (hashes of the pre-2011 crypt_blowfish bug)")
    } else if stored.starts_with("$scrypt$") {
        Ok(Scheme::Scrypt)
    } else if stored.starts_with("$pbkdf2-sha256$") {
        Ok(Scheme::Pbkdf2Sha256)
    } else if stored.starts_with("$pbkdf2$") || stored.starts_with("$pbkdf2-sha512$") {
        unsupported("PBKDF2 other than PBKDF2-SHA256")
    } else {
        unsupported("unknown")
    }
}

/// What the bcrypt precheck established.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BcryptChecked;

/// Shape, cost limit and the 72-byte rule, before any work.
pub(crate) fn bcrypt_precheck(
    password: &str,
    stored: &str,
    limits: &VerifyLimits,
) -> Result<BcryptChecked, PasswordError> {
    let malformed = |reason| PasswordError::MalformedHash { reason };
    // $2b$NN$ + 22 salt + 31 hash characters.
    if stored.len() != 60 || !stored.is_ascii() {
        return Err(malformed("a bcrypt hash is 60 ASCII characters"));
    }
    let cost = stored
        .get(4..6)
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or(malformed("bcrypt cost"))?;
    if stored.get(6..7) != Some("$") || !(4..=31).contains(&cost) {
        return Err(malformed("bcrypt cost"));
    }
    if cost > limits.bcrypt_cost {
        return Err(PasswordError::CostAboveLimit {
            what: "bcrypt cost",
            value: cost.into(),
            limit: limits.bcrypt_cost.into(),
        });
    }
    if password.len() > 72 {
        return Err(PasswordError::BcryptTooLong {
            len: password.len(),
        });
    }
    Ok(BcryptChecked)
}

pub(crate) fn bcrypt_verify(
    password: &str,
    stored: &str,
    _checked: BcryptChecked,
) -> Result<Verification, PasswordError> {
    // At most 72 bytes (checked), so the crate's truncating verify truncates nothing; it
    // compares the hash in constant time.
    match bcrypt::verify(password.as_bytes(), stored) {
        Ok(true) => Ok(Verification::Verified { needs_rehash: true }),
        Ok(false) => Ok(Verification::Mismatch),
        Err(_) => Err(PasswordError::MalformedHash {
            reason: "bcrypt salt or hash encoding",
        }),
    }
}

pub(crate) fn scrypt_precheck<'a>(
    stored: &'a str,
    limits: &VerifyLimits,
) -> Result<PasswordHash<'a>, PasswordError> {
    let malformed = |reason| PasswordError::MalformedHash { reason };
    let hash = PasswordHash::new(stored).map_err(|_| malformed("not a PHC string"))?;
    let params = scrypt::Params::try_from(&hash).map_err(|_| malformed("scrypt parameters"))?;
    // scrypt's memory is 128 · r · N bytes (N = 2^ln).
    let memory = 1u64
        .checked_shl(u32::from(params.log_n()))
        .and_then(|n| n.checked_mul(128))
        .and_then(|m| m.checked_mul(u64::from(params.r())))
        .unwrap_or(u64::MAX);
    if memory > limits.scrypt_memory_bytes {
        return Err(PasswordError::CostAboveLimit {
            what: "scrypt memory (bytes)",
            value: memory,
            limit: limits.scrypt_memory_bytes,
        });
    }
    if params.p() > limits.scrypt_parallelism {
        return Err(PasswordError::CostAboveLimit {
            what: "scrypt parallelism",
            value: params.p().into(),
            limit: limits.scrypt_parallelism.into(),
        });
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(malformed("no salt or no hash output"));
    }
    Ok(hash)
}

pub(crate) fn pbkdf2_precheck<'a>(
    stored: &'a str,
    limits: &VerifyLimits,
) -> Result<PasswordHash<'a>, PasswordError> {
    let malformed = |reason| PasswordError::MalformedHash { reason };
    let hash = PasswordHash::new(stored).map_err(|_| malformed("not a PHC string"))?;
    let params = pbkdf2::Params::try_from(&hash).map_err(|_| malformed("PBKDF2 parameters"))?;
    if params.rounds > limits.pbkdf2_iterations {
        return Err(PasswordError::CostAboveLimit {
            what: "PBKDF2 iterations",
            value: params.rounds.into(),
            limit: limits.pbkdf2_iterations.into(),
        });
    }
    if params.rounds == 0 || hash.salt.is_none() || hash.hash.is_none() {
        return Err(malformed("no iterations, salt or hash output"));
    }
    Ok(hash)
}

pub(crate) fn phc_verify(
    verifier: &dyn PasswordVerifier,
    password: &str,
    hash: &PasswordHash<'_>,
) -> Result<Verification, PasswordError> {
    verified_legacy(verifier.verify_password(password.as_bytes(), hash))
}

/// Verifies with a PasswordVerifier; used by the legacy schemes.
fn verified_legacy(result: password_hash::Result<()>) -> Result<Verification, PasswordError> {
    match result {
        Ok(()) => Ok(Verification::Verified { needs_rehash: true }),
        Err(password_hash::Error::Password) => Ok(Verification::Mismatch),
        Err(_) => Err(PasswordError::MalformedHash {
            reason: "the hash function refused the parameters",
        }),
    }
}
