//! Access tokens issued by identity providers (Auth0, Okta, Keycloak, Cognito, Entra ID,
//! Supabase, Ory, ...): a claim profile per issuer, because their tokens follow their own
//! conventions, not this crate's strict profile.
//!
//! An [`IdpVerifier`] holds one [`IssuerProfile`] per trusted issuer, each with its own
//! keys (a [`SigningKeys`] ring, typically filled from the issuer's JWKS with
//! [`parse_jwks`](crate::parse_jwks)), algorithms, audiences and claim rules. A token is
//! matched to its profile by its `iss` claim, read before the signature is checked only to
//! choose the profile: the profile's keys must then verify it, and every claim is checked
//! after. Keys are pinned per key as everywhere in this crate: the header's `alg` must be
//! the key's algorithm and one the profile allows.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::{KeyId, Provider, TenantId, UnixTime};
use serde_json::{Map, Value};

use crate::claims::Audience;
use crate::dpop::{DpopProof, DpopRequest, DpopVerifier};
use crate::error::TokenError;
use crate::jwt::MAX_LEEWAY;
use crate::remote::RemoteJwks;
use crate::signing_keys::{Algorithm, SigningKeys, parse_header, split_compact};

/// Where a profile's keys come from.
#[derive(Debug, Clone)]
enum KeySource {
    Static(Arc<SigningKeys>),
    Remote(RemoteJwks),
}

/// What the JOSE header's `typ` must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypHeader {
    /// RFC 9068 access tokens: `at+jwt` (or `application/at+jwt`), compared
    /// case-insensitively.
    AtJwt,
    /// `at+jwt`, `JWT`, or no `typ` at all (providers that predate RFC 9068).
    AtJwtOrJwt,
    /// Not checked.
    Any,
}

/// The claim rules and keys of one trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerProfile {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    keys: KeySource,
    require_iat: bool,
    require_nbf: bool,
    require_jti: bool,
    tenant_claim: Option<String>,
    typ: TypHeader,
    leeway: Duration,
    kidless_hs256: bool,
}

impl IssuerProfile {
    /// Tokens of `issuer` (the exact `iss` value) for any of `audiences`, verified with
    /// `keys` under the algorithms in `algorithms`. Defaults: `exp` and `sub` required,
    /// `iat`/`nbf`/`jti` optional, no tenant claim, `typ` `at+jwt` or `JWT` or absent,
    /// 30 s leeway.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for an empty issuer, no audience or no algorithm.
    pub fn new(
        issuer: impl Into<String>,
        audiences: &[&str],
        algorithms: &[Algorithm],
        keys: Arc<SigningKeys>,
    ) -> Result<Self, TokenError> {
        Self::with_source(
            issuer.into(),
            audiences,
            algorithms,
            KeySource::Static(keys),
        )
    }

    /// As [`IssuerProfile::new`], with the keys of a [`RemoteJwks`] (discovery and JWKS
    /// over HTTPS, cached). Verify with [`IdpVerifier::verify_async`], which fetches as
    /// needed; [`IdpVerifier::verify`] uses only what is already cached.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] as for [`IssuerProfile::new`], or if `jwks` was
    /// discovered from another issuer.
    pub fn remote(
        issuer: impl Into<String>,
        audiences: &[&str],
        algorithms: &[Algorithm],
        jwks: RemoteJwks,
    ) -> Result<Self, TokenError> {
        let issuer = issuer.into();
        if jwks.issuer().is_some_and(|i| i != issuer) {
            return Err(TokenError::InvalidConfig {
                reason: "the JWKS was discovered from another issuer".to_owned(),
            });
        }
        Self::with_source(issuer, audiences, algorithms, KeySource::Remote(jwks))
    }

