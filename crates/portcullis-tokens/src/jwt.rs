//! Issuing and verifying access tokens, scoped tokens and tickets.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Header, encode};

use portcullis_core::{ActorId, KeyId, Provider, TenantId, UnixTime, random_array};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::claims::{Claims, NoExtra, RESERVED, TokenType, check_label, decode_claims};
use crate::dpop::{DpopProof, DpopRequest, DpopVerifier};
use crate::error::{TokenError, escape_untrusted};
use crate::refresh::{FamilyId, FamilyStatus, MemoryRefreshStore, RefreshStore};
use crate::revocation::{
    MemoryRevocationStore, RevocationReason, RevocationStatus, RevocationStore,
};
use crate::signing_keys::{SigningKeys, parse_header, split_compact, to_low_s};
use crate::tickets::{MemoryTicketStore, TicketStore};

/// Largest leeway accepted by [`TokenConfig::with_leeway`].
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Issuer, audience, lifetimes and limits for [`TokenService`].
#[derive(Debug, Clone)]
pub struct TokenConfig {
    issuer: String,
    audience: String,
    access_ttl: Duration,
    scoped_ttl: Duration,
    ticket_ttl: Duration,
    leeway: Duration,
    max_len: usize,
    kidless_hs256: bool,
}

impl TokenConfig {
    /// Defaults: access tokens 1 hour, scoped tokens 5 minutes, tickets 30 seconds, leeway
    /// 30 seconds, tokens at most 8 KiB.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] if `issuer` or `audience` is empty or longer than 256
    /// bytes.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, TokenError> {
        let (issuer, audience) = (issuer.into(), audience.into());
        for (what, v) in [("issuer", &issuer), ("audience", &audience)] {
            if v.is_empty() || v.len() > 256 {
                return Err(TokenError::InvalidConfig {
                    reason: format!("{what} must be 1 to 256 bytes"),
                });
            }
        }
        Ok(Self {
            issuer,
            audience,
            access_ttl: Duration::from_secs(3600),
            scoped_ttl: Duration::from_secs(300),
            ticket_ttl: Duration::from_secs(30),
            leeway: Duration::from_secs(30),
            max_len: 8 * 1024,
            kidless_hs256: false,
        })
    }

    /// Sets the access-token lifetime (1 second to 1 day).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] when out of range.
    pub fn with_access_ttl(mut self, ttl: Duration) -> Result<Self, TokenError> {
        self.access_ttl = check_ttl("access ttl", ttl, 86_400)?;
        Ok(self)
    }

    /// Sets the default scoped-token lifetime (1 second to 1 day).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] when out of range.
    pub fn with_scoped_ttl(mut self, ttl: Duration) -> Result<Self, TokenError> {
        self.scoped_ttl = check_ttl("scoped ttl", ttl, 86_400)?;
        Ok(self)
    }

    /// Sets the ticket lifetime (1 second to 10 minutes).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] when out of range.
    pub fn with_ticket_ttl(mut self, ttl: Duration) -> Result<Self, TokenError> {
        self.ticket_ttl = check_ttl("ticket ttl", ttl, 600)?;
        Ok(self)
    }

    /// Sets the clock-skew leeway applied to `exp`, `nbf` and `iat` (at most [`MAX_LEEWAY`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] when above the maximum.
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, TokenError> {
        if leeway > MAX_LEEWAY {
            return Err(TokenError::InvalidConfig {
                reason: format!("leeway must be at most {} s", MAX_LEEWAY.as_secs()),
            });
        }
        self.leeway = leeway;
        Ok(self)
    }

    /// Sets the longest token accepted, in bytes (256 to 65 536).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] when out of range.
    pub fn with_max_len(mut self, max: usize) -> Result<Self, TokenError> {
        if !(256..=65_536).contains(&max) {
            return Err(TokenError::InvalidConfig {
                reason: "max token length must be 256 to 65536 bytes".to_owned(),
            });
        }
        self.max_len = max;
        Ok(self)
    }

    /// Also verifies HS256 tokens whose header has no `kid` (PyJWT's and jsonwebtoken's
    /// default), by trying each HS256 key of the ring: the active one, then the previous
    /// (verify-only) ones, newest first. Without it such tokens fail with
    /// [`TokenError::MissingKeyId`]. Other algorithms always need a `kid`. The time a
    /// refusal takes grows with the number of HS256 keys tried.
    #[must_use]
    pub fn accept_hs256_without_kid(mut self) -> Self {
        self.kidless_hs256 = true;
        self
    }

    /// The configured leeway.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// How long a logout epoch set at `at` must be kept: until every token issued at or
    /// before `at` has expired, leeway included (`at` + the longest of the access,
    /// scoped and ticket lifetimes + leeway). Scoped tokens never outlive their parent,
    /// so the access lifetime bounds them too.
    pub fn epoch_retention(&self, at: UnixTime) -> UnixTime {
        let longest = self.access_ttl.max(self.scoped_ttl).max(self.ticket_ttl);
        at.saturating_add(longest).saturating_add(self.leeway)
    }
}

