//! Envelope encryption: each blob's data key is generated and wrapped by a [`Kms`]; data
//! keys are cached with a time-to-live and a usage limit so the KMS is not called per
//! blob, and one KMS call runs per data key whatever the concurrency.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::lock::Mutex as AsyncMutex;
use portcullis_core::{
    BackendError, BackendErrorKind, KeyId, Provider, SecretBytes, TenantId, UnixTime,
};
use serde::{Deserialize, Serialize};

use crate::KeysError;
use crate::aead::AeadKey;
use crate::commit::CommittingKey;
use crate::error::untrusted_hex;
use crate::format::{self, FORMAT_V2, FORMAT_V3, SOURCE_ENVELOPE, Source};
use crate::kms::{Kms, KmsContext, WrappedKey};

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
    /// `Kms::generate_data_key` and `Kms::wrap` calls (new data keys, rewraps).
    pub wraps: u64,
    /// `Kms::unwrap` calls.
    pub unwraps: u64,
    /// Seals or opens served by a cached data key.
    pub cache_hits: u64,
}

/// The outcome of [`Envelope::rewrap`].
#[derive(Debug, PartialEq, Eq)]
pub struct Rewrapped {
    /// The blob to store: new if `changed`, else the input unchanged.
    pub blob: Vec<u8>,
    /// Whether it changed: a format 3 blob under another KEK got its data key rewrapped
    /// under the primary KEK (the ciphertext is untouched), or a format 2 blob was
    /// re-encrypted as format 3.
    pub changed: bool,
}

#[derive(Debug)]
struct SealKey {
    key: Arc<CommittingKey>,
    wrapped: Arc<WrappedKey>,
    created: UnixTime,
    uses: u64,
}

/// An unwrapped data key, expanded for the format it opens.
#[derive(Debug)]
enum OpenedKey {
    Legacy(AeadKey),
    Committing(CommittingKey),
}

#[derive(Debug)]
struct OpenKey {
    key: Arc<OpenedKey>,
    created: UnixTime,
}

/// Cache key of an unwrapped data key: (format, tenant, KEK name, wrapped key).
type OpenCacheKey = (u8, String, Vec<u8>, Vec<u8>);

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

