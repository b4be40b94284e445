//! Server nonces for DPoP (RFC 9449 §8): stateless, so every replica issues and accepts
//! the same ones. A nonce is `base64url(window || HMAC-SHA256(key, "portcullis-dpop-nonce"
//! || window)[..16])` where `window` is the current time divided by the window length
//! (8 bytes, big-endian); the current and the previous window are accepted.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use portcullis_core::{Provider, SecretArray};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::error::TokenError;

/// Issues and checks DPoP server nonces (see the module docs). Send [`DpopNonces::current`]
/// in the `DPoP-Nonce` header; verify with
/// [`DpopRequest::with_nonces`](crate::DpopRequest::with_nonces).
pub struct DpopNonces {
    key: SecretArray<32>,
    window: Duration,
    provider: Provider,
}

impl std::fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopNonces")
            .field("key", &"<redacted>")
            .field("window", &self.window)
            .finish()
    }
}

impl DpopNonces {
    /// Nonces keyed by `key` (shared by every replica), each valid for one to two
    /// `window`s, reading time from `provider`.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidConfig`] unless `10 s <= window <= 1 h`.
    pub fn new(
        key: SecretArray<32>,
        window: Duration,
        provider: Provider,
    ) -> Result<Self, TokenError> {
        if window < Duration::from_secs(10) || window > Duration::from_secs(3600) {
            return Err(TokenError::InvalidConfig {
                reason: "the DPoP nonce window must be 10 s to 1 h".to_owned(),
            });
        }
        Ok(Self {
            key,
            window,
            provider,
        })
    }

    fn window_at(&self) -> u64 {
        let len = u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.provider.now().as_millis() / len
    }

    fn nonce_for(&self, window: u64) -> String {
        let mut bytes = [0u8; 24];
        let (w, tag) = bytes.split_at_mut(8);
        w.copy_from_slice(&window.to_be_bytes());
        // HMAC accepts keys of any length: this cannot fail.
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.key.expose_secret()) {
            mac.update(b"portcullis-dpop-nonce");
            mac.update(&window.to_be_bytes());
            let full = mac.finalize().into_bytes();
            tag.copy_from_slice(full.get(..16).unwrap_or(&[0u8; 16]));
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The nonce to send now.
    pub fn current(&self) -> String {
        self.nonce_for(self.window_at())
    }

    /// Whether `nonce` is the current or the previous window's nonce (compared in
    /// constant time).
    pub fn is_valid(&self, nonce: &str) -> bool {
        let now = self.window_at();
        [Some(now), now.checked_sub(1)]
            .into_iter()
            .flatten()
            .any(|w| bool::from(self.nonce_for(w).as_bytes().ct_eq(nonce.as_bytes())))
    }
}
