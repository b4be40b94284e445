//! Validation and compilation of a [`PolicySpec`] into a [`Policy`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::bits::{MAX_FEATURES, MAX_PERMISSIONS, PermSet};
use crate::error::RbacError;
use crate::locate::at_line;
use crate::names::{FeatureName, Permission, PlanName, RoleName, check_name, check_permission};
use crate::policy::{METHODS, PermInfo, Policy, RoleInfo, method_index};
use crate::spec::{PolicySpec, Scope};

/// The most roles one policy can declare.
pub const MAX_ROLES: usize = 1024;

impl PolicySpec {
    /// Validates the spec and compiles it into bitsets.
    ///
    /// # Errors
    ///
    /// The first problem found, naming its key: invalid names, unknown roles,
    /// permissions or features, inheritance cycles, duplicates, bad routes, or more than
    /// [`MAX_PERMISSIONS`](crate::MAX_PERMISSIONS) permissions.
    pub fn compile(&self) -> Result<Policy, RbacError> {
        compile(self)
    }
}

impl Policy {
    /// Parses and compiles a policy file.
    ///
    /// # Errors
    ///
    /// As [`PolicySpec::from_toml`] and [`PolicySpec::compile`]; validation errors are
    /// wrapped in [`RbacError::AtLine`] with the line they concern.
    pub fn from_toml(text: &str) -> Result<Self, RbacError> {
        PolicySpec::from_toml(text)?
            .compile()
            .map_err(|e| at_line(text, e))
    }
}

static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

/// A stamp no other compilation in this process has had.
fn next_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

fn check_route(route: &str) -> bool {
    !route.is_empty() && route.len() <= 256 && route.bytes().all(|b| b.is_ascii_graphic())
}

fn at(key: &str, e: RbacError) -> RbacError {
    match e {
        RbacError::InvalidName {
            kind,
            value,
            reason,
            ..
        } => RbacError::InvalidName {
            key: key.to_owned(),
            kind,
            value,
            reason,
        },
        other => other,
    }
}

fn too_many(kind: &'static str, count: usize, max: usize) -> Result<(), RbacError> {
    if count > max {
        return Err(RbacError::TooMany { kind, count, max });
    }
    Ok(())
}

fn quoted(name: &str) -> String {
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        name.to_owned()
    } else {
        format!("\"{name}\"")
    }
}

