//! The verification engine shared by every scheme.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signature, VerifyingKey};
use portcullis_core::{Provider, UnixTime};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::WebhookError;
use crate::headers::HeaderLookup;
use crate::key::{Key, KeyInner};
use crate::limits::Limits;
use crate::mac::hmac_sha256;
use crate::message::{Candidate, Message};
use crate::replay::{ReplayGuard, ReplayOutcome};
use crate::scheme::Scheme;

/// How far a signed timestamp may be from the clock, each way. Both bounds are
/// inclusive: with the default 300 s, a timestamp 300 s old passes and 301 s old fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tolerance {
    /// How old a timestamp may be.
    pub past: Duration,
    /// How far in the future a timestamp may be.
    pub future: Duration,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            past: Duration::from_secs(300),
            future: Duration::from_secs(300),
        }
    }
}

impl Tolerance {
    /// The same bound both ways.
    pub fn symmetric(each_way: Duration) -> Self {
        Self {
            past: each_way,
            future: each_way,
        }
    }

    /// How long a replay guard must remember an id for deliveries under this tolerance:
    /// the whole window a signed timestamp is accepted in.
    pub fn replay_ttl(&self) -> Duration {
        self.past.saturating_add(self.future)
    }

    fn check(&self, timestamp: u64, now: UnixTime) -> Result<(), WebhookError> {
        let now = now.as_secs();
        let (past, future) = (self.past.as_secs(), self.future.as_secs());
        if now > timestamp {
            let age = now - timestamp;
            if age > past {
                return Err(WebhookError::TimestampTooOld {
                    age_secs: age,
                    tolerance_secs: past,
                });
            }
        } else {
            let ahead = timestamp - now;
            if ahead > future {
                return Err(WebhookError::TimestampInFuture {
                    ahead_secs: ahead,
                    tolerance_secs: future,
                });
            }
        }
        Ok(())
    }
}

/// A request that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Index (in the order given) of the secret that matched.
    pub secret_index: usize,
    /// The signed timestamp, if the scheme has one.
    pub timestamp: Option<UnixTime>,
    /// The signed message id, if the scheme signs one.
    pub id: Option<String>,
    /// The matching HMAC tag, or SHA-256 of the matching Ed25519 signature (public data:
    /// it travelled in the request), for replay ids.
    matched: [u8; 32],
}

impl Verified {
    /// The id a replay guard should remember: the signed message id if the scheme signs
    /// one (`id:<id>`), otherwise a digest of the matching signature (`sig:<hex>`), which
    /// identifies the exact signed content (and timestamp, where signed).
    pub fn replay_id(&self) -> String {
        match &self.id {
            Some(id) => format!("id:{id}"),
            None => {
                let digest = Sha256::digest(self.matched);
                format!("sig:{}", hex::encode(digest.get(..16).unwrap_or(&[])))
            }
        }
    }
}

