//! HashiCorp Vault / OpenBao Transit as a [`Kms`], over its HTTP API (feature
//! `vault-transit`).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use portcullis_core::{BackendError, BackendErrorKind, KeyId, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{DataKey, GeneratedKey, Kms, KmsContext, WrappedKey};
use crate::KeysError;

/// Where and how to reach a Transit secrets engine.
#[derive(Debug, Clone)]
pub struct VaultTransitConfig {
    /// The server's address, for example `https://vault.internal:8200`.
    pub addr: String,
    /// Where the Transit engine is mounted. Default `transit`.
    pub mount: String,
    /// The token sent as `X-Vault-Token` (needs `read` on `<mount>/keys/<name>` and
    /// `update` on `<mount>/encrypt|decrypt|datakey/plaintext/<name>`).
    pub token: SecretString,
    /// The enterprise / OpenBao namespace (`X-Vault-Namespace`), if any.
    pub namespace: Option<String>,
    /// Time limit of one request (connect included). Default 5 s.
    pub timeout: Duration,
    /// Extra PEM root certificates to trust (a private CA); the platform's roots are
    /// always trusted too.
    pub ca_pem: Option<Vec<u8>>,
    /// Allow `http://` when the address is a loopback IP (development and test servers).
    /// Anything else must be `https://`: data keys travel in the clear inside the request.
    pub danger_allow_http_loopback: bool,
}

impl VaultTransitConfig {
    /// Defaults for `addr` and `token`: mount `transit`, 5 s, platform roots, HTTPS only.
    pub fn new(addr: impl Into<String>, token: SecretString) -> Self {
        Self {
            addr: addr.into(),
            mount: "transit".to_owned(),
            token,
            namespace: None,
            timeout: Duration::from_secs(5),
            ca_pem: None,
            danger_allow_http_loopback: false,
        }
    }
}

/// A [`Kms`] on Vault or OpenBao Transit: KEK names are Transit key names, the
/// [`KmsContext`] is sent as Transit's `context` (base64 of [`KmsContext::encode`]), and
/// wrapped keys are Transit ciphertexts (`vault:v<N>:…`), so keys rotated at the server
/// keep opening old wrapped keys.
///
/// Context binding needs keys created with `derived=true` (Transit ignores the context of
/// other keys): before a key's first use the adapter reads its policy and refuses a key
/// that is not derived, and refuses a key that does not exist rather than let `encrypt`
/// create it. Errors: HTTP 429 is [`BackendErrorKind::Throttled`], 5xx and connection
/// failures [`BackendErrorKind::Unavailable`], time-outs [`BackendErrorKind::Timeout`], a
/// failed authentication of a wrapped key [`KeysError::Decrypt`], an unknown key
/// [`KeysError::UnknownKek`]. No call ever returns a key on error.
///
/// Plaintext data keys travel in the HTTP bodies (as Transit requires); our copies are
/// zeroized, the HTTP client's buffers are not.
pub struct VaultTransit {
    client: reqwest::Client,
    base: String,
    token: SecretString,
    namespace: Option<String>,
    checked: Mutex<HashSet<String>>,
}

impl fmt::Debug for VaultTransit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultTransit")
            .field("base", &self.base)
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

fn invalid(what: &'static str, value: &str) -> KeysError {
    KeysError::InvalidInput {
        what,
        value: value.to_owned(),
    }
}

/// The failure behind a [`BackendError`] from Transit: the HTTP status (if any) and a
/// fixed description, never the server's message (it may echo request data).
#[derive(Debug, thiserror::Error)]
#[error("vault transit: {reason}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct VaultError {
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// What went wrong.
    pub reason: &'static str,
}

fn backend(
    kind: BackendErrorKind,
    op: &'static str,
    status: Option<u16>,
    reason: &'static str,
) -> KeysError {
    KeysError::Backend(BackendError::new(kind, op, VaultError { status, reason }))
}

#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct KeyPolicy {
    #[serde(default)]
    derived: bool,
}

#[derive(Deserialize)]
struct Ciphertext {
    ciphertext: String,
}

#[derive(Deserialize)]
struct Plaintext {
    plaintext: String,
}

#[derive(Deserialize)]
struct DataKeyResponse {
    plaintext: String,
    ciphertext: String,
}

fn is_loopback_http(addr: &str) -> bool {
    url::Url::parse(addr).ok().is_some_and(|u| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            }
    })
}

