//! Envelope encryption: each blob's data key is wrapped by a [`Kms`]; data keys are
//! cached with a time-to-live and a usage limit so the KMS is not called per blob.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::lock::Mutex as AsyncMutex;
use portcullis_core::{
    BackendError, BackendErrorKind, KeyId, Provider, SecretBytes, TenantId, UnixTime,
};
use serde::{Deserialize, Serialize};

use crate::KeysError;
use crate::aead::{AeadKey, NONCE_LEN, TAG_LEN, nonce_from_slice};
use crate::derive::put_lp;
use crate::kms::{DataKey, Kms, KmsContext, WrappedKey};

/// Format version byte of an envelope blob.
pub const ENVELOPE_V1: u8 = 0x02;

/// Data-key cache limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeConfig {
    /// How long a plaintext data key stays in memory. Default 5 minutes.
    pub ttl: Duration,
    /// Seals per data key before a new one is generated and wrapped. Default 100 000.
    pub max_uses: u64,
    /// Most data keys cached, for opening (unwrapped keys) and, separately, for sealing
    /// (one per tenant). Expired keys are swept out whenever a key is added. Default 1024.
    pub max_cached: usize,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_uses: 100_000,
            max_cached: 1024,
        }
    }
}

/// KMS calls and cache hits of an [`Envelope`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeStats {
    /// `Kms::wrap` calls (new data keys).
    pub wraps: u64,
    /// `Kms::unwrap` calls.
    pub unwraps: u64,
    /// Seals or opens served by a cached data key.
    pub cache_hits: u64,
}

#[derive(Debug)]
struct SealKey {
    key: Arc<AeadKey>,
    wrapped: Arc<WrappedKey>,
    created: UnixTime,
    uses: u64,
}

#[derive(Debug)]
struct OpenKey {
    key: Arc<AeadKey>,
    created: UnixTime,
}

/// What a failed KMS call left for the callers that waited on it.
#[derive(Debug, Clone)]
enum Failure {
    Backend(BackendErrorKind, &'static str),
    Decrypt,
    UnknownKek(String),
}

impl Failure {
    fn of(e: &KeysError) -> Self {
        match e {
            KeysError::Backend(b) => Self::Backend(b.kind(), b.operation()),
            KeysError::Decrypt => Self::Decrypt,
            KeysError::UnknownKek(k) => Self::UnknownKek(k.clone()),
            _ => Self::Backend(BackendErrorKind::Other, "kms"),
        }
    }

