//! Per-tenant encryption of credentials at rest: versioned master keys, HKDF-SHA256
//! per-tenant derivation, AES-256-GCM sealing bound to tenant and context, envelope
//! encryption behind a [`Kms`] trait, rotation with re-encryption, and a cached
//! [`SecretResolver`] for runtime secrets.
//!
//! Integration credentials (third-party API keys, OAuth refresh tokens, application
//! passwords) are sealed before they reach the database, so a database leak exposes only
//! ciphertext; each tenant has its own derived key, so a ciphertext copied to another
//! tenant, row or purpose fails to open; and master keys rotate without downtime.
//!
//! # When not to use it
//!
//! - For passwords or API keys *you issue*: store a hash (see `portcullis-tokens`), never
//!   a reversible ciphertext.
//! - For bulk data, files or streams: blobs are sealed in memory in one piece, and the
//!   random-nonce budget (2^32 seals per master version) suits credentials, not
//!   billions of records per key.
//! - When the database and the master key live on the same host with the same access:
//!   encryption then only moves the problem. Back the key ring with a KMS
//!   ([`unwrap_master_key`]) or keep the master key in a separate secret store.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_core::{Provider, TenantId};
//! use portcullis_keys::{KeyVersion, MasterKeys, KeysError, MasterKey, Purpose, Sealer};
//!
//! let provider = Provider::system();
//! // In production the master key comes from a KMS or a secret store, never from code.
//! let ring = MasterKeys::new(KeyVersion::new(1)?, MasterKey::generate(&provider)?);
//! let sealer = Sealer::new(Purpose::new("credentials")?, ring, provider.clone());
//!
//! let acme: TenantId = "acme".parse()?;
//! let blob = sealer.seal(&acme, b"credential:42", b"sk_live_...")?;
//! assert_eq!(sealer.open(&acme, b"credential:42", &blob)?.expose_secret(), b"sk_live_...");
//!
//! // Another tenant or another row cannot open it.
//! let globex: TenantId = "globex".parse()?;
//! assert!(matches!(sealer.open(&globex, b"credential:42", &blob), Err(KeysError::Decrypt)));
//! assert!(matches!(sealer.open(&acme, b"credential:43", &blob), Err(KeysError::Decrypt)));
//!
//! // Rotation: new blobs use version 2, old ones still open until re-encrypted.
//! sealer.rotate(KeyVersion::new(2)?, MasterKey::generate(&provider)?)?;
//! let moved = sealer.reencrypt(&acme, None, b"credential:42", &blob)?;
//! assert!(moved.changed);
//! assert_eq!(portcullis_keys::inspect(&moved.blob)?.key_version, KeyVersion::new(2)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is in the crate
//!
//! | Piece | Types |
//! |---|---|
//! | Master keys, versions, primary, minimum decryption version, retirement | [`MasterKeys`], [`MasterKey`], [`KeyVersion`] |
//! | Per-tenant HKDF derivation, crypto-shredding salt, derived-key cache | [`Purpose`], [`TenantSalt`], [`CacheStats`] |
//! | Sealing and opening (AES-256-GCM, random nonce, AAD binding) | [`Sealer`], [`inspect`] |
//! | Envelope encryption, KMS seam, local KMS, data-key cache | [`Kms`], [`LocalKms`], [`Envelope`] |
//! | Rotation and streaming re-encryption | [`Sealer::reencrypt`], [`Sealer::reencrypt_all`], [`BlobSource`], [`BlobSink`] |
//! | Runtime secrets | [`SecretResolver`], [`SecretSource`], [`EnvFallback`] |
//! | Seal counters per key version | [`UsagePolicy`], [`VersionUsage`] |
//!
//! # Features
//!
//! This crate has no optional features. It depends on no async runtime; the async traits
//! ([`Kms`], [`SecretSource`], [`BlobSource`], [`BlobSink`]) are `async-trait` based,
//! dyn-compatible and `Send`.
//!
//! # Tenant key derivation
//!
//! ```text
//! lp(x)      = len(x) as u32 big-endian || x
//! info       = lp("portcullis-keys/tenant-key/v1") || lp(purpose) || lp(tenant) || epoch (u32 BE)
//! tenant_key = HKDF-SHA256(ikm = master key of the blob's version (32 bytes),
//!                          salt = tenant salt (32 bytes) if any, else none (RFC 5869: 32 zero bytes),
//!                          info, L = 32)
//! ```
//! `purpose` and `tenant` are their ASCII strings; `epoch` is the [`TenantSalt`] epoch
//! (1 or more), or 0 for an unsalted tenant. Every field is length-prefixed or fixed-width,
//! so no two (purpose, tenant, epoch) triples share an `info`.
//!
//! # Sealed blob format
//!
//! Format version 1 (`0x01`); all integers big-endian:
//!
//! | Offset | Length | Field |
//! |---|---|---|
//! | 0 | 1 | format version, `0x01` |
//! | 1 | 4 | key version (u32 BE, 1 or more) |
//! | 5 | 12 | nonce (random, drawn by the library for every seal) |
//! | 17 | n | AES-256-GCM ciphertext of the n-byte plaintext |
//! | 17 + n | 16 | GCM tag |
//!
//! The blob is `n + 33` bytes ([`OVERHEAD`]); anything shorter than 33 bytes is
//! [`KeysError::Truncated`], any other first byte [`KeysError::UnknownFormat`]. The key is
//! the tenant key above for the blob's key version; the additional authenticated data is
//!
//! ```text
//! aad = 0x01 || key version (u32 BE) || lp(tenant) || lp(context)
//! ```
//!
//! where `context` is the caller's byte string (for example `credential:42` or
//! `integrations.secret:row=42`). To open a blob elsewhere: read the version byte and key
//! version, derive the tenant key, rebuild the AAD, and AES-256-GCM-decrypt bytes 17.. with
//! the nonce at bytes 5..17 (Python: `AESGCM(key).decrypt(nonce, blob[17:], aad)`);
//! `tests/interop/open_sealed_blob.py` does exactly that with Python `cryptography`.
//!
//! ## Test vector
//!
//! ```text
//! master key   000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
//! key version  3            purpose  credentials     tenant  acme-corp (unsalted, epoch 0)
//! context      credential:42             plaintext  sk_live_portcullis_example
//! nonce        101112131415161718191a1b
//! info         0000001d706f727463756c6c69732d6b6579732f74656e616e742d6b65792f7631
//!              0000000b63726564656e7469616c730000000961636d652d636f727000000000
//! tenant key   ab21482dfffb741654c4ef60e2cc65114c81c298bd2d66424b2996ac85c459aa
//! aad          01000000030000000961636d652d636f72700000000d63726564656e7469616c3a3432
//! blob         0100000003                                                      (version 1, key version 3)
//!              101112131415161718191a1b                                        (nonce)
//!              7a5dc1c6946bf07ab913a17b9864a2cb73ce3e76848474924f4b      (ciphertext, 26 bytes)
//!              cb6acb6bc180ed9aa1e228140a58530d                                (tag)
//! ```
//! The whole blob (59 bytes) as one string:
//! `0100000003101112131415161718191a1b7a5dc1c6946bf07ab913a17b9864a2cb73ce3e76848474924f4bcb6acb6bc180ed9aa1e228140a58530d`.
//! A salted variant (salt `202122…3f`, epoch 1) is in `tests/vectors/sealed_blob_v1.txt`
//! with its intermediate values; `tests/vector.rs` asserts both byte for byte and the
//! doctest below the unsalted one. The nonce above comes from a test generator: in production
//! no API accepts a nonce.
//!
//! ```
//! # use std::sync::{Arc, Mutex};
//! # use portcullis_core::{Provider, RandomError, SecureRandom, SystemClock, TenantId};
//! # use portcullis_keys::{KeyVersion, MasterKeys, MasterKey, Purpose, Sealer};
//! # #[derive(Debug)] struct Fixed(Mutex<Vec<u8>>);
//! # impl SecureRandom for Fixed {
//! #     fn fill(&self, d: &mut [u8]) -> Result<(), RandomError> {
//! #         let mut q = self.0.lock().map_err(|_| RandomError::new("poisoned"))?;
//! #         let rest = q.split_off(d.len()); d.copy_from_slice(&q); *q = rest; Ok(())
//! #     }
//! # }
//! let master: [u8; 32] = core::array::from_fn(|i| i as u8);
//! let nonce: Vec<u8> = (0x10..0x1c).collect();
//! let sealer = Sealer::new(
//!     Purpose::new("credentials")?,
//!     MasterKeys::new(KeyVersion::new(3)?, MasterKey::new(master)),
//!     // A test-only generator that hands out the nonce above: never do this outside a test.
//!     Provider::from_parts(Arc::new(SystemClock), Arc::new(Fixed(Mutex::new(nonce)))),
//! );
//! let blob = sealer.seal(&"acme-corp".parse::<TenantId>()?, b"credential:42", b"sk_live_portcullis_example")?;
//! let hex: String = blob.iter().map(|b| format!("{b:02x}")).collect();
//! assert_eq!(hex, "0100000003101112131415161718191a1b7a5dc1c6946bf07ab913a17b9864a2cb73ce3e76848474924f4bcb6acb6bc180ed9aa1e228140a58530d");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Envelope format
//!
//! [`Envelope`] blobs (format `0x02`) carry their own wrapped data key; see [`Envelope`]
//! for the layout. The [`LocalKms`] wrapped-key layout is on [`LocalKms`].
//!
//! # Rotation runbook
//!
//! 1. **Add** a new master version and make it primary: [`Sealer::rotate`] (or
//!    [`MasterKeys::rotate`] when loading). Every process must load the new key before or at
//!    the same time as it becomes primary, or other processes will see
//!    [`KeysError::UnknownKeyVersion`] for new blobs; in a fleet, first
//!    [`Sealer::insert_key`] everywhere, then [`Sealer::set_primary`].
//! 2. **Re-encrypt**: run [`Sealer::reencrypt_all`] over a [`BlobSource`]/[`BlobSink`]
//!    pair (the sink is an atomic compare-and-swap). It is resumable (pass the report's
//!    `cursor` as [`ReencryptOptions::resume_after`]) and idempotent (blobs under the
//!    primary are skipped); a failing write leaves the old blob in place. Check the report:
//!    `failed` lists blobs that could not be opened (investigate them), `conflicts` those
//!    changed meanwhile (re-run).
//! 3. **Fence**: when a run reports nothing left under the old version, raise the minimum
//!    decryption version ([`Sealer::set_min_decrypt_version`]); stray old blobs now fail
//!    with [`KeysError::BelowMinimumVersion`] while the key still exists, so you can lower
//!    it again if something was missed.
//! 4. **Retire**: [`Sealer::retire`] drops the old key material (zeroized) for good.
//!
//! Rotate at the latest when [`Sealer::usage`] reports [`UsageState::Warning`] (2^31
//! seals by default); sealing stops at 2^32. Counts are per process: persist them and
//! restore with [`Sealer::restore_usage`], or rotate on a schedule well below the limit.
//!
//! To crypto-shred a tenant, delete its [`TenantSalt`] everywhere it is stored and call
//! [`Sealer::forget_tenant`]; its blobs can no longer be opened, other tenants are
//! untouched. A new salt for the same tenant must use a higher epoch.
//!
//! # Choice of AEAD backend
//!
//! `portcullis-bench-keys` measures our API against bare `ring` and bare RustCrypto
//! `aes-gcm` in the same run; the README's benchmark table gives the recorded ratios with
//! the date and machine of the run (at the last recorded run a 256 B seal with a cached key,
//! nonce included, was 1.80× a bare `ring` seal, within the 2× goal; at 1 MiB `ring` was
//! 6.3× faster than us, and we were within 1.01× of bare `aes-gcm`). A cache miss adds one
//! HKDF derivation.
//!
//! We still use `aes-gcm`: credentials are small, where our 256 B seal with a cached key stays
//! within the goal of 2× a bare `ring` seal, and `aes-gcm` wipes its AES key schedule on
//! drop (`aes` 0.8 zeroizes its round keys, and the first AES-256 round keys *are* the
//! key), which is what lets the derived-key cache zeroize evicted keys; `ring` 0.17 does
//! not zeroize its `LessSafeKey`. One gap remains: `aes-gcm` 0.10 on x86-64 does not wipe
//! the GHASH subkey H (held by `polyval`'s autodetect backend); H cannot decrypt or
//! recover the key, but with a known blob it would allow forging tags under that derived
//! key. If large payloads dominate your workload, the trade-off differs: measure with
//! `cargo bench -p portcullis-bench-keys`.
//!
//! # Security considerations
//!
//! - **Nonces** are 96 bits, drawn from the injected [`portcullis_core::SecureRandom`]
//!   (the OS generator in production) for every seal; no public API accepts a nonce.
//!   NIST SP 800-38D caps random-nonce use at 2^32 seals per key; counting per master
//!   version (an upper bound for every derived key) enforces that per process.
//! - **Binding**: the AAD binds format version, key version, tenant and context; the key
//!   binds master version, purpose, tenant and salt. Moving a ciphertext to another tenant,
//!   row, purpose or version fails with the opaque [`KeysError::Decrypt`], which never
//!   says which input was wrong. Structural errors (truncation, unknown format, unknown,
//!   retired or fenced version) are specific because they are visible in the blob anyway.
//! - **The context is yours to choose well**: it must name the row and column (and be
//!   stable), or a blob can be swapped between two rows of the same tenant.
//! - **Secrets in memory**: master keys, salts, derived keys, data keys and opened
//!   plaintext live in zeroizing types with redacted `Debug` and no `Serialize`; evicted or
//!   retired keys are zeroized once the last in-flight operation releases them (AES round
//!   keys; not the GHASH subkey, see "Choice of AEAD backend").
//!   Zeroization is best effort (see `portcullis-core`).
//! - **Rotation never loses data**: re-encryption writes through a compare-and-swap sink,
//!   keeps the old value until the new one is written, and leaves unopenable blobs alone.
//! - **Fail closed**: KMS, secret-source and blob-store errors are [`KeysError::Backend`];
//!   the resolver serves stale values only if configured to, for a bounded time, and reads
//!   the environment only for names registered as bootstrap secrets and only when the
//!   source answers "no value" (never on a source error; environment values are not
//!   cached).
//! - **Not covered**: a compromised process (it holds the keys), side channels of the
//!   CPU's AES implementation, or replay of an older valid blob for the same tenant and
//!   context (include a version or timestamp in the context if that matters).
#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod aead;
mod cache;
mod derive;
mod envelope;
mod error;
mod format;
mod keyring;
mod kms;
mod resolver;
mod rotation;
mod sealer;
mod secret_key;
mod usage;

pub use cache::CacheStats;
pub use derive::{Purpose, TenantSalt};
pub use envelope::{ENVELOPE_V1, Envelope, EnvelopeConfig, EnvelopeStats, inspect_envelope};
pub use error::KeysError;
pub use format::{BlobHeader, FORMAT_V1, HEADER_LEN, MIN_BLOB_LEN, OVERHEAD, inspect};
pub use keyring::{KeyVersion, KeyringStatus, MasterKey, MasterKeys};
pub use kms::{DataKey, Kms, KmsContext, LocalKms, WrappedKey, unwrap_master_key, wrap_master_key};
pub use resolver::{
    EnvFallback, ResolverConfig, ResolverStats, SecretName, SecretResolver, SecretSource,
};
pub use rotation::{
    BlobId, BlobSink, BlobSource, ReencryptInterrupted, ReencryptOptions, ReencryptReport,
    ReplaceOutcome, StoredBlob,
};
pub use sealer::{Reencrypted, Sealer, SealerConfig};
pub use usage::{UsagePolicy, UsageState, VersionUsage};
