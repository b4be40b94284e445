//! Shared vocabulary for the Portcullis security libraries.
//!
//! `portcullis-core` holds the small set of types every Portcullis crate speaks, and
//! nothing else: validated identifiers ([`TenantId`], [`ActorId`], [`KeyId`]), time
//! ([`UnixTime`] and the injected [`Clock`]), randomness ([`SecureRandom`]), the
//! [`Provider`] that carries one clock and one generator into every service, secret
//! containers ([`SecretBytes`], [`SecretString`], [`SecretArray`]) and the
//! [`BackendError`] that wraps every store or key-service failure.
//!
//! It performs no I/O apart from reading the system clock (in exactly one place,
//! [`SystemClock::now`]) and the operating system's random generator ([`OsRandom`]).
//!
//! # When not to use it
//!
//! On its own this crate secures nothing; it is the common ground the concern crates
//! (`portcullis-tokens`, `-keys`, `-webhooks`, `-rbac`, `-audit`) stand on. Depend on it
//! directly when you implement one of their traits (a store, a clock, a key service).
//!
//! # Example
//!
//! ```
//! use portcullis_core::{Clock, FixedClock, SecretString, SystemClock, TenantId, UnixTime};
//! use subtle::ConstantTimeEq;
//!
//! // Identifiers are parsed, never assumed: an invalid value cannot be constructed.
//! let tenant: TenantId = "acme-corp".parse()?;
//! assert_eq!(tenant.as_str(), "acme-corp");
//! assert!("acme corp".parse::<TenantId>().is_err());
//!
//! // Secrets never print and compare in constant time.
//! let a = SecretString::from("hunter2".to_owned());
//! let b = SecretString::from("hunter2".to_owned());
//! assert_eq!(format!("{a:?}"), "SecretString([redacted])");
//! assert!(bool::from(a.ct_eq(&b)));
//!
//! // Time is read through a Clock, so tests can control it.
//! let now = SystemClock.now();
//! assert!(now.as_secs() > 1_600_000_000);
//! let fixed = FixedClock(UnixTime::from_secs(1_700_000_000));
//! assert_eq!(fixed.now().as_secs(), 1_700_000_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! This crate has no optional features.
//!
//! # Security considerations
//!
//! - Secret types zeroize their memory on drop, print `[redacted]` in `Debug`, have no
//!   `Display` and do not implement `Serialize`; serializing one requires naming
//!   [`serialize_exposed`] explicitly in a `#[serde(serialize_with)]` attribute.
//! - Equality on secret types runs in constant time for equal-length inputs (`subtle`);
//!   the length of a secret is not treated as secret.
//! - Zeroization is best effort: copies the compiler or the allocator made before the
//!   value reached a secret type (for example a `String` that was reallocated while it
//!   grew) are outside its reach. Move secrets into these types as early as possible.
//! - [`SystemClock`] clamps a wall clock set before 1970 to the epoch rather than
//!   failing; callers that compare against expiry times then see every token as expired
//!   or not yet valid, which fails closed.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod error;
mod id;
mod provider;
mod random;
mod secret;
mod time;

pub use error::{BackendError, BackendErrorKind};
pub use id::{ActorId, IdError, KeyId, TenantId};
pub use provider::Provider;
pub use random::{OsRandom, RandomError, SecureRandom, random_array};
pub use secret::{SecretArray, SecretBytes, SecretString, serialize_exposed};
pub use time::{Clock, FixedClock, SystemClock, UnixTime};
