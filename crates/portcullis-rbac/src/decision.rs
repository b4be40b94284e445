//! Decisions and their reasons.

use std::fmt;

use crate::names::{FeatureName, Permission, RoleName};
use crate::spec::Scope;

/// Why a check allowed or denied. Borrowed from the policy and principal, so producing
/// one allocates nothing.
///
/// | reason | outcome | `code()` | display |
/// |--------|---------|----------|---------|
/// | `Role(r)` | allow | `role` | `allowed by role r` |
/// | `CustomRole(n)` | allow | `custom_role` | `allowed by custom role n` |
/// | `SuperAdmin` | allow | `super_admin` | `allowed cross-tenant by the platform super-admin grant` |
/// | `CrossTenant` | deny | `cross_tenant` | `cross-tenant` |
/// | `ReadOnlyImpersonation` | deny | `read_only_impersonation` | `read-only impersonation` |
/// | `NeedsFeature(f)` | deny | `needs_feature` | `needs plan feature f` |
/// | `NeedsRole(r)` | deny | `needs_role` | `needs role r` |
/// | `NeedsFieldGrant` | deny | `needs_field_grant` | `needs a custom-role grant on this content type or field` |
/// | `NotGranted` | deny | `not_granted` | `no role grants this action` |
/// | `NeedsScope(s)` | deny | `needs_scope` | `needs scope s` |
/// | `SelfApproval` | deny | `self_approval` | `self-approval` |
/// | `UnknownAction` | deny | `unknown_action` | `unknown action` |
/// | `UnknownRoute` | deny | `unknown_route` | `unknown route` |
/// | `StalePolicy` | deny | `stale_policy` | `principal or action resolved against another policy` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason<'a> {
    /// Allowed: this role of the principal grants the action.
    Role(&'a RoleName),
    /// Allowed: this custom role grants the action on the resource's content type/field.
    CustomRole(&'a str),
    /// Allowed in another tenant by the explicit platform super-admin grant.
    SuperAdmin,
    /// Denied: the resource belongs to another tenant.
    CrossTenant,
    /// Denied: an impersonating principal may only read.
    ReadOnlyImpersonation,
    /// Denied: the principal's plan lacks this feature.
    NeedsFeature(&'a FeatureName),
    /// Denied: this is the lowest role that holds the action.
    NeedsRole(&'a RoleName),
    /// Denied: a custom role's base holds the action, but it has no grant for this
    /// content type/field.
    NeedsFieldGrant,
    /// Denied: no role in the policy holds the action.
    NotGranted,
    /// Denied: the API key lacks this scope (its owner holds the action).
    NeedsScope(Scope),
    /// Denied: the principal created the resource it would approve.
    SelfApproval,
    /// Denied: the action is not in the policy.
    UnknownAction,
    /// Denied: the method and route are not in the policy's route table.
    UnknownRoute,
    /// Denied: the principal or action was resolved against another policy version.
    StalePolicy,
}

impl Reason<'_> {
    /// Whether this reason allows.
    #[must_use]
    pub const fn is_allow(&self) -> bool {
        matches!(
            self,
            Reason::Role(_) | Reason::CustomRole(_) | Reason::SuperAdmin
        )
    }

    /// A stable machine-readable code for logs and metrics.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Reason::Role(_) => "role",
            Reason::CustomRole(_) => "custom_role",
            Reason::SuperAdmin => "super_admin",
            Reason::CrossTenant => "cross_tenant",
            Reason::ReadOnlyImpersonation => "read_only_impersonation",
            Reason::NeedsFeature(_) => "needs_feature",
            Reason::NeedsRole(_) => "needs_role",
            Reason::NeedsFieldGrant => "needs_field_grant",
            Reason::NotGranted => "not_granted",
            Reason::NeedsScope(_) => "needs_scope",
            Reason::SelfApproval => "self_approval",
            Reason::UnknownAction => "unknown_action",
            Reason::UnknownRoute => "unknown_route",
            Reason::StalePolicy => "stale_policy",
        }
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Role(r) => write!(f, "allowed by role {r}"),
            Reason::CustomRole(n) => write!(f, "allowed by custom role {n}"),
            Reason::SuperAdmin => {
                f.write_str("allowed cross-tenant by the platform super-admin grant")
            }
            Reason::CrossTenant => f.write_str("cross-tenant"),
            Reason::ReadOnlyImpersonation => f.write_str("read-only impersonation"),
            Reason::NeedsFeature(x) => write!(f, "needs plan feature {x}"),
            Reason::NeedsRole(r) => write!(f, "needs role {r}"),
            Reason::NeedsFieldGrant => {
                f.write_str("needs a custom-role grant on this content type or field")
            }
            Reason::NotGranted => f.write_str("no role grants this action"),
            Reason::NeedsScope(s) => write!(f, "needs scope {s}"),
            Reason::SelfApproval => f.write_str("self-approval"),
            Reason::UnknownAction => f.write_str("unknown action"),
            Reason::UnknownRoute => f.write_str("unknown route"),
            Reason::StalePolicy => {
                f.write_str("principal or action resolved against another policy")
            }
        }
    }
}

/// The outcome of a check: allow or deny, the [`Reason`], and the policy version that
/// decided. There is no error case: anything doubtful is a deny with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a decision must be checked with `is_allowed`"]
pub struct Decision<'a> {
    reason: Reason<'a>,
    policy_version: u64,
}

impl<'a> Decision<'a> {
    pub(crate) const fn new(reason: Reason<'a>, policy_version: u64) -> Self {
        Self {
            reason,
            policy_version,
        }
    }

    /// Whether the action is allowed.
    #[must_use]
    pub const fn is_allowed(&self) -> bool {
        self.reason.is_allow()
    }

    /// Whether the action is denied.
    #[must_use]
    pub const fn is_denied(&self) -> bool {
        !self.reason.is_allow()
    }

    /// The rule that allowed, or the smallest missing requirement.
    #[must_use]
    pub const fn reason(&self) -> Reason<'a> {
        self.reason
    }

    /// The version of the policy that decided.
    #[must_use]
    pub const fn policy_version(&self) -> u64 {
        self.policy_version
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_allowed() { "allow" } else { "deny" };
        write!(
            f,
            "{verdict}: {} (policy v{})",
            self.reason, self.policy_version
        )
    }
}

/// A permission as listed for a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed<'a> {
    /// The permission.
    pub permission: &'a Permission,
    /// `true` when held only through custom roles, so only on the content types and
    /// fields those roles grant.
    pub field_restricted: bool,
}
