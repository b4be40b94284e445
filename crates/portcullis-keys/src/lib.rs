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
//! | Sealing and opening (key-committing AES-256-GCM, random nonce, AAD binding) | [`Sealer`], [`inspect`] |
//! | Envelope encryption, KMS seam, local KMS, data-key cache, several KEKs, rewrap | [`Kms`], [`LocalKms`], [`Envelope`], [`Envelope::rewrap`] |
//! | One open for every format and kind of blob | [`Opener`], [`inspect_any`] |
//! | Rotation and streaming re-encryption | [`Sealer::reencrypt`], [`Sealer::reencrypt_all`], [`BlobSource`], [`BlobSink`] |
//! | Runtime secrets | [`SecretResolver`], [`SecretSource`], [`EnvFallback`] |
//! | Seal counters per key version | [`UsagePolicy`], [`VersionUsage`] |
//! | The nonce budget shared across processes (reserved seals) | [`SealBudget`], [`SealBudgetStore`], [`MemorySealBudgetStore`] |
//!
//! # Features
//!
//! | Feature | Adds | Pulls in |
//! |---|---|---|
//! | `aws-kms` (off) | `AwsKms`: AWS KMS as a [`Kms`] (GenerateDataKey, Encrypt, Decrypt with the encryption context) | `aws-sdk-kms`, `aws-smithy-http-client` (hyper on rustls + ring) |
//! | `vault-transit` (off) | `VaultTransit`: Vault / OpenBao Transit as a [`Kms`] over its HTTP API (derived keys, so the context is bound) | `reqwest` on rustls + ring |
//!
//! Both pass the KMS conformance suite of `portcullis-testkit` against real servers (moto
//! in server mode, `bao server -dev`), as [`LocalKms`] does. Without features the crate
//! depends on no async runtime; the async traits ([`Kms`], [`SecretSource`],
//! [`BlobSource`], [`BlobSink`]) are `async-trait` based, dyn-compatible and `Send`.
//!
//! # Blob formats
//!
//! Every blob starts with a format byte. New blobs are **format 3** (key-committing),
//! written by [`Sealer`] and [`Envelope`] alike; formats 1 ([`Sealer`]) and 2
//! ([`Envelope`]) were written before and still open ([`Opener`] opens all of them), and
//! [`Sealer::reencrypt`] / [`Envelope::rewrap`] upgrade them. All integers are big-endian;
//! `lp(x) = len(x) (u32 BE) || x`.
//!
//! ## Format 3
//!
//! | Offset | Length | Field |
//! |---|---|---|
//! | 0 | 1 | format, `0x03` |
//! | 1 | 1 | key source: `0x01` derived tenant key, `0x02` envelope data key |
//! | 2 | s | source fields: for `0x01` the master key version (u32, 1 or more, s = 4); for `0x02` `len(kek) (u16) \|\| kek id \|\| len(wrapped) (u16) \|\| wrapped key` |
//! | 2 + s | 12 | nonce (random, drawn by the library for every seal) |
//! | 14 + s | 32 | commitment |
//! | 46 + s | n | AES-256-GCM ciphertext of the n-byte plaintext |
//! | 46 + s + n | 16 | GCM tag |
//!
//! A sealer blob is `n + 66` bytes ([`OVERHEAD`]). The **base key** is the tenant key
//! (below) of the blob's key version for source `0x01`, or the data key the KMS unwraps
//! (KMS context `{"portcullis.purpose": "envelope", "portcullis.tenant": <tenant>}`) for
//! source `0x02`. From it:
//!
//! ```text
//! prk            = HKDF-SHA256-Extract(salt = none (32 zero bytes), ikm = base key)
//! encryption key = HKDF-SHA256-Expand(prk, lp("portcullis-keys/v3/encryption-key"), 32)
//! commitment     = HKDF-SHA256-Expand(prk, lp("portcullis-keys/v3/commitment"), 32)
//! aad            = 0x03 || key source || lp(tenant) || lp(context)
//! ```
//!
//! To open: derive the commitment and compare it with the blob's **in constant time
//! before decrypting** (a mismatch is [`KeysError::Decrypt`]), then AES-256-GCM-decrypt
//! `ciphertext || tag` with the encryption key, the nonce and the AAD. The commitment makes
//! the blob open under one base key only: plain AES-GCM is not key-committing, and whoever
//! holds two keys (here: the master key, which derives every tenant's key) can build one
//! ciphertext that opens under both with different plaintexts. Two base keys with the
//! same commitment would be an HMAC-SHA256 collision. The commitment is fixed per base key
//! (derived once, beside the encryption key, as the AWS Encryption SDK's committing suites
//! do), so blobs under one tenant key carry the same 32 bytes: whoever reads the stored
//! blobs can group them by tenant key, as the key version (and, for envelope blobs, the
//! wrapped key) already allows. The key version, KEK and
//! wrapped key are not in the AAD because they only select the base key, which the
//! commitment binds; that is what lets [`Envelope::rewrap`] move a data key to another KEK
//! without touching the ciphertext.
//!
//! Anything shorter than its fixed fields plus the tag is [`KeysError::Truncated`], an
//! unknown first byte [`KeysError::UnknownFormat`], an unknown source byte
//! [`KeysError::UnknownKeySource`]. `interop/test_keys.py` opens and seals format 3 with
//! Python `cryptography` from this text alone.
//!
//! ## Tenant key derivation
//!
//! ```text
//! info       = lp("portcullis-keys/tenant-key/v1") || lp(purpose) || lp(tenant) || epoch (u32 BE)
//! tenant key = HKDF-SHA256(ikm = master key of the blob's version (32 bytes),
//!                          salt = tenant salt (32 bytes) if any, else none (RFC 5869: 32 zero bytes),
//!                          info, L = 32)
//! ```
//! `purpose` and `tenant` are their ASCII strings; `epoch` is the [`TenantSalt`] epoch
//! (1 or more), or 0 for an unsalted tenant. Every field is length-prefixed or fixed-width,
//! so no two (purpose, tenant, epoch) triples share an `info`.
//!
//! ## Test vector (format 3)
//!
//! ```text
//! master key      000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
//! key version 3   purpose credentials   tenant acme-corp (unsalted, epoch 0)
//! context         credential:42         plaintext sk_live_portcullis_example
//! nonce           101112131415161718191a1b
//! tenant key      ab21482dfffb741654c4ef60e2cc65114c81c298bd2d66424b2996ac85c459aa
//! encryption key  69b5396342e7bc856dedf7a92b4aafe921021470c5b3ce3afb1db3c442e319ce
//! commitment      d94e0e004b9245f788b417776d45df00fbef97d41011245f0666210d2df14563
//! aad             03010000000961636d652d636f72700000000d63726564656e7469616c3a3432
//! blob            0301 00000003 101112131415161718191a1b
//!                 d94e0e004b9245f788b417776d45df00fbef97d41011245f0666210d2df14563
//!                 3b494b18388e44021e15925b7942ba21adfe33fbc10e91796074    (ciphertext, 26 bytes)
//!                 b5b4505cb1da2bdd41be2321b64f62c6                        (tag)
//! ```
//! `tests/vectors/sealed_blob_v3.txt` (generated from this text by
//! `interop/make_key_vectors.py` with Python `cryptography`) adds a salted case, an
//! envelope case, and the two-key vectors: one ciphertext and tag that plain AES-GCM opens
//! under the keys of tenants `acme` and `globex`, which format 1 opens for both and format
//! 3 refuses for the tenant it does not commit to. `tests/vector.rs` checks them byte for
//! byte, the doctest below the one above. The nonce comes from a test generator: in
//! production no API accepts a nonce.
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
//! assert_eq!(hex, concat!(
//!     "030100000003101112131415161718191a1b",
//!     "d94e0e004b9245f788b417776d45df00fbef97d41011245f0666210d2df14563",
//!     "3b494b18388e44021e15925b7942ba21adfe33fbc10e91796074",
//!     "b5b4505cb1da2bdd41be2321b64f62c6",
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Format 1 (sealer, before format 3)
//!
//! `0x01 || key version (u32) || nonce (12) || ciphertext || tag (16)` (33 bytes of
//! overhead); the AES-256-GCM key is the tenant key itself and
//! `aad = 0x01 || key version (u32) || lp(tenant) || lp(context)`. Not key-committing
//! (see above); re-encrypt such blobs. Vectors: `tests/vectors/sealed_blob_v1.txt`.
//!
//! ## Format 2 (envelope, before format 3)
//!
//! `0x02 || len(kek) (u16) || kek id || len(wrapped) (u16) || wrapped key || nonce (12) ||
//! ciphertext || tag (16)`; the AES-256-GCM key is the data key itself and
//! `aad = 0x02 || lp(kek id) || lp(wrapped key) || lp(tenant) || lp(context)`. Not
//! key-committing; [`Envelope::rewrap`] re-encrypts such blobs as format 3. The
//! [`LocalKms`] wrapped-key layout is on [`LocalKms`].
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
//! seals by default); sealing stops at 2^32. Counts are per process unless the sealer uses
//! reserved seals: with [`SealerConfig::reserved_seals_only`] every seal is covered by a
//! block reserved first in a [`SealBudgetStore`] shared by every replica (PostgreSQL:
//! `portcullis_postgres::PgSealBudgetStore`), through [`SealBudget::seal`] or
//! [`SealBudget::top_up`], so the limit holds across processes and restarts. Otherwise
//! persist the counts and restore them with [`Sealer::restore_usage`], or rotate on a
//! schedule well below the limit.
//!
//! To crypto-shred a tenant, delete its [`TenantSalt`] everywhere it is stored and call
//! [`Sealer::forget_tenant`]; its blobs can no longer be opened, other tenants are
//! untouched. A new salt for the same tenant must use a higher epoch.
//!
//! # Choice of AEAD backend
//!
//! `portcullis-bench-keys` measures our API against bare `ring`, bare RustCrypto `aes-gcm`
//! and bare `aws-lc-rs` in the same run; the README's benchmark table gives the recorded
//! ratios with the date and machine of the run (at the last recorded run, 2026-12-08 on a
//! CPU with AVX-512: a format 3 seal of 256 B with a cached key, nonce and commitment
//! included, 1.38× bare `ring` and 1.32× bare `aws-lc-rs`; at 1 MiB 0.77× `ring` and 1.05×
//! `aws-lc-rs`). A cache miss adds three HKDF calls (tenant key, encryption key,
//! commitment).
//!
//! We use `aws-lc-rs` because its expanded keys are erased when dropped, which is what lets
//! the derived-key cache promise that evicted and retired keys are gone: aws-lc-rs
//! allocates each `EVP_AEAD_CTX` with `OPENSSL_malloc` and frees it with
//! `EVP_AEAD_CTX_free` (aws-lc-rs `src/aead/aead_ctx.rs`); in AWS-LC, `EVP_AEAD_CTX_free`
//! calls `OPENSSL_free`, which runs `OPENSSL_cleanse` over the whole allocation before
//! freeing it (`crypto/fipsmodule/cipher/aead.c`, `crypto/mem.c`, read at AWS-LC commit
//! 3bda7ba). The AES-GCM state (round keys and the GHASH key table) lives inside that
//! context, so all of it is wiped; AWS-LC's own `aead_aes_gcm_cleanup` is empty, so this
//! rests on `OPENSSL_free` (an application that installs its own AWS-LC allocator hooks
//! must cleanse too). `ring` 0.17 does not erase its `LessSafeKey`; RustCrypto `aes-gcm`
//! 0.10, used before, wiped the AES round keys but not the GHASH subkey. `ring` remains
//! faster at bulk sizes on CPUs with VAES but no AVX-512, where it has a VAES-AVX2 GCM and
//! AWS-LC 0.47 has none (about 2× at 1 MiB on such a machine, 2026-12-04); with AVX-512,
//! AWS-LC's GCM is the faster one.
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
//!   retired keys are zeroized once the last in-flight operation releases them (the whole
//!   AWS-LC AEAD context, see "Choice of AEAD backend").
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
mod budget;
mod cache;
mod commit;
mod derive;
mod envelope;
mod error;
mod format;
mod keyring;
mod kms;
mod opener;
mod resolver;
mod rotation;
mod sealer;
mod secret_key;
mod usage;