/// Envelope encryption of tenant data under KMS key-encryption keys (KEKs): one primary
/// KEK wraps new data keys, further KEKs (for example the one before a rotation, possibly
/// on another KMS) still open old blobs, and [`Envelope::rewrap`] moves blobs to the
/// primary.
///
/// New blobs are format 3 with key source `0x02` (see the crate docs, "Blob formats"):
/// ```text
/// 0x03 || 0x02 || len(kek id) (u16 BE) || kek id || len(wrapped) (u16 BE) || wrapped key
///      || nonce (12) || commitment (32) || ciphertext || tag (16)
/// aad = 0x03 || 0x02 || lp(tenant) || lp(context)          (lp = u32 BE length prefix)
/// ```
/// with the encryption key and commitment expanded from the data key. Format 2 blobs
/// (written before format 3) still open:
/// ```text
/// 0x02 || len(kek id) (u16 BE) || kek id || len(wrapped) (u16 BE) || wrapped key
///      || nonce (12) || ciphertext || tag (16)
/// aad = 0x02 || lp(kek id) || lp(wrapped key) || lp(tenant) || lp(context)
/// ```
/// with the data key itself as the AES-256-GCM key. In both, the KMS context is
/// `{"portcullis.purpose": "envelope", "portcullis.tenant": <tenant>}`.
#[derive(Debug)]
pub struct Envelope {
    kms: Arc<dyn Kms>,
    kek: KeyId,
    others: HashMap<Vec<u8>, (KeyId, Arc<dyn Kms>)>,
    provider: Provider,
    config: EnvelopeConfig,
    sealing: Mutex<HashMap<String, SealKey>>,
    opening: Mutex<HashMap<OpenCacheKey, OpenKey>>,
    rewrapped: Mutex<HashMap<OpenCacheKey, Arc<WrappedKey>>>,
    seal_flights: Flights<String>,
    open_flights: Flights<OpenCacheKey>,
    seq: AtomicU64,
    wraps: AtomicU64,
    unwraps: AtomicU64,
    hits: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Envelope {
    /// Envelope encryption with the primary KEK `kek` of `kms`.
    pub fn new(kms: Arc<dyn Kms>, kek: KeyId, provider: Provider, config: EnvelopeConfig) -> Self {
        Self {
            kms,
            kek,
            others: HashMap::new(),
            provider,
            config,
            sealing: Mutex::new(HashMap::new()),
            opening: Mutex::new(HashMap::new()),
            rewrapped: Mutex::new(HashMap::new()),
            seal_flights: Mutex::new(HashMap::new()),
            open_flights: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            wraps: AtomicU64::new(0),
            unwraps: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// Also opens blobs whose data key is wrapped under `kek` of `kms` (builder style):
    /// the KEK before a rotation, or one on another KMS during a migration. New blobs use
    /// the primary KEK only; [`Envelope::rewrap`] moves old ones over. Adding the primary
    /// KEK again changes nothing.
    #[must_use]
    pub fn with_decrypt_kek(mut self, kek: KeyId, kms: Arc<dyn Kms>) -> Self {
        if kek != self.kek {
            self.others
                .insert(kek.as_str().as_bytes().to_vec(), (kek, kms));
        }
        self
    }

    /// The primary KEK's name.
    pub fn primary_kek(&self) -> &KeyId {
        &self.kek
    }

    /// The KMS and KEK for a blob's (untrusted) KEK name.
    fn kek_for(&self, name: &[u8]) -> Result<(&KeyId, &Arc<dyn Kms>), KeysError> {
        if name == self.kek.as_str().as_bytes() {
            return Ok((&self.kek, &self.kms));
        }
        self.others
            .get(name)
            .map(|(k, kms)| (k, kms))
            .ok_or_else(|| KeysError::UnknownKek(untrusted_hex(name)))
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

    /// Runs `call` unless a cached value turns up, one call per `key` at a time: callers
    /// that arrive while a call runs wait for it and take its value (from the cache) or
    /// its error.
    async fn single_flight<K, T, Fut>(
        &self,
        flights: &Flights<K>,
        key: &K,
        cached: impl Fn() -> Option<T>,
        call: impl FnOnce() -> Fut,
    ) -> Result<T, KeysError>
    where
        K: Clone + std::hash::Hash + Eq,
        Fut: Future<Output = Result<T, KeysError>>,
    {
        if let Some(found) = cached() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(found);
        }
        let ticket = self.seq.load(Ordering::SeqCst);
        let flight = flight_for(flights, key.clone());
        let mut state = flight.lock().await;
        let result = if let Some(found) = cached() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            Ok(found)
        } else if let Some((_, failure)) = state.failed.as_ref().filter(|(seq, _)| *seq > ticket) {
            Err(failure.error())
        } else {
            let result = call().await;
            match &result {
                Ok(_) => state.failed = None,
                Err(e) => {
                    let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
                    state.failed = Some((seq, Failure::of(e)));
                }
            }
            result
        };
        drop(state);
        done(flights, key, &flight);
        result
    }

    fn cached_seal_key(&self, tenant: &TenantId) -> Option<(Arc<CommittingKey>, Arc<WrappedKey>)> {
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
    ) -> Result<(Arc<CommittingKey>, Arc<WrappedKey>), KeysError> {
        let key = tenant.as_str().to_owned();
        self.single_flight(
            &self.seal_flights,
            &key,
            || self.cached_seal_key(tenant),
            || self.new_seal_key(tenant),
        )
        .await
    }

    async fn new_seal_key(
        &self,
        tenant: &TenantId,
    ) -> Result<(Arc<CommittingKey>, Arc<WrappedKey>), KeysError> {
        self.wraps.fetch_add(1, Ordering::Relaxed);
        let generated = self
            .kms
            .generate_data_key(&self.kek, &Self::context(tenant))
            .await?;
        let wrapped = Arc::new(generated.wrapped);
        let key = Arc::new(CommittingKey::derive(generated.plaintext.expose_secret())?);
        // Blobs sealed here open without a KMS call while the key is fresh.
        let opened = Arc::new(OpenedKey::Committing(CommittingKey::derive(
            generated.plaintext.expose_secret(),
        )?));
        self.remember_open_key(
            (
                FORMAT_V3,
                tenant.as_str().to_owned(),
                self.kek.as_str().as_bytes().to_vec(),
                wrapped.as_bytes().to_vec(),
            ),
            opened,
        );
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

    /// Seals `plaintext` for `tenant` and `context` under a (cached) data key, as a
    /// key-committing format 3 blob.
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
        let aad = format::aad_v3(SOURCE_ENVELOPE, tenant.as_str(), context);
        let mut out =
            Vec::with_capacity(70 + kek.len() + wrapped.as_bytes().len() + plaintext.len());
        format::write_v3_envelope_prefix(&mut out, kek, wrapped.as_bytes())?;
        key.seal_into(&self.provider, &aad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Opens an envelope blob (format 3 or 2) for `tenant` and `context`.
    ///
    /// # Errors
    /// [`KeysError::Truncated`], [`KeysError::UnknownFormat`], [`KeysError::OtherKeySource`]
    /// (a sealer blob), [`KeysError::UnknownKek`] (the blob names a KEK this envelope was
    /// not given), KMS errors, or the opaque [`KeysError::Decrypt`].
    pub async fn open(
        &self,
        tenant: &TenantId,
        context: &[u8],
        blob: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        let parsed = format::parse(blob)?;
        let Source::Envelope { kek, wrapped } = parsed.source else {
            return Err(KeysError::OtherKeySource("a sealed"));
        };
        let key = self.open_key(parsed.format, tenant, kek, wrapped).await?;
        match (key.as_ref(), parsed.commitment) {
            (OpenedKey::Committing(k), Some(commitment)) => {
                let aad = format::aad_v3(SOURCE_ENVELOPE, tenant.as_str(), context);
                k.open(&parsed.nonce, commitment, &aad, parsed.body)
            }
            (OpenedKey::Legacy(k), None) => {
                let aad = format::aad_v2(kek, wrapped, tenant.as_str(), context);
                k.open(&parsed.nonce, &aad, parsed.body)
            }
            _ => Err(KeysError::UnknownFormat(parsed.format)),
        }
    }

    fn cached_open_key(&self, cache_key: &OpenCacheKey) -> Option<Arc<OpenedKey>> {
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

    async fn open_key(
        &self,
        format: u8,
        tenant: &TenantId,
        kek: &[u8],
        wrapped: &[u8],
    ) -> Result<Arc<OpenedKey>, KeysError> {
        let (kek_id, kms) = self.kek_for(kek)?;
        let cache_key = (
            format,
            tenant.as_str().to_owned(),
            kek.to_vec(),
            wrapped.to_vec(),
        );
        self.single_flight(
            &self.open_flights,
            &cache_key,
            || self.cached_open_key(&cache_key),
            || self.unwrap_key(kms.as_ref(), kek_id, tenant, &cache_key),
        )
        .await
    }

    async fn unwrap_key(
        &self,
        kms: &dyn Kms,
        kek: &KeyId,
        tenant: &TenantId,
        cache_key: &OpenCacheKey,
    ) -> Result<Arc<OpenedKey>, KeysError> {
        self.unwraps.fetch_add(1, Ordering::Relaxed);
        let data = kms
            .unwrap(
                kek,
                &WrappedKey::new(cache_key.3.clone()),
                &Self::context(tenant),
            )
            .await?;
        let key = Arc::new(if cache_key.0 == FORMAT_V3 {
            OpenedKey::Committing(CommittingKey::derive(data.expose_secret())?)
        } else {
            OpenedKey::Legacy(AeadKey::new(data.expose_secret())?)
        });
        self.remember_open_key(cache_key.clone(), Arc::clone(&key));
        Ok(key)
    }

    fn remember_open_key(&self, cache_key: OpenCacheKey, key: Arc<OpenedKey>) {
        let now = self.provider.now();
        let mut map = lock(&self.opening);
        if map.len() >= self.config.max_cached {
            map.retain(|_, e| self.fresh(e.created, now));
            evict_oldest(&mut map, self.config.max_cached, |e| e.created);
        }
        map.insert(cache_key, OpenKey { key, created: now });
    }

    /// Moves a blob to the primary KEK. A format 3 blob under another KEK is opened (so a
    /// forged or damaged blob is never carried over), its data key unwrapped by the old
    /// KEK and wrapped by the primary, and the blob rewritten with the new wrapped key
    /// around the same nonce, commitment and ciphertext: two KMS calls per data key, none
    /// per blob sharing it. A format 2 blob is re-encrypted as format 3. A format 3 blob
    /// under the primary is returned unchanged without any KMS call.
    ///
    /// # Errors
    /// As for [`Envelope::open`] and [`Envelope::seal`]; the input is never modified.
    pub async fn rewrap(
        &self,
        tenant: &TenantId,
        context: &[u8],
        blob: &[u8],
    ) -> Result<Rewrapped, KeysError> {
        let parsed = format::parse(blob)?;
        let Source::Envelope { kek, wrapped } = parsed.source else {
            return Err(KeysError::OtherKeySource("a sealed"));
        };
        if parsed.format == FORMAT_V2 {
            let plaintext = self.open(tenant, context, blob).await?;
            let blob = self
                .seal(tenant, context, plaintext.expose_secret())
                .await?;
            return Ok(Rewrapped {
                blob,
                changed: true,
            });
        }
        if kek == self.kek.as_str().as_bytes() {
            return Ok(Rewrapped {
                blob: blob.to_vec(),
                changed: false,
            });
        }
        // Authenticate first: commitment and tag under the data key the old KEK unwraps.
        self.open(tenant, context, blob).await?;
        let cache_key = (
            parsed.format,
            tenant.as_str().to_owned(),
            kek.to_vec(),
            wrapped.to_vec(),
        );
        let cached = lock(&self.rewrapped).get(&cache_key).cloned();
        let new_wrapped = match cached {
            Some(w) => w,
            None => {
                let (kek_id, kms) = self.kek_for(kek)?;
                self.unwraps.fetch_add(1, Ordering::Relaxed);
                let data = kms
                    .unwrap(
                        kek_id,
                        &WrappedKey::new(wrapped.to_vec()),
                        &Self::context(tenant),
                    )
                    .await?;
                self.wraps.fetch_add(1, Ordering::Relaxed);
                let w = Arc::new(
                    self.kms
                        .wrap(&self.kek, &data, &Self::context(tenant))
                        .await?,
                );
                let mut map = lock(&self.rewrapped);
                if map.len() >= self.config.max_cached.max(1) {
                    map.clear();
                }
                map.insert(cache_key, Arc::clone(&w));
                w
            }
        };
        let mut out = Vec::with_capacity(blob.len() + new_wrapped.as_bytes().len());
        format::write_v3_envelope_prefix(
            &mut out,
            self.kek.as_str().as_bytes(),
            new_wrapped.as_bytes(),
        )?;
        out.extend_from_slice(&parsed.nonce);
        out.extend_from_slice(parsed.commitment.unwrap_or_default());
        out.extend_from_slice(parsed.body);
        Ok(Rewrapped {
            blob: out,
            changed: true,
        })
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
        lock(&self.rewrapped).clear();
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

/// Parses an envelope blob's structure without any key (used by the fuzz target): the
/// KEK name (lossy UTF-8 of untrusted bytes) and the wrapped key.
///
/// # Errors
/// [`KeysError::Truncated`], [`KeysError::UnknownFormat`], or
/// [`KeysError::OtherKeySource`] for a sealer blob.
pub fn inspect_envelope(blob: &[u8]) -> Result<(String, WrappedKey), KeysError> {
    match format::parse(blob)?.source {
        Source::Envelope { kek, wrapped } => Ok((
            String::from_utf8_lossy(kek).into_owned(),
            WrappedKey::new(wrapped.to_vec()),
        )),
        Source::Derived(_) => Err(KeysError::OtherKeySource("a sealed")),
    }
}
