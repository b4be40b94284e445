//! Stage: the route table, method + route key -> permission.

use std::collections::HashMap;

use super::index::{self, Index};
use crate::error::RbacError;
use crate::policy::{METHODS, method_index};
use crate::spec::PolicySpec;

/// Every route's permission, one slot per method; a method and route declared twice is
/// an error.
pub(super) fn table(
    spec: &PolicySpec,
    permissions: &Index,
) -> Result<HashMap<Box<str>, [Option<u16>; METHODS]>, RbacError> {
    let mut routes: HashMap<Box<str>, [Option<u16>; METHODS]> = HashMap::new();
    for (i, r) in spec.routes.iter().enumerate() {
        let key = format!("routes[{i}]");
        let m = method_index(&r.method).ok_or_else(|| RbacError::UnknownMethod {
            key: format!("{key}.method"),
            method: r.method.chars().take(16).collect(),
        })?;
        if !check_route(&r.route) {
            return Err(RbacError::InvalidRoute {
                key: format!("{key}.route"),
                route: r.route.chars().take(64).collect(),
            });
        }
        let p = index::permission(permissions, &format!("{key}.permission"), &r.permission)?;
        let slot = routes
            .entry(r.route.as_str().into())
            .or_insert([None; METHODS]);
        match slot.get_mut(m) {
            Some(s @ None) => *s = Some(p),
            _ => {
                return Err(RbacError::Duplicate {
                    key: "routes".to_owned(),
                    value: format!("{} {}", r.method, r.route),
                });
            }
        }
    }
    Ok(routes)
}

/// A route key is 1 to 256 printable, non-space ASCII bytes.
fn check_route(route: &str) -> bool {
    !route.is_empty() && route.len() <= 256 && route.bytes().all(|b| b.is_ascii_graphic())
}
