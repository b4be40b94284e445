//! What every token-store suite is handed and builds: the [`StoreSet`] a backend's
//! factory returns, the `spawn` future type, and the services the steps drive the stores
//! through ([`RefreshTokens`] for refresh families, [`TokenService`] for access tokens and
//! tickets), each built from fixed keys so a failure reproduces.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::{ActorId, KeyId, Provider, SecretArray, SecretBytes, TenantId};
use portcullis_tokens::{
    ApiKeyStore, DpopReplayStore, MemoryApiKeyStore, MemoryDpopReplayStore, MemoryRefreshStore,
    MemoryRevocationStore, MemoryTicketStore, RefreshPolicy, RefreshStore, RefreshTokens,
    RevocationStore, SigningKeys, TicketStore, TokenConfig, TokenService, TokenStores,
};

use crate::ManualClock;

/// The grace window of [`refresh_service`]: a rotated token replayed within it gets the
/// same successor.
pub(super) const GRACE: Duration = Duration::from_secs(10);

/// A boxed, sendable future (what `spawn` receives and returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One fresh, empty set of stores from the backend under test.
#[derive(Debug, Clone)]
pub struct StoreSet {
    /// Refresh families.
    pub refresh: Arc<dyn RefreshStore>,
    /// Revocations.
    pub revocation: Arc<dyn RevocationStore>,
    /// Redeemed tickets.
    pub tickets: Arc<dyn TicketStore>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyStore>,
    /// DPoP proofs seen.
    pub dpop_replay: Arc<dyn DpopReplayStore>,
}

impl StoreSet {
    /// The in-memory stores of `portcullis-tokens`, the revocation store reading time
    /// from `provider`.
    pub fn memory(provider: &Provider) -> Self {
        Self {
            refresh: Arc::new(MemoryRefreshStore::new()),
            revocation: Arc::new(MemoryRevocationStore::new(provider.clone())),
            tickets: Arc::new(MemoryTicketStore::new()),
            api_keys: Arc::new(MemoryApiKeyStore::new()),
            dpop_replay: Arc::new(MemoryDpopReplayStore::new()),
        }
    }

    /// The stores a [`TokenService`] consults, from this set.
    pub fn token_stores(&self) -> TokenStores {
        TokenStores {
            revocation: self.revocation.clone(),
            sessions: self.refresh.clone(),
            tickets: self.tickets.clone(),
        }
    }
}

pub(super) fn tenant(s: &str) -> TenantId {
    s.parse().unwrap()
}

pub(super) fn actor(s: &str) -> ActorId {
    s.parse().unwrap()
}

/// A refresh service over `store` (absolute lifetime 2 h, idle 1 h, grace [`GRACE`]),
/// its randomness seeded with `seed` and its time read from `clock`.
pub(super) fn refresh_service(
    store: Arc<dyn RefreshStore>,
    clock: &ManualClock,
    seed: u64,
) -> RefreshTokens {
    let policy = RefreshPolicy {
        absolute: Duration::from_secs(2 * 3600),
        idle: Duration::from_secs(3600),
        grace: GRACE,
        ..RefreshPolicy::default()
    };
    RefreshTokens::new(
        store,
        SecretArray::new([7u8; 32]),
        policy,
        clock.provider(seed),
    )
    .unwrap()
}

/// A token service (HS256, issuer `https://issuer.test`, audience `api`) over `stores`,
/// its time read from `clock`.
pub(super) fn token_service(clock: &ManualClock, stores: &StoreSet) -> TokenService {
    let secret = SecretBytes::from_slice(&[3u8; 32]);
    let ring = SigningKeys::hs256((KeyId::new("hs-1").unwrap(), &secret), None).unwrap();
    TokenService::new(
        Arc::new(ring),
        TokenConfig::new("https://issuer.test", "api").unwrap(),
        stores.token_stores(),
        clock.provider(11),
    )
}