    fn error(&self) -> KeysError {
        match self {
            Self::Backend(kind, op) => KeysError::Backend(BackendError::without_source(*kind, op)),
            Self::Decrypt => KeysError::Decrypt,
            Self::UnknownKek(k) => KeysError::UnknownKek(k.clone()),
        }
    }
}

/// One KMS call at a time per cache key; the failure of the last one, with the sequence
/// number it was recorded under (callers that took their ticket before it share it).
#[derive(Debug, Default)]
struct Flight {
    failed: Option<(u64, Failure)>,
}

type Flights<K> = Mutex<HashMap<K, Arc<AsyncMutex<Flight>>>>;

/// Envelope encryption of tenant data under one KEK.
///
/// Blob (format `0x02`):
/// ```text
/// 0x02 || len(kek id) (u16 BE) || kek id || len(wrapped) (u16 BE) || wrapped key
///      || nonce (12) || ciphertext || tag (16)
/// aad = 0x02 || lp(kek id) || lp(wrapped key) || lp(tenant) || lp(context)   (lp = u32 BE length prefix)
/// ```
/// The KMS context is `{"portcullis.purpose": "envelope", "portcullis.tenant": <tenant>}`.
#[derive(Debug)]
pub struct Envelope {
    kms: Arc<dyn Kms>,
    kek: KeyId,
    provider: Provider,
    config: EnvelopeConfig,
    sealing: Mutex<HashMap<String, SealKey>>,
    opening: Mutex<HashMap<(String, Vec<u8>), OpenKey>>,
    seal_flights: Flights<String>,
    open_flights: Flights<(String, Vec<u8>)>,
    seq: AtomicU64,
    wraps: AtomicU64,
    unwraps: AtomicU64,
    hits: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Envelope {
    /// Envelope encryption with the KEK `kek` of `kms`.
    pub fn new(kms: Arc<dyn Kms>, kek: KeyId, provider: Provider, config: EnvelopeConfig) -> Self {
        Self {
            kms,
            kek,
            provider,
            config,
            sealing: Mutex::new(HashMap::new()),
            opening: Mutex::new(HashMap::new()),
            seal_flights: Mutex::new(HashMap::new()),
            open_flights: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            wraps: AtomicU64::new(0),
            unwraps: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    fn context(tenant: &TenantId) -> KmsContext {
        KmsContext::new()
            .with("portcullis.purpose", "envelope")
            .with("portcullis.tenant", tenant.as_str())
    }

    fn fresh(&self, created: UnixTime, now: UnixTime) -> bool {
        created
            .checked_add(self.config.ttl)
            .is_some_and(|expiry| now < expiry)
            && now >= created
    }

    fn cached_seal_key(&self, tenant: &TenantId) -> Option<(Arc<AeadKey>, Arc<WrappedKey>)> {
        let now = self.provider.now();
        let mut map = lock(&self.sealing);
        let entry = map.get_mut(tenant.as_str())?;
        if !self.fresh(entry.created, now) || entry.uses >= self.config.max_uses {
            map.remove(tenant.as_str());
            return None;
        }
        entry.uses = entry.uses.saturating_add(1);
        Some((Arc::clone(&entry.key), Arc::clone(&entry.wrapped)))
    }

    async fn seal_key(
        &self,
        tenant: &TenantId,
    ) -> Result<(Arc<AeadKey>, Arc<WrappedKey>), KeysError> {
        if let Some(found) = self.cached_seal_key(tenant) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(found);
        }
        // One wrap per tenant at a time: the others wait and take its key (or its error).
        let ticket = self.seq.load(Ordering::SeqCst);
        let flight = flight_for(&self.seal_flights, tenant.as_str().to_owned());
        let mut state = flight.lock().await;
        if let Some(found) = self.cached_seal_key(tenant) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(found);
        }
        if let Some((seq, failure)) = &state.failed {
            if *seq > ticket {
                return Err(failure.error());
            }
        }
        let result = self.new_seal_key(tenant).await;
        match &result {
            Ok(_) => state.failed = None,
            Err(e) => {
                let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
                state.failed = Some((seq, Failure::of(e)));
            }
        }
        drop(state);
        done(&self.seal_flights, &tenant.as_str().to_owned(), &flight);
        result
    }

    async fn new_seal_key(
        &self,
        tenant: &TenantId,
    ) -> Result<(Arc<AeadKey>, Arc<WrappedKey>), KeysError> {
        let data = DataKey::generate(&self.provider)?;
        self.wraps.fetch_add(1, Ordering::Relaxed);
        let wrapped = Arc::new(
            self.kms
                .wrap(&self.kek, &data, &Self::context(tenant))
                .await?,
        );
        let key = Arc::new(AeadKey::new(data.expose_secret())?);
        let now = self.provider.now();
        let mut map = lock(&self.sealing);
        if map.len() >= self.config.max_cached {
            map.retain(|_, e| self.fresh(e.created, now) && e.uses < self.config.max_uses);
            evict_oldest(&mut map, self.config.max_cached, |e| e.created);
        }
        map.insert(
            tenant.as_str().to_owned(),
            SealKey {
                key: Arc::clone(&key),
                wrapped: Arc::clone(&wrapped),
                created: now,
                uses: 1,
            },
        );
        Ok((key, wrapped))
    }

    /// Seals `plaintext` for `tenant` and `context` under a (cached) data key.
    ///
    /// # Errors
    /// [`KeysError::Backend`] or [`KeysError::UnknownKek`] from the KMS,
    /// [`KeysError::Random`], [`KeysError::Encrypt`], or [`KeysError::InvalidInput`] if
    /// the KMS returned a wrapped key longer than 65 535 bytes.
    pub async fn seal(
        &self,
        tenant: &TenantId,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeysError> {
        let (key, wrapped) = self.seal_key(tenant).await?;
        let kek = self.kek.as_str().as_bytes();
        let kek_len = u16::try_from(kek.len()).map_err(|_| too_long("kek id"))?;
        let wrapped_len =
            u16::try_from(wrapped.as_bytes().len()).map_err(|_| too_long("wrapped key"))?;
        let aad = envelope_aad(kek, wrapped.as_bytes(), tenant, context);
        let mut out = Vec::with_capacity(
            5 + kek.len() + wrapped.as_bytes().len() + NONCE_LEN + plaintext.len() + TAG_LEN,
        );
        out.push(ENVELOPE_V1);
        out.extend_from_slice(&kek_len.to_be_bytes());
        out.extend_from_slice(kek);
        out.extend_from_slice(&wrapped_len.to_be_bytes());
        out.extend_from_slice(wrapped.as_bytes());
        key.seal_random_nonce_into(&self.provider, &aad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Opens an envelope blob for `tenant` and `context`.
    ///
    /// # Errors
    /// [`KeysError::Truncated`], [`KeysError::UnknownFormat`], [`KeysError::UnknownKek`]
    /// (blob names another KEK), KMS errors, or the opaque [`KeysError::Decrypt`].
    pub async fn open(
        &self,
        tenant: &TenantId,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        let parsed = parse_envelope(blob)?;
        if parsed.kek != self.kek.as_str().as_bytes() {
            return Err(KeysError::UnknownKek(crate::error::untrusted_hex(
                parsed.kek,
            )));
        }
        let key = self.open_key(tenant, parsed.wrapped).await?;
        let aad = envelope_aad(parsed.kek, parsed.wrapped, tenant, context);
        key.open(&parsed.nonce, &aad, parsed.body)
    }

    fn cached_open_key(&self, cache_key: &(String, Vec<u8>)) -> Option<Arc<AeadKey>> {
        let now = self.provider.now();
        let mut map = lock(&self.opening);
        match map.get(cache_key) {
            Some(entry) if self.fresh(entry.created, now) => Some(Arc::clone(&entry.key)),
            Some(_) => {
                map.remove(cache_key);
                None
            }
            None => None,
        }
    }

    async fn open_key(&self, tenant: &TenantId, wrapped: &[u8]) -> Result<Arc<AeadKey>, KeysError> {
        let cache_key = (tenant.as_str().to_owned(), wrapped.to_vec());
        if let Some(key) = self.cached_open_key(&cache_key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(key);
        }
        // One unwrap per wrapped key at a time: the others wait and take its outcome.
        let ticket = self.seq.load(Ordering::SeqCst);
        let flight = flight_for(&self.open_flights, cache_key.clone());
        let mut state = flight.lock().await;
        if let Some(key) = self.cached_open_key(&cache_key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(key);
        }
        if let Some((seq, failure)) = &state.failed {
            if *seq > ticket {
                return Err(failure.error());
            }
        }
        let result = self.unwrap_key(tenant, wrapped, &cache_key).await;
        match &result {
            Ok(_) => state.failed = None,
            Err(e) => {
                let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
                state.failed = Some((seq, Failure::of(e)));
            }
        }
        drop(state);
        done(&self.open_flights, &cache_key, &flight);
        result
    }

    async fn unwrap_key(
        &self,
        tenant: &TenantId,
        wrapped: &[u8],
        cache_key: &(String, Vec<u8>),
    ) -> Result<Arc<AeadKey>, KeysError> {
        self.unwraps.fetch_add(1, Ordering::Relaxed);
        let data = self
            .kms
            .unwrap(
                &self.kek,
                &WrappedKey::new(wrapped.to_vec()),
                &Self::context(tenant),
            )
            .await?;
        let key = Arc::new(AeadKey::new(data.expose_secret())?);
        let now = self.provider.now();
        let mut map = lock(&self.opening);
        if map.len() >= self.config.max_cached {
            map.retain(|_, e| self.fresh(e.created, now));
            evict_oldest(&mut map, self.config.max_cached, |e| e.created);
        }
        map.insert(
            cache_key.clone(),
            OpenKey {
                key: Arc::clone(&key),
                created: now,
            },
        );
        Ok(key)
    }

    /// Drops the expired data keys from both caches now (they also leave whenever a
    /// full cache takes a new key). Returns how many were dropped.
    pub fn sweep_expired(&self) -> usize {
        let now = self.provider.now();
        let mut dropped = 0;
        {
            let mut map = lock(&self.sealing);
            let before = map.len();
            map.retain(|_, e| self.fresh(e.created, now) && e.uses < self.config.max_uses);
            dropped += before - map.len();
        }
        let mut map = lock(&self.opening);
        let before = map.len();
        map.retain(|_, e| self.fresh(e.created, now));
        dropped + (before - map.len())
    }

    /// How many data keys are cached: (for sealing, for opening).
    pub fn cached_keys(&self) -> (usize, usize) {
        (lock(&self.sealing).len(), lock(&self.opening).len())
    }

    /// Drops every cached data key (for example after a KEK rotation).
    pub fn clear_cache(&self) {
        lock(&self.sealing).clear();
        lock(&self.opening).clear();
    }

    /// KMS calls and cache hits so far.
    pub fn stats(&self) -> EnvelopeStats {
        EnvelopeStats {
            wraps: self.wraps.load(Ordering::Relaxed),
            unwraps: self.unwraps.load(Ordering::Relaxed),
            cache_hits: self.hits.load(Ordering::Relaxed),
        }
    }
}

/// The flight of `key`, created if none is running.
fn flight_for<K: std::hash::Hash + Eq>(flights: &Flights<K>, key: K) -> Arc<AsyncMutex<Flight>> {
    Arc::clone(lock(flights).entry(key).or_default())
}

/// Forgets a finished flight unless another caller still holds it (so the map stays as
/// small as the number of calls in progress).
fn done<K: std::hash::Hash + Eq>(flights: &Flights<K>, key: &K, flight: &Arc<AsyncMutex<Flight>>) {
    let mut map = lock(flights);
    // Two references: the map's and the caller's.
    if map
        .get(key)
        .is_some_and(|f| Arc::ptr_eq(f, flight) && Arc::strong_count(f) <= 2)
    {
        map.remove(key);
    }
}

/// Removes the oldest entries until `map` holds fewer than `cap`.
fn evict_oldest<K: Clone + std::hash::Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    created: impl Fn(&V) -> UnixTime,
) {
    while map.len() >= cap.max(1) {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| created(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
}

fn too_long(what: &'static str) -> KeysError {
    KeysError::InvalidInput {
        what,
        value: "longer than 65535 bytes".to_owned(),
    }
}

fn envelope_aad(kek: &[u8], wrapped: &[u8], tenant: &TenantId, context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + 16 + kek.len() + wrapped.len() + context.len() + 64);
    aad.push(ENVELOPE_V1);
    put_lp(&mut aad, kek);
    put_lp(&mut aad, wrapped);
    put_lp(&mut aad, tenant.as_str().as_bytes());
    put_lp(&mut aad, context);
    aad
}

struct ParsedEnvelope<'a> {
    kek: &'a [u8],
    wrapped: &'a [u8],
    nonce: [u8; NONCE_LEN],
    body: &'a [u8],
}

fn take_u16_prefixed(input: &[u8], total: usize) -> Result<(&[u8], &[u8]), KeysError> {
    let (len, rest) = input
        .split_at_checked(2)
        .ok_or(KeysError::Truncated(total))?;
    let len: [u8; 2] = len.try_into().map_err(|_| KeysError::Truncated(total))?;
    rest.split_at_checked(usize::from(u16::from_be_bytes(len)))
        .ok_or(KeysError::Truncated(total))
}

fn parse_envelope(blob: &[u8]) -> Result<ParsedEnvelope<'_>, KeysError> {
    let total = blob.len();
    let (&format, rest) = blob.split_first().ok_or(KeysError::Truncated(0))?;
    if format != ENVELOPE_V1 {
        return Err(KeysError::UnknownFormat(format));
    }
    let (kek, rest) = take_u16_prefixed(rest, total)?;
    let (wrapped, rest) = take_u16_prefixed(rest, total)?;
    let (nonce, body) = rest
        .split_at_checked(NONCE_LEN)
        .ok_or(KeysError::Truncated(total))?;
    if body.len() < TAG_LEN {
        return Err(KeysError::Truncated(total));
    }
    let nonce = nonce_from_slice(nonce).ok_or(KeysError::Truncated(total))?;
    Ok(ParsedEnvelope {
        kek,
        wrapped,
        nonce,
        body,
    })
}

/// Parses an envelope blob's structure without any key (used by the fuzz target).
///
/// # Errors
/// [`KeysError::Truncated`] or [`KeysError::UnknownFormat`].
pub fn inspect_envelope(blob: &[u8]) -> Result<(String, WrappedKey), KeysError> {
    let p = parse_envelope(blob)?;
    Ok((
        String::from_utf8_lossy(p.kek).into_owned(),
        WrappedKey::new(p.wrapped.to_vec()),
    ))
}
