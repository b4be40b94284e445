//! DPoP (RFC 9449): proof-of-possession for access tokens. A client signs a short proof
//! JWT per request with a key it holds; an access token bound to that key (`cnf.jkt`, the
//! key's RFC 7638 thumbprint) is useless without it.
//!
//! [`DpopVerifier::verify`] checks a proof as RFC 9449 §4.3 lists (typ `dpop+jwt`, an
//! allowed asymmetric algorithm, a public `jwk` in the header that verifies the signature,
//! `htm`, `htu` compared after normalisation without query and fragment, `iat` within the
//! window, the server's nonce when it requires one) and accepts each proof once (`jti`,
//! through a [`DpopReplayStore`]). [`DpopVerifier::verify_for_token`] adds the access-token
//! checks of §7: `ath` is the token's hash and the proof key is the token's `cnf.jkt`.
//!
//! Tokens: [`TokenService::issue_access_dpop`](crate::TokenService::issue_access_dpop)
//! binds an access token to a key; [`TokenService::verify_access`](crate::TokenService::verify_access)
//! refuses a bound token (it was presented as `Bearer`), and
//! [`TokenService::verify_access_dpop`](crate::TokenService::verify_access_dpop) verifies
//! token and proof together.

mod nonce;
mod replay;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::{KeyId, Provider, UnixTime};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use url::Url;

pub use nonce::DpopNonces;
pub use replay::{DpopReplayStore, MemoryDpopReplayStore};

use crate::error::TokenError;
use crate::signing_keys::{Algorithm, parse_header, split_compact, verify_with_embedded_jwk};

/// The largest proof accepted (bytes).
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// What proofs a [`DpopVerifier`] accepts.
#[derive(Debug, Clone)]
pub struct DpopConfig {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    leeway: Duration,
}

impl Default for DpopConfig {
    /// ES256, ES384, EdDSA, RS256 and PS256; a proof at most 60 s old, 5 s of clock skew.
    fn default() -> Self {
        Self {
            algorithms: vec![
                Algorithm::Es256,
                Algorithm::Es384,
                Algorithm::EdDsa,
                Algorithm::Rs256,
                Algorithm::Ps256,
            ],
            max_age: Duration::from_secs(60),
            leeway: Duration::from_secs(5),
        }
    }
}

impl DpopConfig {
    /// The algorithms proofs may use (asymmetric only).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] for an empty list or HS256.
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Result<Self, TokenError> {
        if algorithms.is_empty() || algorithms.contains(&Algorithm::Hs256) {
            return Err(TokenError::InvalidConfig {
                reason: "DPoP needs at least one asymmetric algorithm, and no HS256".to_owned(),
            });
        }
        self.algorithms = algorithms.to_vec();
        Ok(self)
    }

    /// A proof's `iat` may be at most `max_age` in the past and `leeway` in the future
    /// (plus `leeway` of skew on the past side too); its `jti` is remembered that long.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] unless `1 s <= max_age <= 10 min` and
    /// `leeway <= 60 s`.
    pub fn window(mut self, max_age: Duration, leeway: Duration) -> Result<Self, TokenError> {
        if max_age < Duration::from_secs(1)
            || max_age > Duration::from_secs(600)
            || leeway > Duration::from_secs(60)
        {
            return Err(TokenError::InvalidConfig {
                reason: "the DPoP window must be 1 s to 10 min, the leeway at most 60 s".to_owned(),
            });
        }
        (self.max_age, self.leeway) = (max_age, leeway);
        Ok(self)
    }
}

/// The nonce a request requires.
#[derive(Debug, Clone, Copy)]
enum NonceRule<'a> {
    None,
    Exact(&'a str),
    Issued(&'a DpopNonces),
}

/// The request a proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    method: &'a str,
    url: &'a str,
    nonce: NonceRule<'a>,
}

impl<'a> DpopRequest<'a> {
    /// A request with HTTP `method` (compared exactly, as methods are case-sensitive) to
    /// `url` (the absolute URL the server was reached at; query and fragment are ignored).
    pub fn new(method: &'a str, url: &'a str) -> Self {
        Self {
            method,
            url,
            nonce: NonceRule::None,
        }
    }