/// Verifies requests of one scheme against one or more secrets.
///
/// Build it once per endpoint (it holds the parsed keys) and share it.
pub struct Verifier {
    scheme: Arc<dyn Scheme>,
    keys: Vec<Key>,
    provider: Provider,
    tolerance: Tolerance,
    limits: Limits,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme.name())
            .field("keys", &self.keys)
            .field("tolerance", &self.tolerance)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `scheme` accepting any of `secrets` (text as the provider shows
    /// it), reading time from `provider`, with the default [`Tolerance`] and [`Limits`].
    ///
    /// # Errors
    ///
    /// [`WebhookError::NoSecrets`] if `secrets` is empty; [`WebhookError::InvalidSecret`]
    /// (with a hint) for the first secret that does not load.
    pub fn new<I, S>(
        scheme: impl Scheme + 'static,
        secrets: I,
        provider: Provider,
    ) -> Result<Self, WebhookError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::from_dyn(Arc::new(scheme), secrets, provider)
    }

    /// Like [`Verifier::new`] for a scheme already behind an `Arc` (for example
    /// from [`crate::by_name`]).
    ///
    /// # Errors
    ///
    /// As [`Verifier::new`].
    pub fn from_dyn<I, S>(
        scheme: Arc<dyn Scheme>,
        secrets: I,
        provider: Provider,
    ) -> Result<Self, WebhookError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys = secrets
            .into_iter()
            .map(|s| scheme.parse_secret(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::with_keys(scheme, keys, provider)
    }

    /// A verifier from already loaded keys.
    ///
    /// # Errors
    ///
    /// [`WebhookError::NoSecrets`] if `keys` is empty.
    pub fn with_keys(
        scheme: Arc<dyn Scheme>,
        keys: Vec<Key>,
        provider: Provider,
    ) -> Result<Self, WebhookError> {
        if keys.is_empty() {
            return Err(WebhookError::NoSecrets);
        }
        Ok(Self {
            scheme,
            keys,
            provider,
            tolerance: Tolerance::default(),
            limits: Limits::default(),
        })
    }

    /// Replaces the timestamp tolerance.
    pub fn tolerance(mut self, tolerance: Tolerance) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Replaces the input caps.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The scheme.
    pub fn scheme(&self) -> &dyn Scheme {
        &*self.scheme
    }

    /// The configured tolerance.
    pub fn current_tolerance(&self) -> Tolerance {
        self.tolerance
    }

    /// Verifies `body` (the raw bytes, exactly as received) against the signature headers.
    ///
    /// Order: body cap, headers (missing/duplicate/oversized/malformed), timestamp
    /// tolerance, then the signatures: every configured secret against every candidate,
    /// compared in constant time. Returns which secret matched.
    ///
    /// # Errors
    ///
    /// [`WebhookError::BodyTooLarge`], the header errors, [`WebhookError::TimestampTooOld`],
    /// [`WebhookError::TimestampInFuture`], [`WebhookError::NoMatch`].
    pub fn verify<'h>(
        &self,
        headers: &dyn HeaderLookup<'h>,
        body: &[u8],
    ) -> Result<Verified, WebhookError> {
        if body.len() > self.limits.max_body_bytes {
            return Err(WebhookError::BodyTooLarge {
                limit: self.limits.max_body_bytes,
            });
        }
        let message = self.scheme.extract(headers, &self.limits)?;
        if let Some(ts) = message.timestamp {
            self.tolerance.check(ts, self.provider.now())?;
        }
        for (index, key) in self.keys.iter().enumerate() {
            if let Some(matched) = check_key(key, &message, body)? {
                return Ok(Verified {
                    secret_index: index,
                    timestamp: message.timestamp.map(UnixTime::from_secs),
                    id: message.id.map(str::to_owned),
                    matched,
                });
            }
        }
        Err(WebhookError::NoMatch {
            candidates: message.candidates.iter().count(),
            secrets: self.keys.len(),
        })
    }

    /// Verifies, then records the delivery in `guard` under `scope` for `ttl`; a delivery
    /// seen before within its TTL is [`WebhookError::Duplicate`]. Use
    /// [`Tolerance::replay_ttl`] for timestamped schemes, and a TTL as long as you accept
    /// redeliveries for GitHub, Shopify and custom schemes without a timestamp.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`], plus [`WebhookError::Duplicate`] and
    /// [`WebhookError::Backend`] (reject the delivery: the guard could not answer).
    pub async fn verify_once<'h>(
        &self,
        guard: &dyn ReplayGuard,
        scope: &str,
        ttl: Duration,
        headers: &(dyn HeaderLookup<'h> + Sync),
        body: &[u8],
    ) -> Result<Verified, WebhookError> {
        let verified = self.verify(headers, body)?;
        let id = verified.replay_id();
        match guard.check_and_insert(scope, &id, ttl).await? {
            ReplayOutcome::Fresh => Ok(verified),
            ReplayOutcome::Duplicate => Err(WebhookError::Duplicate(id, scope.to_owned())),
        }
    }
}

/// Checks one key against every compatible candidate. Returns the digest of the matching
/// signature. All HMAC candidates are compared (no early exit inside a key).
fn check_key(
    key: &Key,
    message: &Message<'_>,
    body: &[u8],
) -> Result<Option<[u8; 32]>, WebhookError> {
    match &key.0 {
        KeyInner::Hmac(secret) => {
            let expected = hmac_sha256(secret.expose_secret(), &message.content, body)?;
            let mut matched = Choice::from(0);
            for c in message.candidates.iter() {
                if let Candidate::HmacSha256(tag) = c {
                    matched |= tag_eq(&tag, &expected);
                }
            }
            Ok(bool::from(matched).then_some(expected))
        }
        KeyInner::Ed25519Signing(sk) => check_ed25519(&sk.verifying_key(), message, body),
        KeyInner::Ed25519Verifying(vk) => check_ed25519(vk, message, body),
    }
}

fn check_ed25519(
    vk: &VerifyingKey,
    message: &Message<'_>,
    body: &[u8],
) -> Result<Option<[u8; 32]>, WebhookError> {
    let mut content: Option<Vec<u8>> = None;
    for c in message.candidates.iter() {
        if let Candidate::Ed25519(sig) = c {
            let data = content.get_or_insert_with(|| message.content.concat(body));
            if vk.verify_strict(data, &Signature::from_bytes(&sig)).is_ok() {
                return Ok(Some(Sha256::digest(sig).into()));
            }
        }
    }
    Ok(None)
}

/// Constant-time equality of two tags, compared as four 64-bit words with `subtle`.
fn tag_eq(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    let mut equal = Choice::from(1);
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        match (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) {
            (Ok(x), Ok(y)) => equal &= u64::from_le_bytes(x).ct_eq(&u64::from_le_bytes(y)),
            // Cannot happen (chunks of exactly 8); fail closed if it ever did.
            _ => equal = Choice::from(0),
        }
    }
    equal
}
