//! The compiled, immutable policy.

use std::collections::{BTreeMap, HashMap};

use crate::bits::PermSet;
use crate::names::{FeatureName, Permission, PlanName, RoleName};
use crate::spec::Scope;

/// Number of HTTP methods a route table distinguishes.
pub(crate) const METHODS: usize = 7;

/// The methods a route table distinguishes, in slot order.
const METHOD_NAMES: [&str; METHODS] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The route-table slot of an upper-case HTTP method.
pub(crate) fn method_index(method: &str) -> Option<usize> {
    METHOD_NAMES.iter().position(|m| *m == method)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PermInfo {
    pub(crate) name: Permission,
    pub(crate) mutating: bool,
    pub(crate) approval: bool,
    pub(crate) scope: Scope,
    pub(crate) feature: Option<u8>,
    /// A minimal role holding the permission, named in "needs role" denials.
    pub(crate) lowest_role: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleInfo {
    pub(crate) name: RoleName,
    pub(crate) effective: PermSet,
}

/// A validated policy compiled to bitsets: immutable, cheap to share (`Arc`), and
/// evaluated without interpretation.
///
/// Build one with [`PolicyBuilder`](crate::PolicyBuilder) or [`Policy::from_toml`]. Two
/// policies compare equal when they grant the same things in the same way, however they
/// were declared (declaration order does not matter).
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) version: u64,
    /// Unique per compilation in this process: ties principals and actions to the policy
    /// they were resolved against.
    pub(crate) stamp: u64,
    pub(crate) permissions: Vec<PermInfo>,
    pub(crate) perm_index: HashMap<Box<str>, u16>,
    pub(crate) roles: Vec<RoleInfo>,
    pub(crate) role_index: HashMap<Box<str>, u16>,
    pub(crate) features: Vec<FeatureName>,
    pub(crate) plans: BTreeMap<PlanName, u64>,
    pub(crate) super_admin: PermSet,
    pub(crate) routes: HashMap<Box<str>, [Option<u16>; METHODS]>,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.permissions == other.permissions
            && self.roles == other.roles
            && self.features == other.features
            && self.plans == other.plans
            && self.super_admin == other.super_admin
            && self.routes == other.routes
    }
}

impl Eq for Policy {}

/// An action (permission) looked up once in a policy, so checks need no string lookup.
///
/// An `Action` belongs to the policy that produced it; used with another policy (for
/// example after a hot reload) every check denies with [`Reason::StalePolicy`](crate::Reason::StalePolicy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    pub(crate) index: u16,
    pub(crate) stamp: u64,
}

impl Policy {
    /// The declared policy version.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Looks up an action by permission name.
    #[must_use]
    pub fn action(&self, permission: &str) -> Option<Action> {
        self.perm_index.get(permission).map(|&index| Action {
            index,
            stamp: self.stamp,
        })
    }

    /// The permission an action stands for, if the action belongs to this policy.
    #[must_use]
    pub fn permission_of(&self, action: Action) -> Option<&Permission> {
        if action.stamp != self.stamp {
            return None;
        }
        self.permissions
            .get(usize::from(action.index))
            .map(|p| &p.name)
    }

    /// Every declared permission, sorted.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> {
        self.permissions.iter().map(|p| &p.name)
    }

    /// Every declared role, sorted.
    pub fn roles(&self) -> impl Iterator<Item = &RoleName> {
        self.roles.iter().map(|r| &r.name)
    }

    /// Whether `role` holds `permission` (directly, by inheritance or through
    /// `min_role`). Unknown names hold nothing.
    #[must_use]
    pub fn role_grants(&self, role: &str, permission: &str) -> bool {
        let (Some(&r), Some(&p)) = (self.role_index.get(role), self.perm_index.get(permission))
        else {
            return false;
        };
        self.roles
            .get(usize::from(r))
            .is_some_and(|info| info.effective.contains(p))
    }

    /// Whether the platform super-admin grant includes `permission`.
    #[must_use]
    pub fn super_admin_grants(&self, permission: &str) -> bool {
        self.perm_index
            .get(permission)
            .is_some_and(|&p| self.super_admin.contains(p))
    }

    pub(crate) fn perm(&self, index: u16) -> Option<&PermInfo> {
        self.permissions.get(usize::from(index))
    }

    pub(crate) fn role_name(&self, index: u16) -> Option<&RoleName> {
        self.roles.get(usize::from(index)).map(|r| &r.name)
    }

    pub(crate) fn feature_name(&self, index: u8) -> Option<&FeatureName> {
        self.features.get(usize::from(index))
    }
}