    /// Requires the proof to carry `nonce` (RFC 9449 §8, a value the server issued in a
    /// `DPoP-Nonce` header); a proof without it, or with another, is
    /// [`TokenError::DpopNonceRequired`] (answer `use_dpop_nonce` with a fresh nonce).
    #[must_use]
    pub fn with_nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = NonceRule::Exact(nonce);
        self
    }

    /// Requires the proof to carry a nonce `nonces` issued (the current or the previous
    /// window's); otherwise [`TokenError::DpopNonceRequired`] (answer `use_dpop_nonce`
    /// with [`DpopNonces::current`]).
    #[must_use]
    pub fn with_nonces(mut self, nonces: &'a DpopNonces) -> Self {
        self.nonce = NonceRule::Issued(nonces);
        self
    }
}

/// A proof that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof key: the `jkt` to bind tokens to.
    pub jkt: KeyId,
    /// The proof's algorithm.
    pub alg: Algorithm,
    /// Its `jti`.
    pub jti: String,
    /// Its `iat`.
    pub issued_at: UnixTime,
}

/// Verifies DPoP proofs (see the module docs).
#[derive(Debug, Clone)]
pub struct DpopVerifier {
    config: DpopConfig,
    replay: Arc<dyn DpopReplayStore>,
    provider: Provider,
}

impl DpopVerifier {
    /// A verifier with `config`, remembering proofs in `replay`, reading time from
    /// `provider`.
    pub fn new(config: DpopConfig, replay: Arc<dyn DpopReplayStore>, provider: Provider) -> Self {
        Self {
            config,
            replay,
            provider,
        }
    }

    /// Verifies a proof not tied to an access token (at the token endpoint, for example):
    /// every check of RFC 9449 §4.3, then that its `jti` was not seen. A proof carrying
    /// `ath` is refused here (it belongs with a token: use
    /// [`DpopVerifier::verify_for_token`]).
    ///
    /// # Errors
    ///
    /// [`TokenError::DpopProofInvalid`] naming the failed check,
    /// [`TokenError::DpopNonceRequired`], [`TokenError::DpopProofReplayed`], and
    /// [`TokenError::Backend`] if the replay store cannot answer.
    pub async fn verify(
        &self,
        proof: &str,
        request: &DpopRequest<'_>,
    ) -> Result<DpopProof, TokenError> {
        self.check(proof, request, None).await
    }

    /// Verifies a proof presented with `access_token`, whose `cnf.jkt` is `jkt`: as
    /// [`DpopVerifier::verify`], plus `ath` must be the base64url SHA-256 of
    /// `access_token` and the proof key's thumbprint must be `jkt`.
    ///
    /// # Errors
    ///
    /// As [`DpopVerifier::verify`], and [`TokenError::DpopKeyMismatch`] when the proof
    /// is signed by another key than the token's.
    pub async fn verify_for_token(
        &self,
        proof: &str,
        request: &DpopRequest<'_>,
        access_token: &str,
        jkt: &str,
    ) -> Result<DpopProof, TokenError> {
        self.check(proof, request, Some((access_token, jkt))).await
    }

