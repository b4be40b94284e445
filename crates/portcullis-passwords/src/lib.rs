//! Password hashing for Portcullis services.
//!
//! - [`Passwords`]: Argon2id (RustCrypto `argon2`) as PHC strings at OWASP's parameters
//!   (m = 19 MiB, t = 2, p = 1) with an enforced floor ([`Argon2Params`]), an optional
//!   rotating pepper ([`Peppers`]), a bound on hashes in flight, and
//!   [`Passwords::verify`], which answers [`Verification::Verified`] `{ needs_rehash }`
//!   and does the same work for an unknown user.
//! - Migration: imported bcrypt (`$2a$`, `$2b$`, `$2y$`), scrypt and PBKDF2-SHA256 PHC
//!   hashes verify and always answer `needs_rehash`; none is ever created.
//! - [`PasswordPolicy`]: length bounds, NFKC, zxcvbn strength with the user's own context
//!   penalised, and a k-anonymity breach check ([`BreachRange`]: [`OfflineBreachList`], or
//!   `HibpRange` with the `hibp-http` feature). Each refusal is a typed [`Refusal`].
//!
//! # Example: a login
//!
//! ```
//! use portcullis_core::Provider;
//! use portcullis_passwords::{Passwords, Verification};
//!
//! let passwords = Passwords::new(Provider::system());
//! let mut stored = Some(passwords.hash("correct horse battery staple")?); // at sign-up
//! // At login: `stored` is the user's row, or None when there is no such user.
//! match passwords.verify("correct horse battery staple", stored.as_deref())? {
//!     Verification::Verified { needs_rehash } => {
//!         if needs_rehash { stored = Some(passwords.hash("correct horse battery staple")?); }
//!         // ... log the user in
//!     }
//!     Verification::Mismatch => unreachable!("count a failed attempt, answer 401"),
//! }
//! # assert!(passwords.verify("wrong", stored.as_deref())? == Verification::Mismatch);
//! # assert!(passwords.verify("anything", None)? == Verification::Mismatch);
//! # Ok::<(), portcullis_passwords::PasswordError>(())
//! ```
//!
//! A new password is checked before it is hashed:
//!
//! ```
//! use portcullis_passwords::{PasswordPolicy, Refusal, UserContext};
//!
//! let policy = PasswordPolicy::new().with_service_words(&["portcullis"]);
//! let alice = UserContext { user_name: Some("alice"), email: Some("alice@example.com"), ..Default::default() };
//! assert!(matches!(policy.check("short", &alice), Err(Refusal::TooShort { min: 8, actual: 5 })));
//! assert!(matches!(policy.check("alice2024", &alice), Err(Refusal::TooWeak { .. })));
//! assert!(policy.check("quartz lantern mosaic drift", &alice).is_ok());
//! ```
//!
//! # Stored format
//!
//! New hashes are PHC strings, `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`,
//! with a 16-byte random salt and a 32-byte output in the PHC format's B64 (standard
//! alphabet, no padding), so any Argon2 implementation that reads PHC strings (e.g. Python
//! `argon2-cffi`) verifies them. The Argon2 password input is the UTF-8 bytes of the
//! password's NFKC normalisation.
//!
//! With a pepper, the parameters gain `keyid=<B64 of the pepper id as 4 big-endian
//! bytes>` (pepper 1 is `keyid=AAAAAQ`) and the Argon2 input becomes
//! `HMAC-SHA256(key = pepper secret, message = NFKC(password) as UTF-8)` (32 bytes). The
//! `keyid` parameter is part of Argon2's PHC syntax but not of its computation; another
//! implementation verifies a peppered hash by applying the HMAC first and dropping
//! `keyid`.
//!
//! # needs_rehash
//!
//! [`Verification::Verified`] carries `needs_rehash: true` exactly when the stored hash
//! is a legacy scheme (bcrypt, scrypt, PBKDF2), or an Argon2 hash that is not Argon2id,
//! not version 0x13, below the current parameters in memory, passes or lanes, with an
//! output under 32 or a salt under 16 bytes, or with another pepper than the current one
//! (including none when a pepper is set). Higher parameters than the policy do not ask
//! for a rehash.
//!
//! # Features
//!
//! - `hibp-http`: `HibpRange`, the Pwned Passwords range API over HTTPS (reqwest on
//!   rustls with the ring provider).
//!
//! # Security considerations
//!
//! - **Cost and memory**: each Argon2 call needs its memory cost (19 MiB at the
//!   defaults); at most `max_in_flight` hashes run at once (default 4), each in its slot's
//!   reused buffer, and the others wait up to `max_wait`, then fail with
//!   [`PasswordError::Busy`], so a login flood is bounded in memory (`tests/load.rs`: 64
//!   concurrent verifies with 4 in flight stay under 5 × 19 MiB of peak RSS growth). Stored hashes that ask for more than [`VerifyLimits`] are refused before
//!   any work.
//! - **Timing**: [`Passwords::verify`] with `None` runs Argon2 at the current parameters
//!   against a dummy hash, so an unknown user costs what a user on the current parameters
//!   costs. Users still on a legacy scheme or old parameters take a different time until
//!   they log in once and are rehashed; that reveals the hash's age, not the password.
//!   All comparisons of hash outputs are constant time (`subtle` here for Argon2 and the
//!   breach suffixes, `password-hash`'s `Output` for scrypt and PBKDF2, `bcrypt`'s own
//!   `subtle` comparison).
//! - **Lengths**: passwords are at most 1024 bytes (before and after NFKC). bcrypt only
//!   reads 72 bytes: a longer candidate is refused ([`PasswordError::BcryptTooLong`]),
//!   never truncated, so a 73-byte password never matches a hash of its first 72.
//! - **Legacy inputs**: bcrypt, scrypt and PBKDF2 hashes are checked against the raw
//!   UTF-8 bytes (they were made elsewhere, without NFKC or pepper). `$2x$` (hashes from
//!   the crypt_blowfish sign-extension bug) is refused.
//! - **Peppers** stop an offline attack on a stolen database unless the pepper is stolen
//!   too; keep it in a secret store, not the database. Losing a pepper locks out every
//!   user hashed with it: retire old peppers only after their users have been rehashed.
//! - **Breach checks** send 5 hex digits of the SHA-1 and nothing else; responses are
//!   padded by the API. A source that cannot answer refuses the new password
//!   ([`Refusal::BreachCheckUnavailable`]).
//! - **Secrets in memory**: normalised and peppered inputs live in zeroizing buffers;
//!   peppers in [`portcullis_core::SecretBytes`] with a redacted `Debug`. Argon2 runs in
//!   one reused memory buffer per in-flight slot (the `argon2` crate erases none of its
//!   memory itself): after each hash the first two blocks of every lane, which are direct
//!   functions of the password's pre-hash and would let a memory reader test guesses
//!   cheaply, are zeroized; the rest is overwritten by the next hash, and every buffer is
//!   zeroized when it is replaced, when it is larger than the policy needs, and when
//!   [`Passwords`] drops. Zeroization is best effort.
//! - **Not here**: rate limiting of login attempts (use `portcullis-ratelimit`, per
//!   account and per client), account lockout policy, and multi-factor authentication.

mod breach;
mod error;
mod hasher;
mod legacy;
mod limit;
mod params;
mod pepper;
mod policy;
mod verification;

pub use breach::{
    BreachFileError, BreachRange, HashPrefix, OfflineBreachList, RangeEntry, breach_count,
};
#[cfg(feature = "hibp-http")]
pub use breach::{HibpRange, PWNED_PASSWORDS_API};
pub use error::{ConfigError, PasswordError};
pub use hasher::{
    InFlightStats, MAX_PASSWORD_BYTES, OUTPUT_LEN, Passwords, PasswordsBuilder, SALT_LEN,
};
pub use params::{Argon2Params, FLOOR_MEMORY_KIB, FLOOR_MEMORY_TIMES_PASSES, VerifyLimits};
pub use pepper::{Pepper, Peppers};
pub use policy::{PasswordPolicy, Refusal, STRENGTH_CHARS, Strength, UserContext};
pub use verification::Verification;