fn check_ttl(what: &str, ttl: Duration, max_secs: u64) -> Result<Duration, TokenError> {
    if ttl < Duration::from_secs(1) || ttl > Duration::from_secs(max_secs) {
        return Err(TokenError::InvalidConfig {
            reason: format!("{what} must be 1 to {max_secs} s"),
        });
    }
    Ok(ttl)
}

/// A token just issued, with its id and expiry (for cookies and revocation).
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: UnixTime,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The stores a [`TokenService`] consults on every verify: revocations (token ids and
/// logout epochs), sessions (refresh families, shared with
/// [`RefreshTokens`](crate::RefreshTokens)) and redeemed tickets.
#[derive(Debug, Clone)]
pub struct TokenStores {
    /// Revoked token ids and subject/tenant logout epochs.
    pub revocation: Arc<dyn RevocationStore>,
    /// Sessions (refresh families): a token naming a session is valid only while the
    /// session is live.
    pub sessions: Arc<dyn RefreshStore>,
    /// Redeemed one-time tickets.
    pub tickets: Arc<dyn TicketStore>,
}

impl TokenStores {
    /// The in-memory stores of this crate (one process; state is lost on restart), with
    /// the revocation store reading time from `provider`.
    pub fn in_memory(provider: &Provider) -> Self {
        Self {
            revocation: Arc::new(MemoryRevocationStore::new(provider.clone())),
            sessions: Arc::new(MemoryRefreshStore::new()),
            tickets: Arc::new(MemoryTicketStore::new()),
        }
    }
}

/// A token whose signature and claims checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified<E = NoExtra> {
    /// Its claims.
    pub claims: Claims<E>,
    /// The key that signed it.
    pub kid: KeyId,
}

/// Issues and verifies the JWTs of one issuer/audience with one [`SigningKeys`], consulting
/// its [`TokenStores`] on every verify.
#[derive(Debug, Clone)]
pub struct TokenService {
    ring: Arc<SigningKeys>,
    config: TokenConfig,
    stores: TokenStores,
    provider: Provider,
}

impl TokenService {
    /// A service signing with `ring`'s active key, checking revocations, sessions and
    /// tickets in `stores`, reading time and randomness from `provider`.
    pub fn new(
        ring: Arc<SigningKeys>,
        config: TokenConfig,
        stores: TokenStores,
        provider: Provider,
    ) -> Self {
        Self {
            ring,
            config,
            stores,
            provider,
        }
    }

