//! The key-committing layer of format 3: from one 256-bit base key (a derived tenant key
//! or an envelope data key) an AES-256-GCM encryption key and a 32-byte commitment are
//! expanded side by side, as the AWS Encryption SDK's committing suites derive theirs;
//! every blob carries the commitment, checked in constant time before any decryption, so
//! a blob opens under at most one base key.
//!
//! ```text
//! prk            = HKDF-SHA256-Extract(salt = none (32 zero bytes), ikm = base key)
//! encryption key = HKDF-SHA256-Expand(prk, info = lp("portcullis-keys/v3/encryption-key"), 32)
//! commitment     = HKDF-SHA256-Expand(prk, info = lp("portcullis-keys/v3/commitment"), 32)
//! ```
//!
//! Why it commits: two base keys with the same commitment are an HMAC-SHA256 collision
//! between distinct pseudorandom keys (a SHA-256 collision), and the encryption key is a
//! function of the same base key; the commitment reveals nothing about the encryption key
//! (another HKDF output). It is fixed per base key and computed once, when the key is
//! derived: a per-nonce commitment (an earlier draft of this format) cost an HMAC per seal
//! and per open, a third of a 256-byte seal. The price is that blobs under one base key
//! carry the same 32 bytes, so a reader of the stored blobs can group them by tenant key
//! (the crate docs' security considerations say so).

use std::fmt;

use hkdf::Hkdf;
use portcullis_core::{SecretBytes, SecureRandom};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::KeysError;
use crate::aead::{AeadKey, KEY_LEN, NONCE_LEN};
use crate::derive::put_lp;

/// Length of the commitment in bytes.
pub(crate) const COMMITMENT_LEN: usize = 32;

const ENCRYPTION_LABEL: &[u8] = b"portcullis-keys/v3/encryption-key";
const COMMITMENT_LABEL: &[u8] = b"portcullis-keys/v3/commitment";

/// The format 3 encryption key and commitment expanded from one base key. The AES key
/// schedule is erased on drop (see [`AeadKey`]), the commitment zeroized.
pub(crate) struct CommittingKey {
    aead: AeadKey,
    /// A function of the base key: kept with the key, erased with it.
    commitment: Zeroizing<[u8; COMMITMENT_LEN]>,
}

impl fmt::Debug for CommittingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommittingKey([redacted])")
    }
}

fn label(label: &[u8]) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + label.len());
    put_lp(&mut info, label);
    info
}

impl CommittingKey {
    /// Expands `base` into the encryption key and the commitment.
    pub(crate) fn derive(base: &[u8; KEY_LEN]) -> Result<Self, KeysError> {
        let hk = Hkdf::<Sha256>::new(None, base);
        let mut enc = Zeroizing::new([0u8; KEY_LEN]);
        let mut commitment = Zeroizing::new([0u8; COMMITMENT_LEN]);
        let length = |_| KeysError::InvalidInput {
            what: "hkdf output length",
            value: KEY_LEN.to_string(),
        };
        hk.expand(&label(ENCRYPTION_LABEL), enc.as_mut_slice())
            .map_err(length)?;
        hk.expand(&label(COMMITMENT_LABEL), commitment.as_mut_slice())
            .map_err(length)?;
        Ok(Self {
            aead: AeadKey::new(enc.as_slice())?,
            commitment,
        })
    }

    /// Draws a nonce and appends `nonce || commitment || ciphertext || tag` to `out`.
    pub(crate) fn seal_into(
        &self,
        rng: &dyn SecureRandom,
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), KeysError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        self.seal_with_nonce_into(&nonce, aad, plaintext, out)
    }

    /// As [`Self::seal_into`] with a given nonce (crate-private: only tests and the
    /// vector generator pass one).
    pub(crate) fn seal_with_nonce_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), KeysError> {
        out.extend_from_slice(nonce);
        out.extend_from_slice(self.commitment.as_slice());
        self.aead.seal_with_nonce_into(nonce, aad, plaintext, out)
    }

    /// Checks the commitment in constant time, then opens `ciphertext || tag`. A wrong
    /// commitment is the same opaque [`KeysError::Decrypt`] as a wrong tag.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        commitment: &[u8],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Result<SecretBytes, KeysError> {
        if !bool::from(self.commitment.as_slice().ct_eq(commitment)) {
            return Err(KeysError::Decrypt);
        }
        self.aead.open(nonce, aad, ciphertext_and_tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_key_nor_commitment() {
        let key = CommittingKey::derive(&[0x11; KEY_LEN]).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "CommittingKey([redacted])");
        assert!(!shown.contains(&hex::encode(key.commitment.as_slice())));
    }
}
