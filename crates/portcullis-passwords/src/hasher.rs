//! [`Passwords`]: Argon2id hashing and verification of every scheme we accept.

use std::time::Duration;

use argon2::{Algorithm, Argon2, ParamsBuilder, Version};
use password_hash::PasswordHash;
use portcullis_core::Provider;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::legacy;
use crate::limit::InFlight;
use crate::pepper::{id_from_keyid, keyid_bytes};
use crate::{Argon2Params, ConfigError, PasswordError, Peppers, Verification, VerifyLimits};

/// The longest password accepted, in UTF-8 bytes (raw and after NFKC).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest stored hash string parsed.
pub(crate) const MAX_HASH_LEN: usize = 512;
/// Salt length of new hashes, bytes.
pub const SALT_LEN: usize = 16;
/// Output length of new hashes, bytes.
pub const OUTPUT_LEN: usize = 32;

/// Counters of the in-flight bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InFlightStats {
    /// Hashes running now.
    pub in_flight: usize,
    /// The most that ever ran at once.
    pub peak: usize,
    /// Calls refused with [`PasswordError::Busy`].
    pub refused: u64,
}

/// Hashes passwords with Argon2id and verifies stored hashes (Argon2 and the legacy
/// schemes), with at most `max_in_flight` hashes running at once.
///
/// Hashing is CPU- and memory-bound (tens of milliseconds at the defaults): from async
/// code, call it inside `tokio::task::spawn_blocking` or an equivalent.
#[derive(Debug)]
pub struct Passwords {
    params: Argon2Params,
    peppers: Option<Peppers>,
    limits: VerifyLimits,
    in_flight: InFlight,
    provider: Provider,
    dummy: String,
}

/// Builds [`Passwords`]; see [`Passwords::builder`].
#[derive(Debug)]
pub struct PasswordsBuilder {
    provider: Provider,
    params: Argon2Params,
    peppers: Option<Peppers>,
    limits: VerifyLimits,
    max_in_flight: usize,
    max_wait: Duration,
}

impl PasswordsBuilder {
    /// Argon2id parameters for new hashes (default [`Argon2Params::OWASP`]).
    pub fn params(mut self, params: Argon2Params) -> Self {
        self.params = params;
        self
    }

    /// Peppers (default none).
    pub fn peppers(mut self, peppers: Peppers) -> Self {
        self.peppers = Some(peppers);
        self
    }

    /// Limits on what a stored hash may ask for (default [`VerifyLimits::default`]).
    pub fn limits(mut self, limits: VerifyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Hashes running at once (default 4: peak Argon2 memory 4 × 19 MiB at the defaults).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// How long a call waits for a slot before [`PasswordError::Busy`] (default 5 s; zero
    /// refuses at once).
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Builds it.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] for zero slots, or parameters above the verify limits
    /// (hashes this service could not verify).
    pub fn build(self) -> Result<Passwords, ConfigError> {
        if self.max_in_flight == 0 {
            return Err(ConfigError::OutOfRange {
                what: "max_in_flight",
                reason: "at least 1",
            });
        }
        let p = self.params;
        let l = self.limits;
        if p.memory_kib() > l.argon2_memory_kib
            || p.iterations() > l.argon2_iterations
            || p.parallelism() > l.argon2_parallelism
        {
            return Err(ConfigError::OutOfRange {
                what: "Argon2 parameters",
                reason: "within the verify limits, or new hashes could not be verified",
            });
        }
        let dummy = dummy_hash(p, self.peppers.as_ref().map(|x| x.current().id()))?;
        Ok(Passwords {
            params: p,
            peppers: self.peppers,
            limits: l,
            in_flight: InFlight::new(self.max_in_flight, self.max_wait, block_count(p)),
            provider: self.provider,
            dummy,
        })
    }
}

/// A PHC string with the current parameters, a fixed salt and an all-zero output: it
/// makes an unknown user's verify do the same Argon2 work as a real one, and matches no
/// password (a 256-bit all-zero output).
fn dummy_hash(p: Argon2Params, pepper: Option<u32>) -> Result<String, ConfigError> {
    let keyid = pepper
        .map(|id| {
            let bytes = keyid_bytes(id);
            let mut s = String::from(",keyid=");
            s.push_str(&b64(&bytes));
            s
        })
        .unwrap_or_default();
    let hash = format!(
        "$argon2id$v=19$m={},t={},p={}{keyid}$cG9ydGN1bGxpcy1kdW1teQ${}",
        p.memory_kib(),
        p.iterations(),
        p.parallelism(),
        b64(&[0u8; OUTPUT_LEN])
    );
    PasswordHash::new(&hash).map_err(|_| ConfigError::OutOfRange {
        what: "dummy hash",
        reason: "well-formed",
    })?;
    Ok(hash)
}