impl VaultTransit {
    /// Builds the client.
    ///
    /// # Errors
    /// [`KeysError::InvalidInput`] for an address that is not `https://` (or loopback
    /// `http://` when allowed), a mount or namespace with characters outside
    /// `[A-Za-z0-9_./-]`, or an unusable CA file.
    pub fn new(config: VaultTransitConfig) -> Result<Self, KeysError> {
        let parsed =
            url::Url::parse(&config.addr).map_err(|_| invalid("vault address", "not a URL"))?;
        let allowed = parsed.scheme() == "https"
            || (config.danger_allow_http_loopback && is_loopback_http(&config.addr));
        if !allowed {
            return Err(invalid(
                "vault address",
                "must be https:// (http:// only to a loopback IP with danger_allow_http_loopback)",
            ));
        }
        let path_ok = |s: &str| {
            !s.is_empty()
                && !s.contains("..")
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b))
        };
        if !path_ok(&config.mount) {
            return Err(invalid("vault mount", "only [A-Za-z0-9_./-] allowed"));
        }
        if config.namespace.as_deref().is_some_and(|n| !path_ok(n)) {
            return Err(invalid("vault namespace", "only [A-Za-z0-9_./-] allowed"));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(pem) = &config.ca_pem {
            let mut added = 0;
            for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem) {
                let cert: rustls::pki_types::CertificateDer<'static> =
                    cert.map_err(|_| invalid("vault CA", "not a PEM certificate"))?;
                roots
                    .add(cert)
                    .map_err(|_| invalid("vault CA", "not a usable root certificate"))?;
                added += 1;
            }
            if added == 0 {
                return Err(invalid("vault CA", "no certificate in the PEM"));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| invalid("vault TLS", "no protocol version available"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("portcullis-keys/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| invalid("vault client", "could not be built"))?;
        Ok(Self {
            client,
            base: format!(
                "{}/v1/{}",
                config.addr.trim_end_matches('/'),
                config.mount.trim_matches('/')
            ),
            token: config.token,
            namespace: config.namespace,
            checked: Mutex::new(HashSet::new()),
        })
    }

    fn url(&self, action: &str, kek: &KeyId) -> String {
        // KeyId is [A-Za-z0-9._:-]: safe in a path segment.
        format!("{}/{action}/{}", self.base, kek.as_str())
    }

    /// Sends one request; maps transport failures and non-2xx statuses to typed errors.
    async fn call(
        &self,
        op: &'static str,
        kek: &KeyId,
        url: String,
        body: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        let mut request = match &body {
            Some(b) => self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_vec()),
            None => self.client.get(url),
        };
        request = request.header("X-Vault-Token", self.token.expose_secret());
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        let response = request.send().await.map_err(|e| transport(op, &e))?;
        let status = response.status().as_u16();
        let bytes = Zeroizing::new(
            response
                .bytes()
                .await
                .map_err(|e| transport(op, &e))?
                .to_vec(),
        );
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let errors = serde_json::from_slice::<Errors>(&bytes)
            .map(|e| e.errors.join("; "))
            .unwrap_or_default();
        Err(match status {
            400 | 404 if errors.contains("not found") => {
                KeysError::UnknownKek(kek.as_str().to_owned())
            }
            404 if op == "vault.transit.keys" => KeysError::UnknownKek(kek.as_str().to_owned()),
            400 if errors.contains("authentication failed")
                || errors.contains("invalid ciphertext")
                || errors.contains("decode")
                || errors.contains("decrypt") =>
            {
                KeysError::Decrypt
            }
            429 => backend(
                BackendErrorKind::Throttled,
                op,
                Some(status),
                "rate limited",
            ),
            401 | 403 => backend(
                BackendErrorKind::Other,
                op,
                Some(status),
                "permission denied",
            ),
            500..=599 => backend(
                BackendErrorKind::Unavailable,
                op,
                Some(status),
                "server error or sealed",
            ),
            _ => backend(BackendErrorKind::Other, op, Some(status), "request refused"),
        })
    }

    /// Reads the key's policy once per key: it must exist and be derived.
    async fn check_key(&self, kek: &KeyId) -> Result<(), KeysError> {
        let lock = |m: &Mutex<HashSet<String>>| {
            m.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(kek.as_str())
        };
        if lock(&self.checked) {
            return Ok(());
        }
        let op = "vault.transit.keys";
        let bytes = self
            .call(
                op,
                kek,
                format!("{}/keys/{}", self.base, kek.as_str()),
                None,
            )
            .await?;
        let policy: Envelope<KeyPolicy> = serde_json::from_slice(&bytes)
            .map_err(|_| backend(BackendErrorKind::Corrupt, op, None, "unreadable key policy"))?;
        if !policy.data.derived {
            return Err(invalid(
                "vault transit key",
                "not created with derived=true, so Transit would ignore the encryption context",
            ));
        }
        self.checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kek.as_str().to_owned());
        Ok(())
    }

    /// Rotates a Transit key (needs `update` on `<mount>/keys/<name>/rotate`): new wraps use
    /// the new version, old wrapped keys keep opening.
    ///
    /// # Errors
    /// As for [`Kms::wrap`].
    pub async fn rotate(&self, kek: &KeyId) -> Result<(), KeysError> {
        let url = format!("{}/keys/{}/rotate", self.base, kek.as_str());
        self.call(
            "vault.transit.rotate",
            kek,
            url,
            Some(Zeroizing::new(b"{}".to_vec())),
        )
        .await
        .map(drop)
    }
}