pub use budget::{DEFAULT_SEAL_BLOCK, MemorySealBudgetStore, SealBudget, SealBudgetStore};
pub use cache::CacheStats;
pub use derive::{Purpose, TenantSalt};
pub use envelope::{Envelope, EnvelopeConfig, EnvelopeStats, Rewrapped, inspect_envelope};
pub use error::KeysError;
pub use format::{
    BlobHeader, BlobKind, FORMAT_V1, FORMAT_V2, FORMAT_V3, HEADER_LEN, MIN_BLOB_LEN, OVERHEAD,
    SOURCE_DERIVED, SOURCE_ENVELOPE, inspect, inspect_any,
};
pub use keyring::{KeyVersion, KeyringStatus, MasterKey, MasterKeys};
#[cfg(feature = "aws-kms")]
pub use kms::{AwsKms, AwsKmsError};
pub use kms::{
    DataKey, GeneratedKey, Kms, KmsContext, LocalKms, WrappedKey, unwrap_master_key,
    wrap_master_key,
};
#[cfg(feature = "vault-transit")]
pub use kms::{VaultError, VaultTransit, VaultTransitConfig};
pub use opener::Opener;
pub use resolver::{
    EnvFallback, ResolverConfig, ResolverStats, SecretName, SecretResolver, SecretSource,
};
pub use rotation::{
    BlobId, BlobSink, BlobSource, ReencryptInterrupted, ReencryptOptions, ReencryptReport,
    ReplaceOutcome, StoredBlob,
};
pub use sealer::{Reencrypted, SealAllowance, Sealer, SealerConfig};
pub use usage::{UsagePolicy, UsageState, VersionUsage};
