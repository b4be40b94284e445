//! The declarative policy: what a TOML file and the builder both produce.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::RbacError;
use crate::locate::line_column;

/// An API-key scope. A permission declares which scope a key needs to use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read published data.
    Read,
    /// Read drafts and other unpublished data.
    ReadDraft,
    /// Create, change and delete data.
    Write,
    /// Manage the tenant: members, roles, keys, billing.
    Management,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 4] = [
        Scope::Read,
        Scope::ReadDraft,
        Scope::Write,
        Scope::Management,
    ];

    /// The scope's name as written in policy files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ReadDraft => "read_draft",
            Scope::Write => "write",
            Scope::Management => "management",
        }
    }

    pub(crate) const fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::ReadDraft => 2,
            Scope::Write => 4,
            Scope::Management => 8,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one permission behaves: a `[permissions."name"]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionSpec {
    /// The action changes state: denied under impersonation. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mutating: bool,
    /// The action approves a resource: its creator may not perform it (separation of
    /// duties). Approvals are always treated as mutating. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub approval: bool,
    /// The API-key scope needed to use it. Default `write` if mutating, else `read`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The plan feature the principal's plan must include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_feature: Option<String>,
    /// Grant it to this role (and so to every role inheriting it): the minimum role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_role: Option<String>,
}

impl PermissionSpec {
    /// A read-only action (scope `read`).
    #[must_use]
    pub fn read() -> Self {
        Self::default()
    }

    /// A mutating action (scope `write`).
    #[must_use]
    pub fn write() -> Self {
        Self {
            mutating: true,
            ..Self::default()
        }
    }

    /// A mutating approval action, subject to separation of duties.
    #[must_use]
    pub fn approval() -> Self {
        Self {
            mutating: true,
            approval: true,
            ..Self::default()
        }
    }

    /// Sets the API-key scope needed.
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Gates the action behind a plan feature.
    #[must_use]
    pub fn requires_feature(mut self, feature: impl Into<String>) -> Self {
        self.requires_feature = Some(feature.into());
        self
    }

    /// Grants the action to `role` and every role that inherits it.
    #[must_use]
    pub fn min_role(mut self, role: impl Into<String>) -> Self {
        self.min_role = Some(role.into());
        self
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// A role: the roles it inherits from and the permissions it is granted directly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Roles whose permissions this role also holds (the role is "above" them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<String>,
    /// Permissions granted directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
}

impl RoleSpec {
    /// A role with no grants.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a role this one inherits from.
    #[must_use]
    pub fn inherits(mut self, role: impl Into<String>) -> Self {
        self.inherits.push(role.into());
        self
    }

    /// Grants a permission directly.
    #[must_use]
    pub fn grant(mut self, permission: impl Into<String>) -> Self {
        self.grants.push(permission.into());
        self
    }
}

/// A route: an HTTP method and route key guarded by one permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Upper-case HTTP method (`GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS`).
    pub method: String,
    /// The route key, as the framework names the matched route (`/leads/{id}`).
    pub route: String,
    /// The permission the route requires.
    pub permission: String,
}

/// A whole policy as declared, before validation. Parse one with
/// [`PolicySpec::from_toml`], build one with [`PolicyBuilder`](crate::PolicyBuilder), and
/// turn it into the immutable, validated [`Policy`](crate::Policy) with [`PolicySpec::compile`].
///
/// Maps are ordered, so equal policies encode to identical TOML.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The policy version, reported in every decision (at most `i64::MAX`, the largest
    /// TOML integer).
    pub version: u64,
    /// Plan features that permissions may require.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Permissions held by the explicit platform super-admin grant, in any tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub super_admin: Vec<String>,
    /// Plans (tiers) and the features each includes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plans: BTreeMap<String, Vec<String>>,
    /// Every permission, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub permissions: BTreeMap<String, PermissionSpec>,
    /// Every role, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RoleSpec>,
    /// Routes for [`Policy::guard_route`](crate::Policy::guard_route).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
}

impl PolicySpec {
    /// Parses a policy file. The result is not validated yet: call [`compile`](Self::compile)
    /// (or use [`Policy::from_toml`](crate::Policy::from_toml) for both steps).
    ///
    /// # Errors
    ///
    /// [`RbacError::Syntax`] with the line and column of the first problem.
    pub fn from_toml(text: &str) -> Result<Self, RbacError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((0, 0), |span| line_column(text, span.start));
            RbacError::Syntax {
                line,
                column,
                message: e.message().to_owned(),
            }
        })
    }

    /// Writes the policy as a TOML file that [`from_toml`](Self::from_toml) reads back to
    /// an equal spec.
    ///
    /// # Errors
    ///
    /// [`RbacError::Encode`] if the encoder fails (not expected for any spec).
    pub fn to_toml(&self) -> Result<String, RbacError> {
        toml::to_string(self).map_err(|e| RbacError::Encode {
            message: e.to_string(),
        })
    }
}
