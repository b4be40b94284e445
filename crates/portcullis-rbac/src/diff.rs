//! Policy diff: privilege growth between two versions.

use crate::names::{Permission, RoleName};
use crate::policy::Policy;

/// Who receives a grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grantee {
    /// The explicit platform super-admin grant.
    SuperAdmin,
    /// A policy role.
    Role(RoleName),
}

/// A (grantee, permission) pair the new policy grants and the old one did not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantChange {
    /// The role (or the super-admin grant) that gained the permission.
    pub grantee: Grantee,
    /// The permission gained.
    pub permission: Permission,
}

/// Every (role, permission) that `new` grants and `old` did not, including grants gained
/// through inheritance and `min_role`, and new roles' grants; sorted, super-admin first.
/// Roles and permissions are matched by name. Grants that were removed are not listed
/// (they shrink privilege); neither are changed plan gates or attributes.
#[must_use]
pub fn diff(old: &Policy, new: &Policy) -> Vec<GrantChange> {
    let mut out = Vec::new();
    for index in new.super_admin.iter() {
        if let Some(p) = new.perm(index) {
            if !old.super_admin_grants(p.name.as_str()) {
                out.push(GrantChange {
                    grantee: Grantee::SuperAdmin,
                    permission: p.name.clone(),
                });
            }
        }
    }
    for role in &new.roles {
        for index in role.effective.iter() {
            if let Some(p) = new.perm(index) {
                if !old.role_grants(role.name.as_str(), p.name.as_str()) {
                    out.push(GrantChange {
                        grantee: Grantee::Role(role.name.clone()),
                        permission: p.name.clone(),
                    });
                }
            }
        }
    }
    out
}
