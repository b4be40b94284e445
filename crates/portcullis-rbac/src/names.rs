//! Validated names: roles, permissions, features and plans (each type documents its
//! rules), and the checks the compiler reuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::RbacError;

const NAME_MAX: usize = 64;
const PERMISSION_MAX: usize = 128;

fn bad(kind: &'static str, value: &str, reason: &'static str) -> RbacError {
    RbacError::InvalidName {
        key: kind.to_owned(),
        kind,
        value: value.chars().take(NAME_MAX * 2).collect(),
        reason,
    }
}

fn is_segment(s: &str, extra: &[u8]) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

pub(crate) fn check_name(kind: &'static str, value: &str) -> Result<(), RbacError> {
    if value.is_empty() {
        return Err(bad(kind, value, "empty"));
    }
    if value.len() > NAME_MAX {
        return Err(bad(kind, value, "longer than 64 bytes"));
    }
    if !is_segment(value, b"_-") {
        return Err(bad(kind, value, "must match `[a-z][a-z0-9_-]*`"));
    }
    Ok(())
}

pub(crate) fn check_permission(value: &str) -> Result<(), RbacError> {
    const KIND: &str = "permission";
    if value.len() > PERMISSION_MAX {
        return Err(bad(KIND, value, "longer than 128 bytes"));
    }
    if value.contains(':') {
        let ok = value.split(':').all(|s| is_segment(s, b"_-"));
        if !ok {
            return Err(bad(
                KIND,
                value,
                "`resource:action` segments must match `[a-z][a-z0-9_-]*`",
            ));
        }
        return Ok(());
    }
    if !value.contains("__") {
        return Err(bad(
            KIND,
            value,
            "must be `resource:action` or `area__resource__action`",
        ));
    }
    let ok = value
        .split("__")
        .all(|s| is_segment(s, b"_") && !s.ends_with('_') && !s.contains("__"));
    if !ok {
        return Err(bad(
            KIND,
            value,
            "`__`-separated segments must match `[a-z][a-z0-9]*` with single inner `_`",
        ));
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Box<str>);

        impl $name {
            /// Parses and validates `value`.
            ///
            /// # Errors
            ///
            /// [`RbacError::InvalidName`] naming the rule the value breaks.
            pub fn new(value: impl Into<String>) -> Result<Self, RbacError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), RbacError> = $check;
                check(&value)?;
                Ok(Self(value.into_boxed_str()))
            }

            /// The name as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = RbacError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = RbacError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = RbacError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A role name such as `viewer`, `admin` or `super_admin`: 1 to 64 bytes matching
    /// `[a-z][a-z0-9_-]*`.
    RoleName, "role", |v| check_name("role", v)
);
name_type!(
    /// A plan feature name such as `exports` or `sso`: 1 to 64 bytes matching
    /// `[a-z][a-z0-9_-]*`.
    FeatureName, "feature", |v| check_name("feature", v)
);
name_type!(
    /// A plan (tier) name such as `free` or `enterprise`: 1 to 64 bytes matching
    /// `[a-z][a-z0-9_-]*`.
    PlanName, "plan", |v| check_name("plan", v)
);
name_type!(
    /// A permission (action) identifier, in either `resource:action` style
    /// (`leads:read`, `billing:invoice:refund`) or `platform__leads__read` style.
    ///
    /// 3 to 128 bytes: two or more `:`-separated segments, each `[a-z][a-z0-9_-]*`; or,
    /// without `:`, two or more `__`-separated segments, each `[a-z][a-z0-9]*` with single
    /// inner `_`.
    Permission, "permission", check_permission
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_styles() {
        for ok in [
            "leads:read",
            "billing:invoice:refund",
            "platform__leads__read",
            "a__b",
            "crm_x__lead_list__read",
            "x-y:z_1",
        ] {
            assert!(Permission::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "leads",
            "leads:",
            ":read",
            "Leads:read",
            "a___b",
            "a__b_",
            "_a__b",
            "a__1b",
            "a b:c",
            "a__b:c:",
            "a:b__c:",
        ] {
            assert!(Permission::new(bad).is_err(), "{bad}");
        }
        assert!(Permission::new("a:".repeat(70)).is_err());
    }

    #[test]
    fn role_names() {
        assert!(RoleName::new("super_admin").is_ok());
        assert!(RoleName::new("Admin").is_err());
        assert!(RoleName::new("1admin").is_err());
        assert!(RoleName::new("a".repeat(65)).is_err());
        let e = RoleName::new("bad role").unwrap_err();
        assert!(e.to_string().contains("`bad role`"), "{e}");
    }
}
