//! C2SP signed notes with Ed25519 keys (<https://c2sp.org/signed-note>).
//!
//! - Key hash: the first 4 bytes (big-endian `u32`) of
//!   `SHA-256(key name || 0x0A || 0x01 || 32-byte public key)`.
//! - Verifier key: `<name>+<key hash, 8 lowercase hex digits>+<base64(0x01 || public key)>`.
//! - Signer key: `PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || 32-byte seed)>`.
//! - Signed note: the text (UTF-8, no control characters but newline, ending in a
//!   newline), a blank line, then one line per signature:
//!   `— <name> <base64(4-byte key hash || 64-byte Ed25519 signature)>` + newline, where
//!   `—` is U+2014 and the signature is over exactly the text bytes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use portcullis_core::{SecretArray, SecretString, SecureRandom};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::AuditError;

const ALG_ED25519: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";
/// Maximum number of signature lines accepted on a note.
pub const MAX_SIGNATURES: usize = 100;

fn key_err(msg: &str) -> AuditError {
    AuditError::InvalidKey(msg.to_owned())
}

fn check_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AuditError::InvalidKey(format!(
            "key name `{}` must be non-empty without spaces or `+`",
            name.escape_debug()
        )));
    }
    Ok(())
}

fn key_hash(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(d.get(..4).unwrap_or(&[0; 4]));
    u32::from_be_bytes(id)
}

fn parse_hash_hex(s: &str) -> Result<u32, AuditError> {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(key_err("key hash must be 8 lowercase hex digits"));
    }
    u32::from_str_radix(s, 16).map_err(|_| key_err("key hash must be 8 lowercase hex digits"))
}

fn decode_key_bytes(b64: &str) -> Result<Zeroizing<[u8; 32]>, AuditError> {
    let raw = Zeroizing::new(
        STANDARD
            .decode(b64)
            .map_err(|_| key_err("key is not valid base64"))?,
    );
    match raw.split_first() {
        Some((&ALG_ED25519, rest)) if rest.len() == 32 => {
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(rest);
            Ok(out)
        }
        Some((&ALG_ED25519, _)) => Err(key_err("Ed25519 key must be 32 bytes")),
        _ => Err(key_err("unsupported key algorithm (only Ed25519, 0x01)")),
    }
}

/// A note signer: a named Ed25519 private key.
pub struct NoteSigner {
    name: String,
    hash: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{:08x}, [redacted])", self.name, self.hash)
    }
}