/// Argon2's block count for `p` (memory rounded down to a multiple of 4 × lanes).
fn block_count(p: Argon2Params) -> usize {
    argon2::Params::new(p.memory_kib(), p.iterations(), p.parallelism(), None)
        .map(|x| x.block_count())
        .unwrap_or(0)
}

fn b64(bytes: &[u8]) -> String {
    use password_hash::Encoding;
    let mut buf = [0u8; 64];
    Encoding::B64
        .encode(bytes, &mut buf)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// NFKC of `password`, zeroized on drop, refusing more than [`MAX_PASSWORD_BYTES`] before
/// and after normalisation.
pub(crate) fn normalize(password: &str) -> Result<Zeroizing<String>, PasswordError> {
    let too_long = PasswordError::TooLong {
        max: MAX_PASSWORD_BYTES,
    };
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(too_long);
    }
    let mut out = Zeroizing::new(String::with_capacity(password.len()));
    for c in password.nfkc() {
        if out.len() + c.len_utf8() > MAX_PASSWORD_BYTES {
            return Err(too_long);
        }
        out.push(c);
    }
    Ok(out)
}

impl Passwords {
    /// A builder with OWASP's parameters, no pepper, 4 hashes in flight, 5 s wait.
    pub fn builder(provider: Provider) -> PasswordsBuilder {
        PasswordsBuilder {
            provider,
            params: Argon2Params::OWASP,
            peppers: None,
            limits: VerifyLimits::default(),
            max_in_flight: 4,
            max_wait: Duration::from_secs(5),
        }
    }

    /// The defaults: OWASP's parameters, no pepper, 4 hashes in flight.
    pub fn new(provider: Provider) -> Self {
        let p = Argon2Params::OWASP;
        Passwords {
            params: p,
            peppers: None,
            limits: VerifyLimits::default(),
            in_flight: InFlight::new(4, Duration::from_secs(5), block_count(p)),
            provider,
            // The OWASP parameters always make a well-formed dummy; the empty fallback
            // would only make an unknown user's verify fail faster, never succeed.
            dummy: dummy_hash(p, None).unwrap_or_default(),
        }
    }

    /// The parameters new hashes get.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Counters of the in-flight bound.
    pub fn in_flight_stats(&self) -> InFlightStats {
        let (in_flight, peak, refused) = self.in_flight.stats();
        InFlightStats {
            in_flight,
            peak,
            refused,
        }
    }