    fn with_source(
        issuer: String,
        audiences: &[&str],
        algorithms: &[Algorithm],
        keys: KeySource,
    ) -> Result<Self, TokenError> {
        let bad = |reason: &str| TokenError::InvalidConfig {
            reason: reason.to_owned(),
        };
        if issuer.is_empty() || issuer.len() > 1024 {
            return Err(bad("issuer must be 1 to 1024 bytes"));
        }
        if audiences.is_empty() || audiences.iter().any(|a| a.is_empty()) {
            return Err(bad("at least one non-empty audience is required"));
        }
        if algorithms.is_empty() {
            return Err(bad("at least one algorithm is required"));
        }
        Ok(Self {
            issuer,
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            algorithms: algorithms.to_vec(),
            keys,
            require_iat: false,
            require_nbf: false,
            require_jti: false,
            tenant_claim: None,
            typ: TypHeader::AtJwtOrJwt,
            leeway: Duration::from_secs(30),
            kidless_hs256: false,
        })
    }

    /// Requires `iat`, `nbf` and/or `jti` to be present.
    #[must_use]
    pub fn require(mut self, iat: bool, nbf: bool, jti: bool) -> Self {
        (self.require_iat, self.require_nbf, self.require_jti) = (iat, nbf, jti);
        self
    }

    /// Reads the tenant from the string claim `name` (for example `org_id` or `tid`); a
    /// token without it, or whose value is not a [`TenantId`], is refused.
    #[must_use]
    pub fn tenant_claim(mut self, name: impl Into<String>) -> Self {
        self.tenant_claim = Some(name.into());
        self
    }

    /// Sets what the header's `typ` must be.
    #[must_use]
    pub fn typ(mut self, typ: TypHeader) -> Self {
        self.typ = typ;
        self
    }

    /// Sets the clock-skew leeway for `exp`, `nbf` and `iat` (at most [`MAX_LEEWAY`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] above the maximum.
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, TokenError> {
        if leeway > MAX_LEEWAY {
            return Err(TokenError::InvalidConfig {
                reason: format!("leeway must be at most {} s", MAX_LEEWAY.as_secs()),
            });
        }
        self.leeway = leeway;
        Ok(self)
    }

    /// Also verifies HS256 tokens without `kid` with each HS256 key of the profile's ring
    /// (as [`TokenConfig::accept_hs256_without_kid`](crate::TokenConfig::accept_hs256_without_kid)),
    /// for providers that sign with one shared secret and no `kid` (Supabase's legacy
    /// secret, for example).
    #[must_use]
    pub fn accept_hs256_without_kid(mut self) -> Self {
        self.kidless_hs256 = true;
        self
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The keys, if they are fixed ([`IssuerProfile::new`]).
    pub fn keys(&self) -> Option<&Arc<SigningKeys>> {
        match &self.keys {
            KeySource::Static(k) => Some(k),
            KeySource::Remote(_) => None,
        }
    }

    /// The remote key set, if the keys are fetched ([`IssuerProfile::remote`]).
    pub fn remote_jwks(&self) -> Option<&RemoteJwks> {
        match &self.keys {
            KeySource::Static(_) => None,
            KeySource::Remote(r) => Some(r),
        }
    }
}

/// An identity provider's token whose signature and claims checked out.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct IdpToken {
    /// `iss`: the profile that verified it.
    pub issuer: String,
    /// `sub`, any non-empty string (`auth0|abc123`, a UUID, an e-mail address).
    pub subject: String,
    /// The tenant read from the profile's tenant claim, if it has one.
    pub tenant: Option<TenantId>,
    /// `exp`.
    pub expires_at: UnixTime,
    /// `iat`, if present.
    pub issued_at: Option<UnixTime>,
    /// `jti`, if present.
    pub jti: Option<String>,
    /// The key that verified it.
    pub kid: KeyId,
    /// Its algorithm.
    pub alg: Algorithm,
    /// Every claim, as the token carries them (scopes, roles, e-mail, ...).
    pub claims: Map<String, Value>,
}