    /// The stores this service consults.
    pub fn stores(&self) -> &TokenStores {
        &self.stores
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// The key ring.
    pub fn ring(&self) -> &Arc<SigningKeys> {
        &self.ring
    }

    /// Issues an access token for `subject` in `tenant`, optionally bound to the session
    /// `session` (a refresh-token family), with caller-defined `extra` claims.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] if `extra` does not serialize to a JSON object or
    /// reuses a registered claim name; [`TokenError::SigningKeys`] without an active key;
    /// [`TokenError::Random`], [`TokenError::Signing`].
    pub fn issue_access<E: Serialize>(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        session: Option<&FamilyId>,
        extra: &E,
    ) -> Result<IssuedToken, TokenError> {
        let mut claims = extra_claims(extra)?;
        if let Some(sid) = session {
            claims.insert("sid".into(), Value::String(sid.to_string()));
        }
        self.sign(
            TokenType::Access,
            tenant,
            subject,
            self.config.access_ttl,
            claims,
        )
    }

    /// As [`TokenService::issue_access`], bound to the DPoP key whose RFC 7638 thumbprint
    /// is `jkt` (RFC 9449 §6: `"cnf": {"jkt": ...}`, typically [`DpopProof::jkt`] of the
    /// proof sent to the token endpoint). The token then verifies only with a proof of
    /// that key ([`TokenService::verify_access_dpop`]).
    ///
    /// # Errors
    ///
    /// As [`TokenService::issue_access`].
    pub fn issue_access_dpop<E: Serialize>(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        session: Option<&FamilyId>,
        extra: &E,
        jkt: &KeyId,
    ) -> Result<IssuedToken, TokenError> {
        let mut claims = extra_claims(extra)?;
        if let Some(sid) = session {
            claims.insert("sid".into(), Value::String(sid.to_string()));
        }
        claims.insert("cnf".into(), serde_json::json!({ "jkt": jkt.as_str() }));
        self.sign(
            TokenType::Access,
            tenant,
            subject,
            self.config.access_ttl,
            claims,
        )
    }

    /// Issues a scoped token restricted to `resource` and `role`, derived from the verified
    /// access token `parent`: it carries the parent's tenant, subject and session, so
    /// revoking the session revokes it. Its lifetime is `ttl` (default: the configured
    /// scoped lifetime), never beyond the parent's expiry.
    ///
    /// # Errors
    ///
    /// [`TokenError::NoParentSession`] if `parent` has no `sid`; [`TokenError::WrongType`]
    /// if `parent` is not an access token; [`TokenError::InvalidConfig`] for bad labels.
    pub fn issue_scoped<E>(
        &self,
        parent: &Verified<E>,
        resource: &str,
        role: &str,
        ttl: Option<Duration>,
    ) -> Result<IssuedToken, TokenError> {
        if parent.claims.typ != TokenType::Access.as_str() {
            return Err(TokenError::WrongType {
                expected: TokenType::Access.as_str(),
            });
        }
        let sid = parent
            .claims
            .sid
            .as_ref()
            .ok_or(TokenError::NoParentSession)?;
        check_label("resource", resource)?;
        check_label("role", role)?;
        let now = self.provider.now();
        let parent_left = parent
            .claims
            .expires_at()
            .duration_since(now)
            .unwrap_or_default();
        let ttl = ttl.unwrap_or(self.config.scoped_ttl).min(parent_left);
        let ttl = check_ttl("scoped ttl (bounded by the parent's expiry)", ttl, 86_400)?;
        let mut claims = Map::new();
        claims.insert("sid".into(), Value::String(sid.to_string()));
        claims.insert("res".into(), Value::String(resource.to_owned()));
        claims.insert("role".into(), Value::String(role.to_owned()));
        self.sign(
            TokenType::Scoped,
            &parent.claims.tid,
            &parent.claims.sub,
            ttl,
            claims,
        )
    }

    /// Issues a one-time ticket for `subject` and `purpose` (for example `ws-upgrade`),
    /// valid for the configured ticket lifetime (30 s by default).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for a bad purpose label; signing errors as
    /// [`TokenService::issue_access`].
    pub fn issue_ticket(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
        purpose: &str,
    ) -> Result<IssuedToken, TokenError> {
        check_label("purpose", purpose)?;
        let mut claims = Map::new();
        claims.insert("pur".into(), Value::String(purpose.to_owned()));
        self.sign(
            TokenType::Ticket,
            tenant,
            subject,
            self.config.ticket_ttl,
            claims,
        )
    }

    fn sign(
        &self,
        typ: TokenType,
        tenant: &TenantId,
        subject: &ActorId,
        ttl: Duration,
        mut claims: Map<String, Value>,
    ) -> Result<IssuedToken, TokenError> {
        let key = self.ring.active()?;
        let encoding = key.encoding.as_ref().ok_or(TokenError::Signing)?;
        let now = self.provider.now().as_secs();
        let exp = now.saturating_add(ttl.as_secs());
        let jti = URL_SAFE_NO_PAD.encode(random_array::<16>(&self.provider)?);
        let registered = [
            ("iss", Value::String(self.config.issuer.clone())),
            ("aud", Value::String(self.config.audience.clone())),
            ("sub", Value::String(subject.to_string())),
            ("tid", Value::String(tenant.to_string())),
            ("iat", Value::from(now)),
            ("nbf", Value::from(now)),
            ("exp", Value::from(exp)),
            ("jti", Value::String(jti.clone())),
            ("typ", Value::String(typ.as_str().to_owned())),
        ];
        for (k, v) in registered {
            claims.insert(k.to_owned(), v);
        }
        let mut header = Header::new(key.alg.jwt());
        header.kid = Some(key.kid.to_string());
        let token = encode(&header, &claims, encoding).map_err(|_| TokenError::Signing)?;
        let token = to_low_s(token, key.alg)?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at: UnixTime::from_secs(exp),
        })
    }

    /// Verifies an access token completely: signature, claims (type, issuer, audience,
    /// times), revocation (its `jti`, and its `iat` against the subject's and the
    /// tenant's logout epochs) and, when it names a session (`sid`), that the session is
    /// still live and belongs to its subject. This is the check every request needs.
    ///
    /// # Errors
    ///
    /// Every rejection is a distinct [`TokenError`]: `TooLong`, `Malformed`,
    /// `UnsupportedAlgorithm`, `MissingKeyId`, `UnknownKey`, `KeyRetired`,
    /// `AlgorithmMismatch`, `InvalidSignature`, `MalformedClaims`, `WrongType`,
    /// `WrongIssuer`, `WrongAudience`, `Expired`, `NotYetValid`, `Revoked` (with the
    /// [`RevocationReason`]), and `Backend` when a store cannot answer (fail closed).
    pub async fn verify_access<E: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<E>, TokenError> {
        let verified = self.verify_typed(token, TokenType::Access)?;
        if verified.claims.cnf.is_some() {
            return Err(TokenError::DpopBoundTokenAsBearer);
        }
        self.check_revocation(&verified.claims).await?;
        if let Some(sid) = &verified.claims.sid {
            self.check_session(&verified.claims, sid).await?;
        }
        Ok(verified)
    }

    /// Verifies a DPoP-bound access token presented with its proof (`Authorization: DPoP
    /// <token>` and the `DPoP` header) for `request`: the token as
    /// [`TokenService::verify_access`] does, then the proof with `dpop`
    /// ([`DpopVerifier::verify_for_token`]: `ath` and the key of `cnf.jkt`).
    ///
    /// # Errors
    ///
    /// As [`TokenService::verify_access`] and [`DpopVerifier::verify_for_token`], and
    /// [`TokenError::DpopProofInvalid`] if the token is not DPoP-bound.
    pub async fn verify_access_dpop<E: DeserializeOwned>(
        &self,
        token: &str,
        proof: &str,
        request: &DpopRequest<'_>,
        dpop: &DpopVerifier,
    ) -> Result<(Verified<E>, DpopProof), TokenError> {
        let verified: Verified<E> = self.verify_typed(token, TokenType::Access)?;
        let jkt = match &verified.claims.cnf {
            Some(cnf) => cnf.jkt.clone(),
            None => {
                return Err(TokenError::DpopProofInvalid {
                    reason: "the access token is not DPoP-bound",
                });
            }
        };
        self.check_revocation(&verified.claims).await?;
        if let Some(sid) = &verified.claims.sid {
            self.check_session(&verified.claims, sid).await?;
        }
        let proof = dpop.verify_for_token(proof, request, token, &jkt).await?;
        Ok((verified, proof))
    }

    /// Verifies a scoped token for `resource`: signature and claims, then that it names
    /// `resource`, then revocation, then that its parent session (refresh family) is
    /// still live.
    ///
    /// # Errors
    ///
    /// As [`TokenService::verify_access`], plus [`TokenError::WrongScope`] for another
    /// resource and [`TokenError::Revoked`] with [`RevocationReason::SessionEnded`] when
    /// the parent session is revoked or expired.
    pub async fn verify_scoped(
        &self,
        token: &str,
        resource: &str,
    ) -> Result<Verified<NoExtra>, TokenError> {
        let verified = self.verify_typed::<NoExtra>(token, TokenType::Scoped)?;
        let claims = &verified.claims;
        let (Some(sid), Some(res), Some(_role)) = (&claims.sid, &claims.res, &claims.role) else {
            return Err(TokenError::MalformedClaims {
                reason: "scoped token lacks `sid`, `res` or `role`".to_owned(),
            });
        };
        if res != resource {
            return Err(TokenError::WrongScope {
                requested: escape_untrusted(resource, 64),
            });
        }
        self.check_revocation(claims).await?;
        self.check_session(claims, sid).await?;
        Ok(verified)
    }

    /// Redeems a one-time ticket for `purpose` presented by `subject`: verifies it, checks
    /// that it was issued for `purpose` and to `subject`, that no revocation (its `jti`,
    /// the subject's or the tenant's logout) covers it, then consumes its `jti`
    /// atomically, so a second redemption fails even when both race. A refused ticket is
    /// not consumed.
    ///
    /// # Errors
    ///
    /// As [`TokenService::verify_access`] (with `typ` = `ticket`), plus
    /// [`TokenError::WrongScope`] for another purpose, [`TokenError::WrongSubject`] for
    /// another subject, [`TokenError::TicketAlreadyUsed`] and [`TokenError::Backend`].
    pub async fn redeem_ticket(
        &self,
        token: &str,
        purpose: &str,
        subject: &ActorId,
    ) -> Result<Verified<NoExtra>, TokenError> {
        let verified = self.verify_typed::<NoExtra>(token, TokenType::Ticket)?;
        if verified.claims.pur.as_deref() != Some(purpose) {
            return Err(TokenError::WrongScope {
                requested: escape_untrusted(purpose, 64),
            });
        }
        if verified.claims.sub != *subject {
            return Err(TokenError::WrongSubject);
        }
        self.check_revocation(&verified.claims).await?;
        let keep_until = verified
            .claims
            .expires_at()
            .saturating_add(self.config.leeway);
        let first = self
            .stores
            .tickets
            .consume(
                &verified.claims.tid,
                &verified.claims.jti,
                keep_until,
                self.provider.now(),
            )
            .await?;
        if first {
            Ok(verified)
        } else {
            Err(TokenError::TicketAlreadyUsed)
        }
    }

    /// Revokes one verified token by its `jti` until it would have expired anyway.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke<E: Sync>(&self, claims: &Claims<E>) -> Result<(), TokenError> {
        let keep_until = claims.expires_at().saturating_add(self.config.leeway);
        self.stores
            .revocation
            .revoke_jti(&claims.tid, &claims.jti, keep_until)
            .await
    }

    /// Logs `subject` out of `tenant` everywhere: every token of the subject issued at or
    /// before now is revoked. The epoch is kept for
    /// [`TokenConfig::epoch_retention`] (until every such token has expired), so no
    /// token issued before the logout verifies again. Returns the epoch.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke_subject(
        &self,
        tenant: &TenantId,
        subject: &ActorId,
    ) -> Result<UnixTime, TokenError> {
        let at = self.provider.now();
        self.stores
            .revocation
            .revoke_subject_before(tenant, subject, at, self.config.epoch_retention(at))
            .await?;
        Ok(at)
    }

    /// Logs every subject of `tenant` out: every token of the tenant issued at or before
    /// now is revoked, kept as [`TokenService::revoke_subject`] keeps its epoch. Returns
    /// the epoch.
    ///
    /// # Errors
    ///
    /// [`TokenError::Backend`].
    pub async fn revoke_tenant(&self, tenant: &TenantId) -> Result<UnixTime, TokenError> {
        let at = self.provider.now();
        self.stores
            .revocation
            .revoke_tenant_before(tenant, at, self.config.epoch_retention(at))
            .await?;
        Ok(at)
    }

    async fn check_revocation<E>(&self, claims: &Claims<E>) -> Result<(), TokenError> {
        match self
            .stores
            .revocation
            .check(&claims.tid, &claims.sub, &claims.jti, claims.issued_at())
            .await?
        {
            RevocationStatus::NotRevoked => Ok(()),
            RevocationStatus::Revoked(reason) => Err(TokenError::Revoked { reason }),
        }
    }

    async fn check_session<E>(&self, claims: &Claims<E>, sid: &FamilyId) -> Result<(), TokenError> {
        match self
            .stores
            .sessions
            .family_status(&claims.tid, sid, self.provider.now())
            .await?
        {
            FamilyStatus::Active { subject } if subject == claims.sub => Ok(()),
            _ => Err(TokenError::Revoked {
                reason: RevocationReason::SessionEnded,
            }),
        }
    }

    /// Verifies signature and claim policy for a token of type `expected`, with no store
    /// lookup: the part of every verify that needs no store. Public only through
    /// [`crate::danger`].
    pub(crate) fn verify_typed<E: DeserializeOwned>(
        &self,
        token: &str,
        expected: TokenType,
    ) -> Result<Verified<E>, TokenError> {
        if token.len() > self.config.max_len {
            return Err(TokenError::TooLong {
                len: token.len(),
                max: self.config.max_len,
            });
        }
        let (header_b64, payload_b64, signature) = split_compact(token)?;
        let header = parse_header(header_b64, &[])?;
        // The signature is checked by jsonwebtoken's crypto provider with the key's pinned
        // algorithm (HMAC comparison in constant time), before any claim is decoded.
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(TokenError::Malformed {
                reason: "expected three parts",
            })?;
        let key = self.ring.verify_signature_of(
            header.kid.as_deref(),
            &header.alg,
            signing_input,
            signature,
            self.config.kidless_hs256,
        )?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TokenError::Malformed {
                reason: "payload is not base64url",
            })?;
        let claims = decode_claims::<E>(&payload)?;
        verify_claims(&claims, expected, &self.config, self.provider.now())?;
        Ok(Verified {
            claims,
            kid: key.kid.clone(),
        })
    }
}
/// The claim policy, applied to every token after its signature verified.
pub(crate) fn verify_claims<E>(
    claims: &Claims<E>,
    expected: TokenType,
    config: &TokenConfig,
    now: UnixTime,
) -> Result<(), TokenError> {
    if claims.typ != expected.as_str() {
        return Err(TokenError::WrongType {
            expected: expected.as_str(),
        });
    }
    if claims.iss != config.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if !claims.aud.contains(&config.audience) {
        return Err(TokenError::WrongAudience);
    }
    let leeway = config.leeway;
    if now >= claims.expires_at().saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    let not_before = UnixTime::from_secs(claims.nbf.max(claims.iat));
    if not_before > now.saturating_add(leeway) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

fn extra_claims<E: Serialize>(extra: &E) -> Result<Map<String, Value>, TokenError> {
    let value = serde_json::to_value(extra).map_err(|e| TokenError::InvalidConfig {
        reason: format!("extra claims do not serialize: {e}"),
    })?;
    let Value::Object(map) = value else {
        return Err(TokenError::InvalidConfig {
            reason: "extra claims must serialize to a JSON object".to_owned(),
        });
    };
    if let Some(name) = map.keys().find(|k| RESERVED.contains(&k.as_str())) {
        return Err(TokenError::InvalidConfig {
            reason: format!("extra claim `{name}` reuses a registered claim name"),
        });
    }
    Ok(map)
}
