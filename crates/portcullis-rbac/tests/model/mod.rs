//! Generators of small policies and principals, and a plain reference evaluator written
//! straight from the documented rules (no bitsets, no indices), for property and
//! differential tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;

use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{
    Access, CustomRole, PermissionSpec, PolicyBuilder, PolicySpec, Principal, RoleSpec, Scope,
};
use proptest::prelude::*;

pub const TENANTS: [&str; 2] = ["t1", "t2"];
pub const ACTORS: [&str; 2] = ["a1", "a2"];
pub const KINDS: [&str; 2] = ["doc", "note"];
pub const FIELDS: [Option<&str>; 3] = [None, Some("title"), Some("body")];

pub fn perm_name(i: usize) -> String {
    if i % 2 == 0 {
        format!("res{i}:act")
    } else {
        format!("area__res{i}__act")
    }
}
pub fn role_name(i: usize) -> String {
    format!("r{i}")
}
pub fn feature_name(i: usize) -> String {
    format!("f{i}")
}
pub fn plan_name(i: usize) -> String {
    format!("plan{i}")
}

fn scope_of(i: u8) -> Scope {
    Scope::ALL[usize::from(i % 4)]
}

/// A small policy, always valid (roles inherit only from lower-numbered roles).
pub fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (1usize..=6, 1usize..=4, 0usize..=2, 0usize..=2)
        .prop_flat_map(|(np, nr, nf, nplans)| {
            let perms = proptest::collection::vec(
                (
                    any::<bool>(),
                    any::<bool>(),
                    proptest::option::of(0u8..4),
                    proptest::option::of(0..nf.max(1)),
                    proptest::option::of(0..nr),
                ),
                np,
            );
            let roles = proptest::collection::vec(
                (
                    proptest::collection::vec(any::<bool>(), nr),
                    proptest::collection::vec(any::<bool>(), np),
                ),
                nr,
            );
            let plans =
                proptest::collection::vec(proptest::collection::vec(any::<bool>(), nf), nplans);
            let sa = proptest::collection::vec(any::<bool>(), np);
            (
                Just(nf),
                perms,
                roles,
                plans,
                sa,
                0..=i64::MAX.unsigned_abs(),
            )
        })
        .prop_map(|(nf, perms, roles, plans, sa, version)| {
            let mut b = PolicyBuilder::new(version);
            for f in 0..nf {
                b = b.feature(feature_name(f));
            }
            for (i, feats) in plans.iter().enumerate() {
                let list: Vec<String> = feats
                    .iter()
                    .enumerate()
                    .filter(|(_, on)| **on)
                    .map(|(f, _)| feature_name(f))
                    .collect();
                b = b.plan(plan_name(i), list);
            }
            for (i, (mutating, approval, scope, feature, min_role)) in perms.iter().enumerate() {
                let mut s = PermissionSpec {
                    mutating: *mutating,
                    approval: *approval,
                    ..PermissionSpec::default()
                };
                if let Some(sc) = scope {
                    s = s.scope(scope_of(*sc));
                }
                if let (Some(f), true) = (feature, nf > 0) {
                    s = s.requires_feature(feature_name(*f));
                }
                if let Some(r) = min_role {
                    s = s.min_role(role_name(*r));
                }
                b = b.permission(perm_name(i), s);
            }
            for (r, (inh, grants)) in roles.iter().enumerate() {
                let mut role = RoleSpec::new();
                for (o, on) in inh.iter().enumerate() {
                    if *on && o < r {
                        role = role.inherits(role_name(o));
                    }
                }
                for (p, on) in grants.iter().enumerate() {
                    if *on {
                        role = role.grant(perm_name(p));
                    }
                }
                b = b.role(role_name(r), role);
            }
            let sa: Vec<String> = sa
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(p, _)| perm_name(p))
                .collect();
            b.super_admin(sa).spec().unwrap()
        })
}

#[derive(Debug, Clone)]
pub struct PGrant {
    pub kind: &'static str,
    pub field: Option<&'static str>,
    pub write: bool,
}

#[derive(Debug, Clone)]
pub struct PCustom {
    pub base: String,
    pub grants: Vec<PGrant>,
}

/// A principal, in plain data, convertible to the crate's `Principal`.
#[derive(Debug, Clone)]
pub struct PModel {
    pub actor: &'static str,
    pub tenant: &'static str,
    pub roles: Vec<String>,
    pub custom: Vec<PCustom>,
    pub plan: Option<String>,
    pub scopes: Option<Vec<Scope>>,
    pub impersonated: bool,
    pub super_admin: bool,
}

