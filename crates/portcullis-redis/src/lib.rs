//! Redis/Valkey backends for Portcullis.
//!
//! Production services keep token state where every replica sees it. This crate
//! implements, on one shared connection to a server or a Redis/Valkey Cluster
//! ([`RedisBackend`]):
//!
//! | store | trait | crate of the trait |
//! |---|---|---|
//! | [`RedisRefreshStore`] | `RefreshStore` (rotation, grace replay, reuse → family revoked, revoke family/subject, tenant-wide epoch, per-subject session cap) | `portcullis-tokens` |
//! | [`RedisRevocationStore`] | `RevocationStore` (`jti` deny-list, subject/tenant not-before epochs) | `portcullis-tokens` |
//! | [`RedisTicketStore`] | `TicketStore` (atomic single use) | `portcullis-tokens` |
//! | [`RedisApiKeyStore`] | `ApiKeyStore` (lookup by id) | `portcullis-tokens` |
//! | [`RedisReplayGuard`] | `ReplayGuard` | `portcullis-webhooks` |
//! | [`RedisRateLimiter`] | `RateLimiter` (GCRA) | `portcullis-ratelimit` |
//!
//! Each trait method that reads and writes is **one Lua script** (EVALSHA; on `NOSCRIPT`,
//! after a restart or failover emptied the script cache, the script is loaded and run
//! again), so it is atomic and one round trip; pure reads are one command. They pass the
//! same conformance suites (`portcullis-testkit`) as the in-memory stores.
//!
//! # When not to use it
//!
//! For a single process or tests, the in-memory stores are simpler. Redis without
//! persistence loses every revocation and refresh family on restart (sessions end, which
//! is safe; revocations are forgotten, which is not — see Security considerations).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_redis::{RedisBackend, RedisConfig, RedisTicketStore};
//! use portcullis_tokens::TicketStore;
//! use portcullis_core::{Provider, TenantId, UnixTime};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let Ok(url) = std::env::var("PORTCULLIS_TEST_REDIS_URL") else {
//!     eprintln!("PORTCULLIS_TEST_REDIS_URL not set: skipping the example");
//!     return Ok(());
//! };
//! let prefix = format!("doc-{}", std::process::id());
//! let backend = RedisBackend::connect(&url, RedisConfig::new().prefix(prefix), Provider::system()).await?;
//! let tickets = RedisTicketStore::new(backend);
//! let tenant: TenantId = "acme".parse()?;
//! let now = UnixTime::from_secs(1_700_000_000);
//! let until = UnixTime::from_secs(1_700_000_030);
//! assert!(tickets.consume(&tenant, "jti-1", until, now).await?);
//! assert!(!tickets.consume(&tenant, "jti-1", until, now).await?); // single use
//! # Ok(())
//! # }
//! ```
//!
//! # Setup
//!
//! - **Server**: Redis ≥ 6.2 or Valkey ≥ 7.2 (scripts use `EVALSHA`/`SCRIPT LOAD`,
//!   variadic `HSET`, `PEXPIRE`, `PTTL`, `SET ... PX`, `TIME`, sorted sets (`ZADD`, `ZREM`,
//!   `ZREMRANGEBYSCORE`, `ZRANGE`), `LLEN`; effect replication of
//!   scripts, the default since Redis 5, is required for the `TIME`-reading rate-limit
//!   script). Tested with Redis 7.0.
//! - **Connect**: [`RedisBackend::connect`] with a [`RedisConfig`] (key prefix, topology,
//!   command timeout — default 500 ms —, connect timeout, reconnect attempts, TLS). On one
//!   endpoint the connection is a multiplexed, auto-reconnecting `ConnectionManager`; with
//!   [`RedisConfig::cluster`] the URL lists seed nodes and the redis crate's async cluster
//!   client follows the slot map (`MOVED`/`ASK`). An application that already has a
//!   connection hands it in with [`RedisBackend::from_connection`]. Clone the backend freely.
//! - **Deadlines**: `command_timeout` bounds every operation end to end — the script, a
//!   `NOSCRIPT` reload, cluster redirects and any reconnection it waits on; past it the
//!   operation fails with a `Timeout` backend error and grants nothing.
//! - **Transport**: `rediss://` (rustls, feature `tls`, on by default) verifies the server
//!   against the system roots or the CA of [`TlsOptions`], optionally with a client
//!   certificate; a URL that turns hostname verification off (`#insecure`) is refused.
//!   Plain `redis://` is accepted only to loopback addresses unless
//!   [`RedisConfig::danger_allow_plaintext_remote`] says otherwise.
//! - **Cluster**: set `cluster-require-full-coverage no` so that a master that is down
//!   fails only its own slots (its tenants get `Unavailable`/`Timeout` errors, nothing is
//!   granted) while the other masters' tenants keep working — the behaviour the cluster
//!   tests check by killing a master mid-load. Give each master a replica in production.
//! - **Persistence**: enable AOF (`appendonly yes`, `appendfsync everysec` or `always`) if
//!   revocations must survive a restart.
//! - **Memory policy**: use `maxmemory-policy noeviction` (or a `volatile-*` policy
//!   only if you accept that evicting a revocation re-enables a token). An eviction policy
//!   that drops our keys turns "revoked" into "unknown".
//!
//! ## Key layout
//!
//! `<p>` is the configured prefix; `<t>` the tenant; components in `<...>` are escaped
//! (bytes outside `[A-Za-z0-9._@+-]` → `%XX`, empty → `~`), so they never contain `:`,
//! `{` or `}`. Times are integer milliseconds since the Unix epoch unless noted.
//!
//! | key | type | content | expires |
//! |---|---|---|---|
//! | `<p>:{t:<t>}:rf:<family>` | hash | `sub`, `exp`, `rev` (0/1), `cg`, `ch` (hex SHA-256), `iu`, `pg`, `ph`, `ps`, `gu`, `ca` (created) | at the family's absolute end |
//! | `<p>:{t:<t>}:rf-epoch` | hash | `e` = tenant refresh epoch (families with `ca` ≤ `e`, or no `ca`, are revoked), `k` = keep_until | at keep_until |
//! | `<p>:{t:<t>}:rf-sub:<subject>` | sorted set | live family ids of the subject, scored by `exp`, at most the session cap (removed on revoke, reuse detection and eviction, pruned past `exp` on each create, deleted by `revoke_subject`) | with its longest family |
//! | `<p>:{t:<t>}:jti:<jti>` | hash | `e` = 0, `k` = keep_until | at keep_until |
//! | `<p>:{t:<t>}:sub-epoch:<subject>` | hash | `e` = not-before epoch, `k` = keep_until | at keep_until |
//! | `<p>:{t:<t>}:epoch` | hash | `e` = tenant not-before epoch, `k` | at keep_until |
//! | `<p>:{t:<t>}:ticket:<jti>` | string | keep_until | at keep_until |
//! | `<p>:{t:<t>}:ak:<id>` | hash | `id`, `owner`, `name`, `scopes` (JSON array), `hash` (hex), `created`, `expires`, `revoked` ('' = none) | never |
//! | `<p>:{t:<t>}:ak-own:<owner>` | list | escaped key ids, oldest first, at most `MAX_API_KEYS_PER_OWNER` (1000) | never |
//! | `<p>:{wh:<scope>}:<id>` | string | expiry time | after the TTL |
//! | `<p>:{rl:<name>:<key>}` | string | GCRA theoretical arrival time (µs) | when the bucket is full again (+1 s) |
//!
//! ## Cluster notes
//!
//! Every key carries a hash tag, so Redis Cluster / Valkey cluster hash only the tag: all
//! keys of one tenant share a slot, and every script's keys are in one slot (a test
//! computes the CRC16 slots). Every script names every key it touches in `KEYS`, never
//! building one inside (a unit test parses each script and checks each key argument).
//! Steps that need keys only an index names (evicting at the session cap,
//! `revoke_subject`, API-key `list`) read the index first and pass what they read; the
//! writing scripts refuse, and the step retries, if the index changed in between. The
//! rotation script cannot name the subject index, so after a reuse detection or a
//! `revoke_family` the store removes the family's id with one more command (the family
//! is revoked either way; an id left behind by a failure there only counts toward the
//! cap until the family's end). A large tenant is one hot slot; tenants spread over
//! the cluster's masters.
//!
//! ## Time
//!
//! The refresh, ticket and replay operations decide with a time they are given or read
//! (the `now` the caller passes, or the backend's clock) and compare it with absolute
//! deadlines stored in the key; for them Redis expiry (`PX`, relative) only
//! garbage-collects, so the application and the server need not agree on the wall clock.
//!
//! The revocation store is different: [`RevocationStore::check`] takes no `now`, so a
//! `jti` counts as revoked exactly while its key exists, and subject and tenant epochs
//! apply while theirs exist. Each revocation write sets the key's expiry to
//! `keep_until` minus the backend's clock at write time (at least one second), and Redis
//! then removes it on its own clock. So retention ends when Redis expires the key, not
//! when a caller's `now` passes `keep_until`: with a manual or skewed backend clock the
//! entry lives for the relative TTL computed at write time, a clock that runs behind
//! keeps it longer (fail closed), and an operator who shortens the key's TTL or lets it
//! be evicted ends the revocation early (see Memory policy). Operations without a `now`
//! argument (revocation retention, the replay guard) read the backend's clock
//! (the [`Provider`](portcullis_core::Provider) given to [`RedisBackend::connect`]). The rate limiter
//! reads the server's `TIME` by default ([`TimeSource::Server`]) or the backend's clock
//! ([`TimeSource::Backend`], used by the conformance suite with a manual clock).
//!
//! [`RevocationStore::check`]: portcullis_tokens::RevocationStore::check
//!
//! # Features
//!
//! - `tls` (default): `rediss://` through rustls with the ring provider (installed as
//!   the process default if the application installed none), [`TlsOptions`] for a custom
//!   CA and client certificates, on one server and on a cluster.
//!
//! # Security considerations
//!
//! - **Fail closed.** Every Redis error, reply that does not decode, or timeout becomes a
//!   `BackendError` (kinds `Unavailable`, `Timeout`, `Corrupt`, `Other`) inside the trait's
//!   error; no method maps an error to "not revoked", "fresh" or "allowed". Callers deny.
//! - **Only hashes.** Refresh tokens and API keys are stored as SHA-256 hashes; tickets,
//!   `jti`s and webhook ids are not secrets.
//! - **Comparison in Lua.** The rotation script compares the presented hash with Lua
//!   string equality. That is not constant time, but the hash reaches Redis only after the
//!   service verified the token's HMAC tag, so an attacker cannot probe it byte by byte.
//! - **Injection.** Untrusted strings (jti, webhook ids, rate-limit keys, subjects) are
//!   escaped into key names and passed as script arguments, never spliced into Lua.
//! - **Bounded scripts.** No script loops over a collection that grows without bound:
//!   a subject holds at most its session cap of live refresh families
//!   (`RefreshPolicy::max_sessions_per_subject`, default 100, at most
//!   `MAX_SESSIONS_PER_SUBJECT` = 256; a login beyond it revokes the session that ends
//!   first), so `revoke_subject` touches at most that many (at 256 sessions the logout
//!   script ran 2.5 ms on the test machine's Redis 7.0, by SLOWLOG, in
//!   `tests/bounds.rs`; the review measured 428 ms for 50,000 before the cap); API-key `list` walks at most
//!   `MAX_API_KEYS_PER_OWNER` (1000) ids per owner, because `insert` refuses more with
//!   `TokenError::TooManyApiKeys` (revoked keys count: they stay listed).
//! - **Tenant isolation.** Every token key includes the tenant; a store method never reads
//!   another tenant's keys.
//! - **Durability and eviction** are the operator's: see Setup.
//! - **Transport.** Use `rediss://` and ACLs (a user allowed only the commands above on
//!   `<p>:*` keys) when Redis is not on a trusted network; plain TCP to a remote host is
//!   refused unless explicitly allowed (see Setup). No error message contains the URL.

#![forbid(unsafe_code)]
#![warn(clippy::mod_module_files)]

mod apikeys;
mod backend;
mod error;
mod keyspace;
mod ratelimit;
mod refresh;
mod replay;
mod revocation;
mod scripts;

pub use apikeys::RedisApiKeyStore;
#[cfg(feature = "tls")]
pub use backend::TlsOptions;
pub use backend::{RedisBackend, RedisConfig, RedisConnection, Topology};
pub use error::RedisError;
pub use keyspace::{KeySpace, escape};
pub use ratelimit::{RedisRateLimiter, TimeSource};
pub use refresh::RedisRefreshStore;
pub use replay::RedisReplayGuard;
pub use revocation::{RedisDpopReplayStore, RedisRevocationStore, RedisTicketStore};