fn transport(op: &'static str, e: &reqwest::Error) -> KeysError {
    if e.is_timeout() {
        backend(BackendErrorKind::Timeout, op, None, "timed out")
    } else {
        backend(
            BackendErrorKind::Unavailable,
            op,
            None,
            "could not reach the server",
        )
    }
}

fn context_b64(context: &KmsContext) -> String {
    B64.encode(context.encode())
}

fn json(value: &serde_json::Value) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(serde_json::to_vec(value).unwrap_or_default())
}

fn decode_key(op: &'static str, b64: &str) -> Result<DataKey, KeysError> {
    let raw = Zeroizing::new(
        B64.decode(b64)
            .map_err(|_| backend(BackendErrorKind::Corrupt, op, None, "key is not base64"))?,
    );
    DataKey::from_slice(&raw)
        .map_err(|_| backend(BackendErrorKind::Corrupt, op, None, "key is not 32 bytes"))
}

#[async_trait]
impl Kms for VaultTransit {
    async fn generate_data_key(
        &self,
        kek: &KeyId,
        context: &KmsContext,
    ) -> Result<GeneratedKey, KeysError> {
        const OP: &str = "vault.transit.datakey";
        self.check_key(kek).await?;
        let body = json(&serde_json::json!({ "context": context_b64(context), "bits": 256 }));
        let bytes = self
            .call(OP, kek, self.url("datakey/plaintext", kek), Some(body))
            .await?;
        let response: Envelope<DataKeyResponse> = serde_json::from_slice(&bytes)
            .map_err(|_| backend(BackendErrorKind::Corrupt, OP, None, "unreadable response"))?;
        let DataKeyResponse {
            plaintext,
            ciphertext,
        } = response.data;
        let plaintext = Zeroizing::new(plaintext);
        Ok(GeneratedKey {
            plaintext: decode_key(OP, &plaintext)?,
            wrapped: WrappedKey::new(ciphertext.into_bytes()),
        })
    }

    async fn wrap(
        &self,
        kek: &KeyId,
        data_key: &DataKey,
        context: &KmsContext,
    ) -> Result<WrappedKey, KeysError> {
        const OP: &str = "vault.transit.encrypt";
        self.check_key(kek).await?;
        let plaintext = Zeroizing::new(B64.encode(data_key.expose_secret()));
        let body = json(&serde_json::json!({
            "plaintext": plaintext.as_str(),
            "context": context_b64(context),
        }));
        let bytes = self
            .call(OP, kek, self.url("encrypt", kek), Some(body))
            .await?;
        let response: Envelope<Ciphertext> = serde_json::from_slice(&bytes)
            .map_err(|_| backend(BackendErrorKind::Corrupt, OP, None, "unreadable response"))?;
        Ok(WrappedKey::new(response.data.ciphertext.into_bytes()))
    }

    async fn unwrap(
        &self,
        kek: &KeyId,
        wrapped: &WrappedKey,
        context: &KmsContext,
    ) -> Result<DataKey, KeysError> {
        const OP: &str = "vault.transit.decrypt";
        self.check_key(kek).await?;
        let ciphertext = std::str::from_utf8(wrapped.as_bytes()).map_err(|_| KeysError::Decrypt)?;
        if !ciphertext.starts_with("vault:v") {
            return Err(KeysError::Decrypt);
        }
        let body = json(&serde_json::json!({
            "ciphertext": ciphertext,
            "context": context_b64(context),
        }));
        let bytes = self
            .call(OP, kek, self.url("decrypt", kek), Some(body))
            .await?;
        let response: Envelope<Plaintext> = serde_json::from_slice(&bytes)
            .map_err(|_| backend(BackendErrorKind::Corrupt, OP, None, "unreadable response"))?;
        let plaintext = Zeroizing::new(response.data.plaintext);
        decode_key(OP, &plaintext).map_err(|_| KeysError::Decrypt)
    }
}