    async fn check(
        &self,
        proof: &str,
        request: &DpopRequest<'_>,
        token: Option<(&str, &str)>,
    ) -> Result<DpopProof, TokenError> {
        if proof.len() > MAX_PROOF_LEN {
            return Err(invalid("the proof is longer than 8 KiB"));
        }
        let (header_b64, payload_b64, signature) =
            split_compact(proof).map_err(|_| invalid("the proof is not a compact JWS"))?;
        let header = parse_header(header_b64, &[]).map_err(|e| match e {
            TokenError::UnsupportedAlgorithm { .. } => invalid("its `alg` is not supported"),
            TokenError::UnsupportedCritical { .. } => invalid("its header has a `crit`"),
            _ => invalid("its header is malformed"),
        })?;
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
        {
            return Err(invalid("its `typ` is not `dpop+jwt`"));
        }
        let alg = Algorithm::from_name(&header.alg)
            .filter(|a| self.config.algorithms.contains(a))
            .ok_or_else(|| invalid("its `alg` is not allowed"))?;
        let header_json: Value = URL_SAFE_NO_PAD
            .decode(header_b64)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(|| invalid("its header is malformed"))?;
        let jwk = header_json
            .get("jwk")
            .ok_or_else(|| invalid("its header has no `jwk`"))?;
        let signing_input = proof
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or_else(|| invalid("the proof is not a compact JWS"))?;
        let jkt = verify_with_embedded_jwk(jwk, alg, signing_input, signature).map_err(invalid)?;

        let claims: serde_json::Map<String, Value> = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(|| invalid("its payload is not a JSON object"))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let jti = text("jti")
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or_else(|| invalid("its `jti` is missing, empty or longer than 256 bytes"))?;
        if text("htm") != Some(request.method) {
            return Err(invalid("its `htm` is not the request's method"));
        }
        let htu = text("htu").ok_or_else(|| invalid("its `htu` is missing"))?;
        if !same_target(htu, request.url) {
            return Err(invalid("its `htu` is not the request's URL"));
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_u64)
            .map(UnixTime::from_secs)
            .ok_or_else(|| invalid("its `iat` is missing or not an integer"))?;
        let now = self.provider.now();
        let leeway = self.config.leeway;
        if iat > now.saturating_add(leeway) {
            return Err(invalid("its `iat` is in the future"));
        }
        if iat.saturating_add(self.config.max_age + leeway) < now {
            return Err(invalid("its `iat` is too old"));
        }
        let nonce_ok = match (request.nonce, text("nonce")) {
            (NonceRule::None, _) => true,
            (NonceRule::Exact(expected), Some(n)) => {
                bool::from(expected.as_bytes().ct_eq(n.as_bytes()))
            }
            (NonceRule::Issued(nonces), Some(n)) => nonces.is_valid(n),
            (_, None) => false,
        };
        if !nonce_ok {
            return Err(TokenError::DpopNonceRequired);
        }
        match (token, text("ath")) {
            (None, Some(_)) => {
                return Err(invalid("it has an `ath` but no access token was presented"));
            }
            (None, None) => {}
            (Some(_), None) => return Err(invalid("its `ath` is missing")),
            (Some((access_token, bound_jkt)), Some(ath)) => {
                let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()));
                if !bool::from(expected.as_bytes().ct_eq(ath.as_bytes())) {
                    return Err(invalid("its `ath` is not the access token's hash"));
                }
                if !bool::from(jkt.as_str().as_bytes().ct_eq(bound_jkt.as_bytes())) {
                    return Err(TokenError::DpopKeyMismatch);
                }
            }
        }
        // Last, so that a proof failing any check does not take a place in the store.
        let id: [u8; 32] = Sha256::new()
            .chain_update(b"portcullis-dpop-jti\0")
            .chain_update(jkt.as_str().as_bytes())
            .chain_update([0u8])
            .chain_update(jti.as_bytes())
            .finalize()
            .into();
        let until = iat.saturating_add(self.config.max_age + leeway + leeway);
        if !self.replay.check_and_insert(&id, until, now).await? {
            return Err(TokenError::DpopProofReplayed);
        }
        Ok(DpopProof {
            jkt,
            alg,
            jti: jti.to_owned(),
            issued_at: iat,
        })
    }
}

fn invalid(reason: &'static str) -> TokenError {
    TokenError::DpopProofInvalid { reason }
}

/// RFC 9449 §4.3 check 9: `htu` and the request URL name the same resource once both are
/// normalised (RFC 3986 §6.2.2 and §6.2.3: scheme and host case, default port, dot
/// segments), ignoring query and fragment. Only `http` and `https` URLs match.
fn same_target(htu: &str, request: &str) -> bool {
    let (Ok(a), Ok(b)) = (Url::parse(htu), Url::parse(request)) else {
        return false;
    };
    let web = |u: &Url| matches!(u.scheme(), "http" | "https") && u.host().is_some();
    web(&a)
        && web(&b)
        && a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

#[cfg(test)]
mod tests {
    use super::same_target;

    #[test]
    fn htu_normalisation() {
        let r = "https://server.example.com/token";
        assert!(same_target("https://server.example.com/token", r));
        assert!(same_target("HTTPS://Server.Example.COM:443/token", r));
        assert!(same_target("https://server.example.com/a/../token", r));
        assert!(same_target("https://server.example.com/token?x=1#f", r));
        assert!(same_target(r, "https://server.example.com/token?q=2"));
        assert!(!same_target("http://server.example.com/token", r));
        assert!(!same_target("https://server.example.com:8443/token", r));
        assert!(!same_target("https://server.example.com/token/", r));
        assert!(!same_target("https://server.example.com/Token", r));
        assert!(!same_target("https://other.example.com/token", r));
        assert!(!same_target("/token", r));
        assert!(!same_target(
            "ftp://server.example.com/token",
            "ftp://server.example.com/token"
        ));
        assert!(same_target("http://127.0.0.1:80/x", "http://127.0.0.1/x"));
    }
}