fn compile(spec: &PolicySpec) -> Result<Policy, RbacError> {
    let max_version = i64::MAX.unsigned_abs();
    if spec.version > max_version {
        return Err(RbacError::InvalidVersion {
            version: spec.version,
            max: max_version,
        });
    }

    // Features.
    too_many("features", spec.features.len(), MAX_FEATURES)?;
    let mut features: Vec<FeatureName> = Vec::with_capacity(spec.features.len());
    for f in &spec.features {
        check_name("feature", f).map_err(|e| at("features", e))?;
        let name = FeatureName::new(f.as_str())?;
        if features.contains(&name) {
            return Err(RbacError::Duplicate {
                key: "features".to_owned(),
                value: f.clone(),
            });
        }
        features.push(name);
    }
    features.sort();
    let feature_index = |key: &str, f: &str| -> Result<u8, RbacError> {
        features
            .iter()
            .position(|n| n.as_str() == f)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or_else(|| RbacError::UnknownFeature {
                key: key.to_owned(),
                feature: f.to_owned(),
            })
    };

    // Plans.
    let mut plans = BTreeMap::new();
    for (plan, list) in &spec.plans {
        check_name("plan", plan).map_err(|e| at("plans", e))?;
        let key = format!("plans.{}", quoted(plan));
        let mut set = 0u64;
        for f in list {
            let i = feature_index(&key, f)?;
            set |= 1 << i;
        }
        plans.insert(PlanName::new(plan.as_str())?, set);
    }

    // Permissions (sorted by name: the BTreeMap order is the bit order).
    too_many("permissions", spec.permissions.len(), MAX_PERMISSIONS)?;
    let mut perm_index: HashMap<Box<str>, u16> = HashMap::new();
    for (i, name) in spec.permissions.keys().enumerate() {
        check_permission(name).map_err(|e| at("permissions", e))?;
        let i = u16::try_from(i).map_err(|_| RbacError::TooMany {
            kind: "permissions",
            count: spec.permissions.len(),
            max: MAX_PERMISSIONS,
        })?;
        perm_index.insert(name.as_str().into(), i);
    }
    let perm = |key: &str, p: &str| -> Result<u16, RbacError> {
        perm_index
            .get(p)
            .copied()
            .ok_or_else(|| RbacError::UnknownPermission {
                key: key.to_owned(),
                permission: p.to_owned(),
            })
    };

    // Roles.
    too_many("roles", spec.roles.len(), MAX_ROLES)?;
    let mut role_index: HashMap<Box<str>, u16> = HashMap::new();
    for (i, name) in spec.roles.keys().enumerate() {
        check_name("role", name).map_err(|e| at("roles", e))?;
        let i = u16::try_from(i).map_err(|_| RbacError::TooMany {
            kind: "roles",
            count: spec.roles.len(),
            max: MAX_ROLES,
        })?;
        role_index.insert(name.as_str().into(), i);
    }
    let role = |key: &str, r: &str| -> Result<u16, RbacError> {
        role_index
            .get(r)
            .copied()
            .ok_or_else(|| RbacError::UnknownRole {
                key: key.to_owned(),
                role: r.to_owned(),
            })
    };
    let role_count = spec.roles.len();
    let mut direct = vec![PermSet::EMPTY; role_count];
    let mut parents: Vec<Vec<u16>> = vec![Vec::new(); role_count];
    for (i, (name, r)) in spec.roles.iter().enumerate() {
        let base = format!("roles.{}", quoted(name));
        let key = format!("{base}.inherits");
        for parent in &r.inherits {
            let p = role(&key, parent)?;
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
            let p = perm(&key, g)?;
            if let Some(set) = direct.get_mut(i) {
                set.insert(p);
            }
        }
    }

    // Permission attributes; `min_role` becomes a direct grant.
    let mut permissions = Vec::with_capacity(spec.permissions.len());
    for (i, (name, p)) in spec.permissions.iter().enumerate() {
        let base = format!("permissions.{}", quoted(name));
        let feature = match &p.requires_feature {
            Some(f) => Some(feature_index(&format!("{base}.requires_feature"), f)?),
            None => None,
        };
        if let Some(r) = &p.min_role {
            let r = role(&format!("{base}.min_role"), r)?;
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

    // Inheritance: reject cycles, then close over ancestors (ancestors[r] includes r).
    let order = topological(&parents, spec)?;
    let mut effective = direct.clone();
    let mut ancestors: Vec<Vec<bool>> = vec![vec![false; role_count]; role_count];
    for &r in &order {
        let ri = usize::from(r);
        let mut set = direct.get(ri).copied().unwrap_or_default();
        let mut anc = vec![false; role_count];
        if let Some(a) = anc.get_mut(ri) {
            *a = true;
        }
        for &p in parents.get(ri).map_or(&[][..], Vec::as_slice) {
            let pi = usize::from(p);
            if let Some(ps) = effective.get(pi) {
                set = set.union(ps);
            }
            if let Some(pa) = ancestors.get(pi) {
                for (a, b) in anc.iter_mut().zip(pa) {
                    *a |= *b;
                }
            }
        }
        if let Some(e) = effective.get_mut(ri) {
            *e = set;
        }
        if let Some(a) = ancestors.get_mut(ri) {
            *a = anc;
        }
    }

    // The lowest role for each permission: a holder none of whose proper ancestors holds it.
    for (pi, info) in permissions.iter_mut().enumerate() {
        let Ok(p) = u16::try_from(pi) else { continue };
        let holders: Vec<usize> = (0..role_count)
            .filter(|&r| effective.get(r).is_some_and(|s| s.contains(p)))
            .collect();
        info.lowest_role = holders
            .iter()
            .copied()
            .find(|&r| {
                !holders.iter().any(|&o| {
                    o != r
                        && ancestors
                            .get(r)
                            .and_then(|a| a.get(o))
                            .copied()
                            .unwrap_or(false)
                })
            })
            .and_then(|r| u16::try_from(r).ok());
    }

    let mut roles = Vec::with_capacity(role_count);
    for (i, name) in spec.roles.keys().enumerate() {
        roles.push(RoleInfo {
            name: RoleName::new(name.as_str())?,
            effective: effective.get(i).copied().unwrap_or_default(),
        });
    }

    // Super-admin set.
    let mut super_admin = PermSet::EMPTY;
    for p in &spec.super_admin {
        super_admin.insert(perm("super_admin", p)?);
    }

    // Routes.
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
        let p = perm(&format!("{key}.permission"), &r.permission)?;
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

    Ok(Policy {
        version: spec.version,
        stamp: next_stamp(),
        permissions,
        perm_index,
        roles,
        role_index,
        features,
        plans,
        super_admin,
        routes,
    })
}

/// Orders roles so every role comes after the roles it inherits; rejects cycles.
fn topological(parents: &[Vec<u16>], spec: &PolicySpec) -> Result<Vec<u16>, RbacError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let names: Vec<&String> = spec.roles.keys().collect();
    let name = |i: u16| {
        names
            .get(usize::from(i))
            .map_or(String::new(), |s| (*s).clone())
    };
    let mut marks = vec![Mark::New; parents.len()];
    let mut order = Vec::with_capacity(parents.len());
    for start in 0..parents.len() {
        let Ok(start) = u16::try_from(start) else {
            continue;
        };
        if marks.get(usize::from(start)) != Some(&Mark::New) {
            continue;
        }
        // Iterative DFS: (role, next parent position).
        let mut stack: Vec<(u16, usize)> = vec![(start, 0)];
        if let Some(m) = marks.get_mut(usize::from(start)) {
            *m = Mark::Open;
        }
        while let Some(&mut (r, ref mut pos)) = stack.last_mut() {
            let next = parents
                .get(usize::from(r))
                .and_then(|ps| ps.get(*pos))
                .copied();
            *pos += 1;
            match next {
                Some(p) => match marks.get(usize::from(p)).copied() {
                    Some(Mark::New) => {
                        if let Some(m) = marks.get_mut(usize::from(p)) {
                            *m = Mark::Open;
                        }
                        stack.push((p, 0));
                    }
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|&(s, _)| s == p).unwrap_or(0);
                        let mut path: Vec<String> =
                            stack.iter().skip(from).map(|&(s, _)| name(s)).collect();
                        path.push(name(p));
                        return Err(RbacError::Cycle { path });
                    }
                    _ => {}
                },
                None => {
                    if let Some(m) = marks.get_mut(usize::from(r)) {
                        *m = Mark::Done;
                    }
                    order.push(r);
                    stack.pop();
                }
            }
        }
    }
    Ok(order)
}
