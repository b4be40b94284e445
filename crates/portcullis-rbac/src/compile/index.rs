//! Stage: permission and role names, validated and numbered in sorted order (a
//! permission's number is its bit in a [`PermSet`](crate::bits::PermSet)), and the
//! lookups of references to them.

use std::collections::HashMap;

use super::errors::{at, too_many};
use crate::bits::MAX_PERMISSIONS;
use crate::error::RbacError;
use crate::names::{check_name, check_permission};
use crate::spec::PolicySpec;

/// The most roles one policy can declare.
pub const MAX_ROLES: usize = 1024;

/// Declared names and their numbers.
pub(super) type Index = HashMap<Box<str>, u16>;

/// Numbers the declared permissions (the map's order is the bit order).
pub(super) fn permissions(spec: &PolicySpec) -> Result<Index, RbacError> {
    number(
        "permissions",
        spec.permissions.keys(),
        spec.permissions.len(),
        MAX_PERMISSIONS,
        check_permission,
    )
}

/// Numbers the declared roles.
pub(super) fn roles(spec: &PolicySpec) -> Result<Index, RbacError> {
    number(
        "roles",
        spec.roles.keys(),
        spec.roles.len(),
        MAX_ROLES,
        |name| check_name("role", name),
    )
}

fn number<'a>(
    kind: &'static str,
    names: impl Iterator<Item = &'a String>,
    count: usize,
    max: usize,
    check: impl Fn(&str) -> Result<(), RbacError>,
) -> Result<Index, RbacError> {
    too_many(kind, count, max)?;
    let mut index = Index::new();
    for (i, name) in names.enumerate() {
        check(name).map_err(|e| at(kind, e))?;
        let i = u16::try_from(i).map_err(|_| RbacError::TooMany { kind, count, max })?;
        index.insert(name.as_str().into(), i);
    }
    Ok(index)
}

/// The number of permission `p`, referenced at `key`.
pub(super) fn permission(index: &Index, key: &str, p: &str) -> Result<u16, RbacError> {
    index
        .get(p)
        .copied()
        .ok_or_else(|| RbacError::UnknownPermission {
            key: key.to_owned(),
            permission: p.to_owned(),
        })
}

/// The number of role `r`, referenced at `key`.
pub(super) fn role(index: &Index, key: &str, r: &str) -> Result<u16, RbacError> {
    index.get(r).copied().ok_or_else(|| RbacError::UnknownRole {
        key: key.to_owned(),
        role: r.to_owned(),
    })
}
