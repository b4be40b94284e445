//! Stages: permission attributes, and the super-admin set.

use super::errors::quoted;
use super::index::{self, Index};
use super::tiers;
use crate::bits::PermSet;
use crate::error::RbacError;
use crate::names::{FeatureName, Permission};
use crate::policy::PermInfo;
use crate::spec::{PolicySpec, Scope};

/// Each permission's attributes, by permission number: mutating (approvals always are),
/// approval, scope (default `write` if mutating, else `read`) and plan feature.
///
/// A permission's `min_role` becomes a direct grant of that role, in `direct` (by role
/// number), in the same pass, so the first error of a spec is the one in declaration
/// order. The lowest role is found after inheritance.
pub(super) fn attributes(
    spec: &PolicySpec,
    features: &[FeatureName],
    roles: &Index,
    direct: &mut [PermSet],
) -> Result<Vec<PermInfo>, RbacError> {
    let mut permissions = Vec::with_capacity(spec.permissions.len());
    for (i, (name, p)) in spec.permissions.iter().enumerate() {
        let base = format!("permissions.{}", quoted(name));
        let feature = match &p.requires_feature {
            Some(f) => Some(tiers::feature(
                features,
                &format!("{base}.requires_feature"),
                f,
            )?),
            None => None,
        };
        if let Some(r) = &p.min_role {
            let r = index::role(roles, &format!("{base}.min_role"), r)?;
            if let (Some(set), Ok(i)) = (direct.get_mut(usize::from(r)), u16::try_from(i)) {
                set.insert(i);
            }
        }
        let mutating = p.mutating || p.approval;
        permissions.push(PermInfo {
            name: Permission::new(name.as_str())?,
            mutating,
            approval: p.approval,
            scope: p
                .scope
                .unwrap_or(if mutating { Scope::Write } else { Scope::Read }),
            feature,
            lowest_role: None,
        });
    }
    Ok(permissions)
}

/// The permissions the explicit platform super-admin grant holds.
pub(super) fn super_admin(spec: &PolicySpec, permissions: &Index) -> Result<PermSet, RbacError> {
    let mut set = PermSet::EMPTY;
    for p in &spec.super_admin {
        set.insert(index::permission(permissions, "super_admin", p)?);
    }
    Ok(set)
}