    /// Hashes `password` with Argon2id: NFKC-normalised, peppered when a pepper is set,
    /// a fresh 16-byte salt, a 32-byte output, as a PHC string
    /// (`$argon2id$v=19$m=…,t=…,p=…[,keyid=…]$salt$hash`).
    ///
    /// This does not judge the password's strength: check new passwords with
    /// [`crate::PasswordPolicy::check`] first.
    ///
    /// # Errors
    /// [`PasswordError::TooLong`], [`PasswordError::Busy`], [`PasswordError::Random`].
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let normalized = normalize(password)?;
        let mut salt = [0u8; SALT_LEN];
        self.provider.fill(&mut salt)?;
        let mut builder = ParamsBuilder::new();
        builder
            .m_cost(self.params.memory_kib())
            .t_cost(self.params.iterations())
            .p_cost(self.params.parallelism())
            .output_len(OUTPUT_LEN);
        let mut keyid = String::new();
        let peppered;
        let input: &[u8] = match &self.peppers {
            Some(peppers) => {
                let pepper = peppers.current();
                keyid = format!(",keyid={}", b64(&keyid_bytes(pepper.id())));
                peppered = pepper.apply(normalized.as_bytes())?;
                peppered.as_slice()
            }
            None => normalized.as_bytes(),
        };
        let params = builder.build().map_err(|_| PasswordError::Hashing {
            reason: "Argon2 parameters",
        })?;
        let mut out = Zeroizing::new([0u8; OUTPUT_LEN]);
        self.run_argon2(
            Algorithm::Argon2id,
            Version::V0x13,
            params,
            input,
            &salt,
            out.as_mut_slice(),
        )
        .map_err(|_| PasswordError::Hashing { reason: "Argon2" })??;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}{keyid}${}${}",
            self.params.memory_kib(),
            self.params.iterations(),
            self.params.parallelism(),
            b64(&salt),
            b64(out.as_slice())
        ))
    }

    /// Runs Argon2 in this slot's reused buffer. The outer error is Argon2's refusal of
    /// its inputs, the inner one the in-flight bound's. Afterwards the first two blocks of
    /// every lane (direct functions of the password's pre-hash, a cheap guess oracle) are
    /// zeroized; the rest is overwritten by the next hash and zeroized when the buffer is
    /// dropped.
    fn run_argon2(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: argon2::Params,
        input: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<Result<(), PasswordError>, argon2::Error> {
        let blocks = params.block_count();
        let lanes = usize::try_from(params.p_cost()).unwrap_or(1).max(1);
        let argon = Argon2::new(algorithm, version, params);
        let mut permit = match self.in_flight.acquire() {
            Ok(permit) => permit,
            Err(e) => return Ok(Err(e)),
        };
        let memory = permit.memory(blocks);
        let result = argon.hash_password_into_with_memory(input, salt, out, &mut *memory);
        let lane_length = blocks / lanes;
        for lane in 0..lanes {
            let start = lane * lane_length;
            if let Some(first) = memory.get_mut(start..start + 2.min(lane_length)) {
                first.iter_mut().for_each(zeroize::Zeroize::zeroize);
            }
        }
        result.map(Ok)
    }

    /// Verifies `password` against the user's stored hash, or against nothing when the
    /// user does not exist (`None`): then the same Argon2 work is done and the answer is
    /// [`Verification::Mismatch`], so "no such user" and "wrong password" take the same
    /// time for users on the current parameters.
    ///
    /// Accepts Argon2id/Argon2i/Argon2d PHC strings (ours and other implementations'),
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`), scrypt (`$scrypt$`) and PBKDF2-SHA256
    /// (`$pbkdf2-sha256$`) PHC strings. Everything but Argon2id at or above the current
    /// parameters with the current pepper answers `needs_rehash: true`.
    ///
    /// # Errors
    /// [`PasswordError::TooLong`], [`PasswordError::BcryptTooLong`],
    /// [`PasswordError::MalformedHash`], [`PasswordError::UnsupportedScheme`],
    /// [`PasswordError::CostAboveLimit`], [`PasswordError::UnknownPepper`],
    /// [`PasswordError::Busy`]. Treat every error as a failed login.
    pub fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verification, PasswordError> {
        match stored {
            Some(stored) => self.verify_stored(password, stored),
            None => {
                // Only the work matters; the dummy matches no password.
                let _ = self.verify_stored(password, &self.dummy)?;
                Ok(Verification::Mismatch)
            }
        }
    }

    fn verify_stored(&self, password: &str, stored: &str) -> Result<Verification, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong {
                max: MAX_PASSWORD_BYTES,
            });
        }
        if stored.len() > MAX_HASH_LEN {
            return Err(PasswordError::MalformedHash {
                reason: "longer than 512 bytes",
            });
        }
        match legacy::scheme_of(stored)? {
            legacy::Scheme::Argon2 => self.verify_argon2(password, stored),
            legacy::Scheme::Bcrypt => {
                let check = legacy::bcrypt_precheck(password, stored, &self.limits)?;
                let _permit = self.in_flight.acquire()?;
                legacy::bcrypt_verify(password, stored, check)
            }
            legacy::Scheme::Scrypt => {
                let hash = legacy::scrypt_precheck(stored, &self.limits)?;
                let _permit = self.in_flight.acquire()?;
                legacy::phc_verify(&scrypt::Scrypt, password, &hash)
            }
            legacy::Scheme::Pbkdf2Sha256 => {
                let hash = legacy::pbkdf2_precheck(stored, &self.limits)?;
                let _permit = self.in_flight.acquire()?;
                legacy::phc_verify(&pbkdf2::Pbkdf2, password, &hash)
            }
        }
    }

    fn verify_argon2(&self, password: &str, stored: &str) -> Result<Verification, PasswordError> {
        let malformed = |reason| PasswordError::MalformedHash { reason };
        let hash = PasswordHash::new(stored).map_err(|_| malformed("not a PHC string"))?;
        let algorithm =
            Algorithm::try_from(hash.algorithm).map_err(|_| malformed("Argon2 variant"))?;
        let version = match hash.version {
            None => Version::V0x10,
            Some(v) => Version::try_from(v).map_err(|_| malformed("Argon2 version"))?,
        };
        let params = argon2::Params::try_from(&hash).map_err(|_| malformed("Argon2 parameters"))?;
        let output_len = hash
            .hash
            .map(|h| h.len())
            .ok_or(malformed("no hash output"))?;
        let salt = hash.salt.ok_or(malformed("no salt"))?;
        let mut salt_buf = [0u8; 64];
        let salt_len = salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| malformed("salt encoding"))?
            .len();
        let limit = |what, value: u32, limit: u32| {
            if value > limit {
                Err(PasswordError::CostAboveLimit {
                    what,
                    value: value.into(),
                    limit: limit.into(),
                })
            } else {
                Ok(())
            }
        };
        limit(
            "Argon2 memory (KiB)",
            params.m_cost(),
            self.limits.argon2_memory_kib,
        )?;
        limit(
            "Argon2 passes",
            params.t_cost(),
            self.limits.argon2_iterations,
        )?;
        limit(
            "Argon2 lanes",
            params.p_cost(),
            self.limits.argon2_parallelism,
        )?;
        let pepper_id = if params.keyid().is_empty() {
            None
        } else {
            Some(id_from_keyid(params.keyid()).ok_or(malformed("keyid"))?)
        };
        let normalized = normalize(password)?;
        let peppered;
        let input: &[u8] = match pepper_id {
            None => normalized.as_bytes(),
            Some(id) => {
                let pepper = self
                    .peppers
                    .as_ref()
                    .and_then(|p| p.get(id))
                    .ok_or(PasswordError::UnknownPepper { id })?;
                peppered = pepper.apply(normalized.as_bytes())?;
                peppered.as_slice()
            }
        };
        let current = &self.params;
        let needs_rehash = algorithm != Algorithm::Argon2id
            || version != Version::V0x13
            || params.m_cost() < current.memory_kib()
            || params.t_cost() < current.iterations()
            || params.p_cost() < current.parallelism()
            || output_len < OUTPUT_LEN
            || salt_len < SALT_LEN
            || pepper_id != self.peppers.as_ref().map(|p| p.current().id());
        let expected = hash.hash.ok_or(malformed("no hash output"))?;
        let salt_bytes = salt_buf.get(..salt_len).ok_or(malformed("salt encoding"))?;
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        self.run_argon2(
            algorithm,
            version,
            params,
            input,
            salt_bytes,
            out.as_mut_slice(),
        )
        .map_err(|_| malformed("Argon2 refused the parameters"))??;
        if bool::from(out.as_slice().ct_eq(expected.as_bytes())) {
            Ok(Verification::Verified { needs_rehash })
        } else {
            Ok(Verification::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_two_blocks_of_every_lane_are_zeroized_after_a_hash() {
        let params = Argon2Params::new(8192, 5, 2).unwrap();
        let p = Passwords::builder(Provider::system())
            .params(params)
            .build()
            .unwrap();
        let h = p.hash("zeroize the oracle blocks").unwrap();
        assert!(
            p.verify("zeroize the oracle blocks", Some(&h))
                .unwrap()
                .is_verified()
        );
        let pool = p.in_flight.pooled_zero_blocks();
        assert_eq!(pool.len(), 1, "one slot was used, sequentially");
        let zero = &pool[0];
        assert_eq!(zero.len(), 8192);
        let lane = 8192 / 2;
        for start in [0, lane] {
            assert!(
                zero[start] && zero[start + 1],
                "lane at {start}: first blocks zeroized"
            );
            assert!(
                !zero[start + 2],
                "lane at {start}: later blocks are left to the next hash"
            );
        }
        assert!(!zero[lane - 1] && !zero[8191]);
    }

    #[test]
    fn a_buffer_grown_for_a_costlier_hash_is_not_kept() {
        let params = Argon2Params::new(8192, 5, 1).unwrap();
        let p = Passwords::builder(Provider::system())
            .params(params)
            .build()
            .unwrap();
        let at_policy = p.hash("grow").unwrap();
        assert!(p.verify("grow", Some(&at_policy)).unwrap().is_verified());
        assert_eq!(p.in_flight.pooled_zero_blocks()[0].len(), 8192);
        let bigger = at_policy.replacen("m=8192", "m=16384", 1);
        // Same salt and output, other memory: a mismatch, computed in a 16384-block buffer
        // that is zeroized and freed afterwards, not pooled.
        assert_eq!(
            p.verify("grow", Some(&bigger)).unwrap(),
            Verification::Mismatch
        );
        assert!(p.in_flight.pooled_zero_blocks().is_empty());
        assert!(p.verify("grow", Some(&at_policy)).unwrap().is_verified());
        assert_eq!(p.in_flight.pooled_zero_blocks()[0].len(), 8192);
    }
}
