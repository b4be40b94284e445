//! Stages: roles as declared (inherited roles and direct grants), and the compiled role
//! table.

use super::errors::quoted;
use super::index::{self, Index};
use crate::bits::PermSet;
use crate::error::RbacError;
use crate::names::RoleName;
use crate::policy::RoleInfo;
use crate::spec::PolicySpec;

/// Each role's declared edges, by role number.
#[derive(Debug)]
pub(super) struct Declared {
    /// Permissions granted directly (the permission stage adds `min_role` grants).
    pub(super) direct: Vec<PermSet>,
    /// The roles it inherits, in declaration order.
    pub(super) parents: Vec<Vec<u16>>,
}

/// Resolves every role's `inherits` and `grants`, rejecting unknown names and repeated
/// parents.
pub(super) fn declared(
    spec: &PolicySpec,
    roles: &Index,
    permissions: &Index,
) -> Result<Declared, RbacError> {
    let role_count = spec.roles.len();
    let mut direct = vec![PermSet::EMPTY; role_count];
    let mut parents: Vec<Vec<u16>> = vec![Vec::new(); role_count];
    for (i, (name, r)) in spec.roles.iter().enumerate() {
        let base = format!("roles.{}", quoted(name));
        let key = format!("{base}.inherits");
        for parent in &r.inherits {
            let p = index::role(roles, &key, parent)?;
            if let Some(list) = parents.get_mut(i) {
                if list.contains(&p) {
                    return Err(RbacError::Duplicate {
                        key,
                        value: parent.clone(),
                    });
                }
                list.push(p);
            }
        }
        let key = format!("{base}.grants");
        for g in &r.grants {
            let p = index::permission(permissions, &key, g)?;
            if let Some(set) = direct.get_mut(i) {
                set.insert(p);
            }
        }
    }
    Ok(Declared { direct, parents })
}

/// The compiled role table: each role's name and rights (`effective`, by role number).
pub(super) fn table(spec: &PolicySpec, effective: &[PermSet]) -> Result<Vec<RoleInfo>, RbacError> {
    let mut roles = Vec::with_capacity(spec.roles.len());
    for (i, name) in spec.roles.keys().enumerate() {
        roles.push(RoleInfo {
            name: RoleName::new(name.as_str())?,
            effective: effective.get(i).copied().unwrap_or_default(),
        });
    }
    Ok(roles)
}