impl PModel {
    pub fn to_principal(&self) -> Principal {
        let mut p = Principal::new(
            ActorId::new(self.actor).unwrap(),
            TenantId::new(self.tenant).unwrap(),
        );
        for r in &self.roles {
            p = p.with_role(r.clone());
        }
        for (i, c) in self.custom.iter().enumerate() {
            let mut cr = CustomRole::new(format!("custom{i}"), c.base.clone());
            for g in &c.grants {
                cr = cr.grant(
                    g.kind,
                    g.field,
                    if g.write { Access::Write } else { Access::Read },
                );
            }
            p = p.with_custom_role(cr);
        }
        if let Some(plan) = &self.plan {
            p = p.with_plan(plan.clone());
        }
        if let Some(s) = &self.scopes {
            p = p.with_api_key_scopes(s.clone());
        }
        if self.impersonated {
            p = p.impersonated_by(ActorId::new("support").unwrap());
        }
        if self.super_admin {
            p = p.with_super_admin_grant();
        }
        p
    }
}

fn grant() -> impl Strategy<Value = PGrant> {
    (0usize..2, 0usize..3, any::<bool>()).prop_map(|(k, f, write)| PGrant {
        kind: KINDS[k],
        field: FIELDS[f],
        write,
    })
}

/// Principals over role names r0..r4 (r4 may be unknown) and plans plan0..plan2.
pub fn principal() -> impl Strategy<Value = PModel> {
    (
        0usize..2,
        0usize..2,
        proptest::collection::btree_set(0usize..5, 0..3),
        proptest::collection::vec((0usize..5, proptest::collection::vec(grant(), 0..3)), 0..2),
        proptest::option::of(0usize..3),
        proptest::option::of(proptest::collection::btree_set(0u8..4, 0..4)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(a, t, roles, custom, plan, scopes, impersonated, super_admin)| PModel {
                actor: ACTORS[a],
                tenant: TENANTS[t],
                roles: roles.into_iter().map(role_name).collect(),
                custom: custom
                    .into_iter()
                    .map(|(b, grants)| PCustom {
                        base: role_name(b),
                        grants,
                    })
                    .collect(),
                plan: plan.map(plan_name),
                scopes: scopes.map(|s| s.into_iter().map(scope_of).collect()),
                impersonated,
                super_admin,
            },
        )
}

/// Every resource of the small universe: (tenant, kind, field, creator).
pub fn resources() -> Vec<(
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
)> {
    let mut out = Vec::new();
    for t in TENANTS {
        for k in KINDS {
            for f in FIELDS {
                for c in [None, Some(ACTORS[0]), Some(ACTORS[1])] {
                    out.push((t, k, f, c));
                }
            }
        }
    }
    out
}

/// The permissions a role holds: its grants, permissions naming it as `min_role`, and
/// everything its parents hold. Unknown role: nothing.
pub fn role_perms(spec: &PolicySpec, role: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(r) = spec.roles.get(role) else {
        return out;
    };
    out.extend(r.grants.iter().cloned());
    for (name, p) in &spec.permissions {
        if p.min_role.as_deref() == Some(role) {
            out.insert(name.clone());
        }
    }
    for parent in &r.inherits {
        out.extend(role_perms(spec, parent));
    }
    out
}

/// The reference decision: (allowed, reason code).
pub fn reference(
    spec: &PolicySpec,
    p: &PModel,
    action: &str,
    res: (&str, &str, Option<&str>, Option<&str>),
) -> (bool, &'static str) {
    let (tenant, kind, field, creator) = res;
    let Some(perm) = spec.permissions.get(action) else {
        return (false, "unknown_action");
    };
    let mutating = perm.mutating || perm.approval;
    let scope = perm
        .scope
        .unwrap_or(if mutating { Scope::Write } else { Scope::Read });
    let cross = tenant != p.tenant;
    if cross && !(p.super_admin && spec.super_admin.iter().any(|s| s == action)) {
        return (false, "cross_tenant");
    }
    if p.impersonated && mutating {
        return (false, "read_only_impersonation");
    }
    let allow = if cross {
        "super_admin"
    } else {
        if let Some(f) = &perm.requires_feature {
            let has = p
                .plan
                .as_ref()
                .and_then(|plan| spec.plans.get(plan))
                .is_some_and(|list| list.contains(f));
            if !has {
                return (false, "needs_feature");
            }
        }
        if p.roles.iter().any(|r| role_perms(spec, r).contains(action)) {
            "role"
        } else {
            let holders: Vec<&PCustom> = p
                .custom
                .iter()
                .filter(|c| role_perms(spec, &c.base).contains(action))
                .collect();
            let matched = holders.iter().any(|c| {
                c.grants.iter().any(|g| {
                    (g.write || !mutating)
                        && g.kind == kind
                        && (g.field.is_none() || g.field == field)
                })
            });
            if matched {
                "custom_role"
            } else if !holders.is_empty() {
                return (false, "needs_field_grant");
            } else if spec
                .roles
                .keys()
                .any(|r| role_perms(spec, r).contains(action))
            {
                return (false, "needs_role");
            } else {
                return (false, "not_granted");
            }
        }
    };
    if let Some(scopes) = &p.scopes {
        if !scopes.contains(&scope) {
            return (false, "needs_scope");
        }
    }
    if perm.approval && creator == Some(p.actor) {
        return (false, "self_approval");
    }
    (true, allow)
}