impl fmt::Debug for IdpToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpToken")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("tenant", &self.tenant)
            .field("expires_at", &self.expires_at)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl IdpToken {
    /// The `cnf.jkt` of a DPoP-bound token (RFC 9449 §6), if it has one.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.claims.get("cnf")?.get("jkt")?.as_str()
    }

    /// The space-separated `scope` claim (RFC 9068 / RFC 8693) or the `scp` array
    /// (Entra ID, Okta) as a list.
    pub fn scopes(&self) -> Vec<&str> {
        match (self.claims.get("scope"), self.claims.get("scp")) {
            (Some(Value::String(s)), _) => s.split(' ').filter(|s| !s.is_empty()).collect(),
            (_, Some(Value::Array(a))) => a.iter().filter_map(Value::as_str).collect(),
            (_, Some(Value::String(s))) => s.split(' ').filter(|s| !s.is_empty()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Verifies access tokens of one or more identity providers (see the module docs).
#[derive(Debug, Clone)]
pub struct IdpVerifier {
    issuers: Vec<IssuerProfile>,
    provider: Provider,
    max_len: usize,
}

impl IdpVerifier {
    /// A verifier trusting `issuers` (each `iss` at most once), reading time from
    /// `provider`. Tokens are at most 16 KiB.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for no issuer or one issuer listed twice.
    pub fn new(issuers: Vec<IssuerProfile>, provider: Provider) -> Result<Self, TokenError> {
        if issuers.is_empty() {
            return Err(TokenError::InvalidConfig {
                reason: "at least one issuer is required".to_owned(),
            });
        }
        for (i, p) in issuers.iter().enumerate() {
            if issuers.iter().skip(i + 1).any(|q| q.issuer == p.issuer) {
                return Err(TokenError::InvalidConfig {
                    reason: "an issuer is listed twice".to_owned(),
                });
            }
        }
        Ok(Self {
            issuers,
            provider,
            max_len: 16 * 1024,
        })
    }

    /// The trusted issuers.
    pub fn issuers(&self) -> &[IssuerProfile] {
        &self.issuers
    }

    /// Verifies `token`: its issuer's profile, its key (by `kid`, pinned algorithm, one the
    /// profile allows), its signature (ECDSA low-S unless the key opted out), then `exp`
    /// (required), `nbf`/`iat` (if present or required), `aud`, `sub`, `jti` and the
    /// tenant claim as the profile says, and the header's `typ`.
    ///
    /// # Errors
    ///
    /// `TooLong`, `Malformed`, `UnsupportedAlgorithm`, `UnsupportedCritical`,
    /// `MissingKeyId`, `UnknownKey`, `KeyRetired`, `AlgorithmMismatch`,
    /// `InvalidSignature`, `WrongIssuer` (no profile for its `iss`), `WrongType` (the
    /// `typ` header), `MalformedClaims` (a missing or mistyped claim; never its value),
    /// `WrongAudience`, `Expired`, `NotYetValid`.
    pub fn verify(&self, token: &str) -> Result<IdpToken, TokenError> {
        let parsed = self.parse(token)?;
        let keys = match &parsed.profile.keys {
            KeySource::Static(keys) => Arc::clone(keys),
            KeySource::Remote(remote) => {
                remote.cached().ok_or_else(|| TokenError::JwksUnavailable {
                    reason: "nothing cached (verify_async fetches)".to_owned(),
                })?
            }
        };
        self.finish(parsed, &keys, false)
    }

    /// As [`IdpVerifier::verify`], fetching a remote profile's discovery document and JWKS
    /// when the cache is empty, stale, or lacks the token's `kid` (at most once per
    /// cooldown; see [`RemoteJwks`]). Static profiles verify as with `verify`.
    ///
    /// # Errors
    ///
    /// As [`IdpVerifier::verify`], and [`TokenError::JwksUnavailable`] when a remote key
    /// set cannot be fetched and no copy may be served.
    pub async fn verify_async(&self, token: &str) -> Result<IdpToken, TokenError> {
        let parsed = self.parse(token)?;
        let keys = match &parsed.profile.keys {
            KeySource::Static(keys) => Arc::clone(keys),
            KeySource::Remote(remote) => remote.keys_for(parsed.kid.as_deref()).await?,
        };
        self.finish(parsed, &keys, false)
    }

    /// Verifies a DPoP-bound token (`cnf.jkt`, RFC 9449 §6) presented with its proof for
    /// `request`: the token as [`IdpVerifier::verify_async`], then the proof with `dpop`
    /// ([`DpopVerifier::verify_for_token`]). The plain `verify` and `verify_async` refuse
    /// bound tokens ([`TokenError::DpopBoundTokenAsBearer`]).
    ///
    /// # Errors
    ///
    /// As [`IdpVerifier::verify_async`] and [`DpopVerifier::verify_for_token`], and
    /// [`TokenError::DpopProofInvalid`] if the token is not DPoP-bound.
    pub async fn verify_dpop_async(
        &self,
        token: &str,
        proof: &str,
        request: &DpopRequest<'_>,
        dpop: &DpopVerifier,
    ) -> Result<(IdpToken, DpopProof), TokenError> {
        let parsed = self.parse(token)?;
        let keys = match &parsed.profile.keys {
            KeySource::Static(keys) => Arc::clone(keys),
            KeySource::Remote(remote) => remote.keys_for(parsed.kid.as_deref()).await?,
        };
        let verified = self.finish(parsed, &keys, true)?;
        let jkt = verified
            .dpop_jkt()
            .ok_or(TokenError::DpopProofInvalid {
                reason: "the access token is not DPoP-bound",
            })?
            .to_owned();
        let proof = dpop.verify_for_token(proof, request, token, &jkt).await?;
        Ok((verified, proof))
    }

    /// Everything checked before a key is needed: size, structure, header, profile, the
    /// algorithm the profile allows.
    fn parse<'t>(&'t self, token: &'t str) -> Result<Parsed<'t>, TokenError> {
        if token.len() > self.max_len {
            return Err(TokenError::TooLong {
                len: token.len(),
                max: self.max_len,
            });
        }
        let (header_b64, payload_b64, signature) = split_compact(token)?;
        let header = parse_header(header_b64, &[])?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TokenError::Malformed {
                reason: "payload is not base64url",
            })?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| TokenError::MalformedClaims {
                reason: "claims are not a JSON object".to_owned(),
            })?;
        // Only to choose the profile; its keys decide whether the token is the issuer's.
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("missing or non-string claim `iss`"))?;
        let profile = self
            .issuers
            .iter()
            .find(|p| p.issuer == iss)
            .ok_or(TokenError::WrongIssuer)?;
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(TokenError::Malformed {
                reason: "expected three parts",
            })?;
        let alg =
            Algorithm::from_name(&header.alg).ok_or_else(|| TokenError::UnsupportedAlgorithm {
                alg: crate::error::escape_untrusted(&header.alg, 16),
            })?;
        if !profile.algorithms.contains(&alg) {
            return Err(TokenError::UnsupportedAlgorithm {
                alg: alg.as_str().to_owned(),
            });
        }
        Ok(Parsed {
            profile,
            kid: header.kid,
            typ: header.typ,
            alg,
            signing_input,
            signature,
            claims,
        })
    }

    /// The signature with `keys`, then every claim.
    fn finish(
        &self,
        parsed: Parsed<'_>,
        keys: &SigningKeys,
        with_proof: bool,
    ) -> Result<IdpToken, TokenError> {
        let Parsed {
            profile,
            kid,
            typ,
            alg,
            signing_input,
            signature,
            claims,
        } = parsed;
        let kid = keys
            .verify_signature_of(
                kid.as_deref(),
                alg.as_str(),
                signing_input,
                signature,
                profile.kidless_hs256,
            )?
            .kid
            .clone();
        check_typ(profile.typ, typ.as_deref())?;
        if claims.contains_key("cnf") && !with_proof {
            return Err(TokenError::DpopBoundTokenAsBearer);
        }
        let now = self.provider.now();
        let exp = time_claim(&claims, "exp")?.ok_or_else(|| malformed("missing claim `exp`"))?;
        let iat = time_claim(&claims, "iat")?;
        let nbf = time_claim(&claims, "nbf")?;
        if profile.require_iat && iat.is_none() {
            return Err(malformed("missing claim `iat`"));
        }
        if profile.require_nbf && nbf.is_none() {
            return Err(malformed("missing claim `nbf`"));
        }
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 1024 => s.clone(),
            _ => return Err(malformed("missing, empty or non-string claim `sub`")),
        };
        let jti = match claims.get("jti") {
            None if profile.require_jti => return Err(malformed("missing claim `jti`")),
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => return Err(malformed("claim `jti` is not a non-empty string")),
        };
        let aud: Audience = match claims.get("aud") {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| malformed("claim `aud` is not a string or an array of strings"))?,
            None => return Err(malformed("missing claim `aud`")),
        };
        if !profile.audiences.iter().any(|a| aud.contains(a)) {
            return Err(TokenError::WrongAudience);
        }
        let leeway = profile.leeway;
        if now >= UnixTime::from_secs(exp).saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        let not_before = nbf.into_iter().chain(iat).max();
        if not_before.is_some_and(|t| UnixTime::from_secs(t) > now.saturating_add(leeway)) {
            return Err(TokenError::NotYetValid);
        }
        let tenant = match &profile.tenant_claim {
            None => None,
            Some(name) => Some(
                claims
                    .get(name)
                    .and_then(Value::as_str)
                    .and_then(|t| TenantId::new(t).ok())
                    .ok_or_else(|| TokenError::MalformedClaims {
                        reason: format!(
                            "the tenant claim `{}` is missing or not a tenant id",
                            crate::error::escape_untrusted(name, 64)
                        ),
                    })?,
            ),
        };
        Ok(IdpToken {
            issuer: profile.issuer.clone(),
            subject,
            tenant,
            expires_at: UnixTime::from_secs(exp),
            issued_at: iat.map(UnixTime::from_secs),
            jti,
            kid,
            alg,
            claims,
        })
    }
}

