//! Key names: prefix, hash tag, escaping.

use std::fmt::Write as _;

use portcullis_core::{ActorId, TenantId};
use portcullis_tokens::FamilyId;

use crate::error::RedisError;

/// Builds every key this crate uses. See the key layout table in the crate docs.
///
/// All keys start with the configured prefix and carry a hash tag (`{...}`): every key of
/// one tenant shares the tag `{t:<tenant>}`, a replay scope the tag `{wh:<scope>}`, a
/// rate-limit bucket the tag `{rl:<name>:<key>}`. Redis Cluster hashes only the tag, so
/// all keys one script touches live in one slot. Untrusted components are escaped
/// injectively: bytes outside `[A-Za-z0-9._@+-]` become `%XX`, and the empty string
/// becomes `~`, so no component can contain `:`, `{` or `}` and two different inputs
/// never share a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    prefix: String,
}

/// Escapes one key component (see [`KeySpace`]).
pub fn escape(s: &str) -> String {
    if s.is_empty() {
        return "~".to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub(crate) fn validate_name(what: &str, s: &str) -> Result<(), RedisError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(())
    } else {
        Err(RedisError::InvalidConfig {
            reason: format!("{what} must be 1-64 characters of [A-Za-z0-9._:-]"),
        })
    }
}

impl KeySpace {
    /// A key space under `prefix` (1-64 characters of `[A-Za-z0-9._:-]`; no braces, so
    /// the prefix can never open a hash tag).
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidConfig`] for any other prefix.
    pub fn new(prefix: &str) -> Result<Self, RedisError> {
        validate_name("key prefix", prefix)?;
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn tenant_base(&self, tenant: &TenantId) -> String {
        format!("{}:{{t:{}}}:", self.prefix, escape(tenant.as_str()))
    }

    /// The prefix of every refresh-family hash of `tenant` (the family id follows).
    pub fn family_prefix(&self, tenant: &TenantId) -> String {
        format!("{}rf:", self.tenant_base(tenant))
    }

    /// Hash of one refresh family.
    pub fn family(&self, tenant: &TenantId, family: &FamilyId) -> String {
        format!("{}{family}", self.family_prefix(tenant))
    }

    /// Refresh epoch of the tenant: families created at or before it are revoked.
    pub fn refresh_epoch(&self, tenant: &TenantId) -> String {
        format!("{}rf-epoch", self.tenant_base(tenant))
    }

    /// Set of a subject's family ids.
    pub fn subject_families(&self, tenant: &TenantId, subject: &ActorId) -> String {
        format!(
            "{}rf-sub:{}",
            self.tenant_base(tenant),
            escape(subject.as_str())
        )
    }

    /// Deny-list entry of one `jti`.
    pub fn jti(&self, tenant: &TenantId, jti: &str) -> String {
        format!("{}jti:{}", self.tenant_base(tenant), escape(jti))
    }

    /// Not-before epoch of one subject.
    pub fn subject_epoch(&self, tenant: &TenantId, subject: &ActorId) -> String {
        format!(
            "{}sub-epoch:{}",
            self.tenant_base(tenant),
            escape(subject.as_str())
        )
    }

    /// Not-before epoch of the tenant.
    pub fn tenant_epoch(&self, tenant: &TenantId) -> String {
        format!("{}epoch", self.tenant_base(tenant))
    }

    /// Redemption mark of one ticket.
    pub fn ticket(&self, tenant: &TenantId, jti: &str) -> String {
        format!("{}ticket:{}", self.tenant_base(tenant), escape(jti))
    }

    /// The prefix of every API-key hash of `tenant` (the escaped id follows).
    pub fn api_key_prefix(&self, tenant: &TenantId) -> String {
        format!("{}ak:", self.tenant_base(tenant))
    }

    /// Hash of one API key.
    pub fn api_key(&self, tenant: &TenantId, id: &str) -> String {
        format!("{}{}", self.api_key_prefix(tenant), escape(id))
    }

    /// List of an owner's API-key ids (escaped), oldest first.
    pub fn api_key_owner(&self, tenant: &TenantId, owner: &ActorId) -> String {
        format!(
            "{}ak-own:{}",
            self.tenant_base(tenant),
            escape(owner.as_str())
        )
    }

    /// Sorted set of an owner's live API-key ids (escaped), scored by expiry (ms).
    pub fn api_key_live(&self, tenant: &TenantId, owner: &ActorId) -> String {
        format!(
            "{}ak-live:{}",
            self.tenant_base(tenant),
            escape(owner.as_str())
        )
    }

    /// Replay-guard entry of one delivery id in one scope.
    pub fn replay(&self, scope: &str, id: &str) -> String {
        format!("{}:{{wh:{}}}:{}", self.prefix, escape(scope), escape(id))
    }

    /// A DPoP proof seen: its 32-byte id (key thumbprint and `jti` digested), hex.
    pub fn dpop(&self, id: &[u8; 32]) -> String {
        format!("{}:dpop:{}", self.prefix, hex::encode(id))
    }

    /// GCRA state of one rate-limit bucket of limiter `name`.
    pub fn rate(&self, name: &str, key: &str) -> String {
        format!("{}:{{rl:{}:{}}}", self.prefix, name, escape(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_injective_on_confusable_inputs() {
        let inputs = [
            "", "~", "%", "%25", "a:b", "a%3Ab", "{x}", "a}", "naïve", "A", "a",
        ];
        let mut seen = std::collections::HashSet::new();
        for i in inputs {
            assert!(seen.insert(escape(i)), "{i}");
            assert!(!escape(i).contains([':', '{', '}']));
        }
        assert_eq!(escape("ip:2001:db8::1"), "ip%3A2001%3Adb8%3A%3A1");
    }

    #[test]
    fn prefix_is_validated() {
        assert!(KeySpace::new("app:prod").is_ok());
        for bad in ["", "a{b", "a}b", "a b", &"x".repeat(65)] {
            assert!(KeySpace::new(bad).is_err(), "{bad}");
        }
    }
}
