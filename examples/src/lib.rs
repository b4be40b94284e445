//! Runnable examples composing the Portcullis crates.
//!
//! - `cargo run --example quickstart`: a tour of all five concern crates in memory
//!   (`examples/examples/quickstart.rs`).
//! - `cargo run --example axum-service`: an HTTP service composing them; its router lives
//!   in [`axum_service`] so the example binary and the HTTP integration test share it.
//!
//! # Compose it
//!
//! The crates wired together for one request path: log in, authorize, seal, audit.
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_audit::{AuditLog, MemoryStore, NewEntry};
//! use portcullis_core::{ActorId, Provider, SecretArray, TenantId};
//! use portcullis_keys::{KeyVersion, MasterKeys, MasterKey, Purpose, Sealer};
//! use portcullis_rbac::{PermissionSpec, PolicyBuilder, Principal, Resource, RoleSpec};
//! use portcullis_tokens::{Algorithm, KeyMaterial, SigningKeys, KeyState, NoExtra, RefreshPolicy,
//!     RefreshTokens, TokenConfig, TokenService, TokenStores};
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let provider = Provider::system(); // the one source of time and randomness
//! let ring = Arc::new(SigningKeys::new());
//! ring.insert(KeyMaterial::generate(Algorithm::EdDsa, &provider)?, KeyState::Active)?;
//! let stores = TokenStores::in_memory(&provider); // revocations, sessions, tickets
//! let jwt = TokenService::new(ring, TokenConfig::new("https://auth.example", "api")?, stores.clone(), provider.clone());
//! let sessions = RefreshTokens::new(stores.sessions.clone(),
//!     SecretArray::random(&provider)?, RefreshPolicy::default(), provider.clone())?;
//! let policy = PolicyBuilder::new(1).permission("docs:write", PermissionSpec::write())
//!     .role("editor", RoleSpec::new().grant("docs:write")).build()?;
//! let sealer = Sealer::new(Purpose::new("docs")?,
//!     MasterKeys::new(KeyVersion::new(1)?, MasterKey::generate(&provider)?), provider.clone());
//! let audit = AuditLog::new(Arc::new(MemoryStore::new()), provider);
//!
//! let (acme, alice): (TenantId, ActorId) = ("acme".parse()?, "alice".parse()?);
//! let session = sessions.issue(&acme, &alice).await?;                      // login
//! let access = jwt.issue_access(&acme, &alice, Some(&session.family), &NoExtra {})?;
//! let claims = jwt.verify_access::<NoExtra>(&access.token).await?.claims; // + revocation, session
//! let who = policy.resolve(&Principal::new(claims.sub.clone(), claims.tid.clone()).with_role("editor"));
//! let write = policy.action("docs:write").ok_or("unknown action")?;
//! let decision = policy.authorize(&who, write, &Resource::new(&claims.tid, "doc", "doc-1"));
//! assert!(decision.is_allowed(), "{}", decision.reason());
//! let blob = sealer.seal(&claims.tid, b"doc-1", b"quarterly numbers")?;      // at rest
//! audit.append(&claims.tid, NewEntry::new(claims.sub, "doc.write", "docs/doc-1")?).await?;
//! assert_eq!(audit.verify(&acme).await?.size, 1);
//! # let _ = blob;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod axum_service;