impl NoteSigner {
    /// A signer named `name` with the given 32-byte Ed25519 seed.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKey`] if the name is empty or contains spaces or `+`.
    pub fn from_seed(name: &str, seed: &SecretArray<32>) -> Result<Self, AuditError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed.expose_secret());
        let hash = key_hash(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            hash,
            key,
        })
    }

    /// A new random signer named `name`.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKey`] for a bad name; [`AuditError::Redaction`] never;
    /// [`AuditError::Backend`] if the random generator fails.
    pub fn generate(name: &str, rng: &dyn SecureRandom) -> Result<Self, AuditError> {
        let seed = SecretArray::<32>::random(rng)
            .map_err(|e| portcullis_core::BackendError::other("audit.keygen", e))?;
        Self::from_seed(name, &seed)
    }

    /// Parses a signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKey`] if the string is malformed or its hash does not match.
    pub fn parse(key: &str) -> Result<Self, AuditError> {
        let rest = key
            .trim_end_matches('\n')
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| key_err("signer key must start with `PRIVATE+KEY+`"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(key_err("signer key must be PRIVATE+KEY+name+hash+key"));
        };
        let hash = parse_hash_hex(hash)?;
        let seed = decode_key_bytes(b64)?;
        let signer = Self::from_seed(name, &SecretArray::new(*seed))?;
        if signer.hash != hash {
            return Err(key_err("key hash does not match the key"));
        }
        Ok(signer)
    }

    /// The signer key string, `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`.
    pub fn to_signer_key(&self) -> SecretString {
        let mut raw = Zeroizing::new(Vec::with_capacity(33));
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        let b64 = Zeroizing::new(STANDARD.encode(&*raw));
        SecretString::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name, self.hash, &*b64
        ))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            hash: self.hash,
            key: self.key.verifying_key(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature line for `text` (without the trailing newline).
    fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut raw = Vec::with_capacity(68);
        raw.extend_from_slice(&self.hash.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(raw))
    }

    /// Signs `text`, returning the signed note (text, blank line, signature line).
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedCheckpoint`] if `text` is not a valid note text.
    pub fn sign(&self, text: &str) -> Result<String, AuditError> {
        check_text(text)?;
        Ok(format!("{text}\n{}\n", self.signature_line(text)))
    }
}

/// A note verifier: a named Ed25519 public key, pinned by the relying party.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    hash: u32,
    key: VerifyingKey,
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.hash,
            STANDARD.encode(raw)
        )
    }
}

impl std::str::FromStr for NoteVerifier {
    type Err = AuditError;
    fn from_str(s: &str) -> Result<Self, AuditError> {
        Self::parse(s)
    }
}

fn check_text(text: &str) -> Result<(), AuditError> {
    let mal = |m: &str| AuditError::MalformedCheckpoint(m.to_owned());
    if !text.ends_with('\n') {
        return Err(mal("note text must end with a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(mal("note text contains a control character"));
    }
    if text.starts_with('\n') || text.contains("\n\n") {
        return Err(mal("note text contains a blank line"));
    }
    Ok(())
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<hash>+<base64(0x01 || public key)>`.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKey`] if the string is malformed, the key is not a valid
    /// Ed25519 point, or the hash does not match.
    pub fn parse(key: &str) -> Result<Self, AuditError> {
        let key = key.trim_end_matches('\n');
        let mut parts = key.splitn(3, '+');
        let (Some(name), Some(hash), Some(b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(key_err("verifier key must be name+hash+key"));
        };
        check_name(name)?;
        let hash = parse_hash_hex(hash)?;
        let public = decode_key_bytes(b64)?;
        let vk =
            VerifyingKey::from_bytes(&public).map_err(|_| key_err("not an Ed25519 public key"))?;
        if key_hash(name, vk.as_bytes()) != hash {
            return Err(key_err("key hash does not match the key"));
        }
        Ok(Self {
            name: name.to_owned(),
            hash,
            key: vk,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash (key id).
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// Opens a signed note: checks its structure and that it carries a valid signature by
    /// this key, returning the text. Signatures by other keys are ignored.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedCheckpoint`] if the note is malformed;
    /// [`AuditError::InvalidSignature`] if there is no valid signature by this key.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, AuditError> {
        let mal = |m: &str| AuditError::MalformedCheckpoint(m.to_owned());
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| mal("no blank line before the signatures"))?;
        let text = note.get(..=split).ok_or_else(|| mal("bad split"))?;
        let sigs = note.get(split + 2..).ok_or_else(|| mal("bad split"))?;
        check_text(text)?;
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(mal("signature block must end with a newline"));
        }
        let mut found = false;
        let mut seen = Vec::new();
        for (i, line) in sigs.trim_end_matches('\n').split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(mal("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| mal("signature line must start with `— `"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| mal("signature line must be `— name signature`"))?;
            if name.is_empty() || b64.contains(' ') {
                return Err(mal("signature line must be `— name signature`"));
            }
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| mal("signature is not valid base64"))?;
            let (id, sig) = raw
                .split_at_checked(4)
                .ok_or_else(|| mal("signature too short"))?;
            let id = u32::from_be_bytes(
                <[u8; 4]>::try_from(id).map_err(|_| mal("signature too short"))?,
            );
            if seen.contains(&(name, id)) {
                return Err(mal("duplicate signature"));
            }
            seen.push((name, id));
            if name != self.name || id != self.hash {
                continue;
            }
            let sig = Signature::from_slice(sig).map_err(|_| AuditError::InvalidSignature)?;
            self.key
                .verify_strict(text.as_bytes(), &sig)
                .map_err(|_| AuditError::InvalidSignature)?;
            found = true;
        }
        if found {
            Ok(text)
        } else {
            Err(AuditError::InvalidSignature)
        }
    }
}