/// A token taken apart, before its signature is checked.
struct Parsed<'t> {
    profile: &'t IssuerProfile,
    kid: Option<String>,
    typ: Option<String>,
    alg: Algorithm,
    signing_input: &'t str,
    signature: &'t str,
    claims: Map<String, Value>,
}

fn malformed(reason: &str) -> TokenError {
    TokenError::MalformedClaims {
        reason: reason.to_owned(),
    }
}

/// A NumericDate claim (RFC 7519): an integer number of seconds; absent is `None`.
fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| TokenError::MalformedClaims {
                reason: format!("claim `{name}` is not a non-negative integer"),
            }),
    }
}

fn check_typ(policy: TypHeader, typ: Option<&str>) -> Result<(), TokenError> {
    let at_jwt =
        |t: &str| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt");
    let ok = match (policy, typ) {
        (TypHeader::Any, _) => true,
        (TypHeader::AtJwt, Some(t)) => at_jwt(t),
        (TypHeader::AtJwt, None) => false,
        (TypHeader::AtJwtOrJwt, None) => true,
        (TypHeader::AtJwtOrJwt, Some(t)) => at_jwt(t) || t.eq_ignore_ascii_case("JWT"),
    };
    if ok {
        Ok(())
    } else {
        Err(TokenError::WrongType {
            expected: if policy == TypHeader::AtJwt {
                "at+jwt"
            } else {
                "at+jwt or JWT"
            },
        })
    }
}
