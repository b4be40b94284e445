//! Properties, each checked exhaustively (every action × every resource of a small
//! universe) over small generated policies and principals, and a differential test
//! against the plain reference evaluator in `model/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod model;

use std::collections::BTreeSet;

use model::{PModel, policy_spec, principal, reference, resources, role_perms};
use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{Grantee, Policy, PolicySpec, Reason, Resource, diff};
use proptest::prelude::*;

/// Every (action, resource) decision for `p`, as (allowed, reason code).
fn all_decisions(policy: &Policy, spec: &PolicySpec, p: &PModel) -> Vec<(bool, &'static str)> {
    let resolved = policy.resolve(&p.to_principal());
    let mut out = Vec::new();
    for action in spec.permissions.keys() {
        let a = policy.action(action).unwrap();
        for (t, k, f, c) in resources() {
            let tenant = TenantId::new(t).unwrap();
            let creator = c.map(|c| ActorId::new(c).unwrap());
            let mut r = Resource::new(&tenant, k, "id");
            r.field = f;
            r.creator = creator.as_ref();
            let d = policy.authorize(&resolved, a, &r);
            out.push((d.is_allowed(), d.reason().code()));
        }
    }
    out
}

fn allowed(decisions: &[(bool, &str)]) -> Vec<bool> {
    decisions.iter().map(|d| d.0).collect()
}

/// `a` allows nothing that `b` denies.
fn subset(a: &[bool], b: &[bool]) -> bool {
    a.iter().zip(b).all(|(x, y)| !*x || *y)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn differential_against_reference(spec in policy_spec(), p in principal()) {
        let policy = spec.compile().unwrap();
        let got = all_decisions(&policy, &spec, &p);
        let mut want = Vec::new();
        for action in spec.permissions.keys() {
            for res in resources() {
                want.push(reference(&spec, &p, action, res));
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn default_deny(spec in policy_spec(), mut p in principal()) {
        // No roles, no custom roles, no super-admin grant: nothing is allowed.
        p.roles.clear();
        p.custom.clear();
        p.super_admin = false;
        let policy = spec.compile().unwrap();
        prop_assert!(all_decisions(&policy, &spec, &p).iter().all(|d| !d.0));
        // A policy with no grants allows nothing to anyone without the super-admin grant.
        let mut empty = spec.clone();
        for r in empty.roles.values_mut() { r.grants.clear(); }
        for perm in empty.permissions.values_mut() { perm.min_role = None; }
        let mut q = principal_with_all_roles(&empty, p.clone());
        q.super_admin = false;
        let policy = empty.compile().unwrap();
        prop_assert!(all_decisions(&policy, &empty, &q).iter().all(|d| !d.0));
    }

    #[test]
    fn custom_role_within_base(spec in policy_spec(), p in principal()) {
        let policy = spec.compile().unwrap();
        for c in &p.custom {
            let mut only_custom = p.clone();
            only_custom.roles.clear();
            only_custom.custom = vec![c.clone()];
            let mut only_base = only_custom.clone();
            only_base.custom.clear();
            only_base.roles = vec![c.base.clone()];
            let custom = allowed(&all_decisions(&policy, &spec, &only_custom));
            let base = allowed(&all_decisions(&policy, &spec, &only_base));
            prop_assert!(subset(&custom, &base));
        }
    }

    #[test]
    fn api_key_within_owner(spec in policy_spec(), p in principal()) {
        let policy = spec.compile().unwrap();
        let mut owner = p.clone();
        owner.scopes = None;
        let mut all_scopes = p.clone();
        all_scopes.scopes = Some(portcullis_rbac::Scope::ALL.to_vec());
        let key = allowed(&all_decisions(&policy, &spec, &p));
        let own = allowed(&all_decisions(&policy, &spec, &owner));
        prop_assert!(subset(&key, &own));
        // A key with every scope is exactly its owner.
        prop_assert_eq!(allowed(&all_decisions(&policy, &spec, &all_scopes)), own);
    }

    #[test]
    fn no_cross_tenant_without_super_admin(spec in policy_spec(), mut p in principal()) {
        p.super_admin = false;
        let policy = spec.compile().unwrap();
        let resolved = policy.resolve(&p.to_principal());
        let other = TenantId::new(if p.tenant == "t1" { "t2" } else { "t1" }).unwrap();
        for action in spec.permissions.keys() {
            let d = policy.authorize_named(&resolved, action, &Resource::new(&other, "doc", "x"));
            prop_assert_eq!(d.reason(), Reason::CrossTenant);
        }
        prop_assert!(policy.permissions_in(&resolved, &other).is_empty());
    }

    #[test]
    fn impersonation_never_mutates(spec in policy_spec(), mut p in principal()) {
        p.impersonated = true;
        let policy = spec.compile().unwrap();
        let decisions = all_decisions(&policy, &spec, &p);
        let per_action = resources().len();
        for (i, (name, perm)) in spec.permissions.iter().enumerate() {
            if perm.mutating || perm.approval {
                for d in &decisions[i * per_action..(i + 1) * per_action] {
                    prop_assert!(!d.0, "{} allowed under impersonation", name);
                }
            }
        }
    }

    #[test]
    fn role_monotonicity(spec in policy_spec(), p in principal(), extra in 0usize..5) {
        let policy = spec.compile().unwrap();
        // A role holds everything every role it inherits holds.
        for (name, role) in &spec.roles {
            for parent in &role.inherits {
                for perm in spec.permissions.keys() {
                    if policy.role_grants(parent, perm) {
                        prop_assert!(policy.role_grants(name, perm));
                    }
                }
            }
        }
        // Adding a role to a principal never turns an allow into a deny.
        let mut more = p.clone();
        more.roles.push(model::role_name(extra));
        let before = allowed(&all_decisions(&policy, &spec, &p));
        let after = allowed(&all_decisions(&policy, &spec, &more));
        prop_assert!(subset(&before, &after));
    }

    #[test]
    fn policy_file_round_trip(spec in policy_spec()) {
        let text = spec.to_toml().unwrap();
        let back = PolicySpec::from_toml(&text).unwrap();
        prop_assert_eq!(&back, &spec);
        prop_assert_eq!(back.compile().unwrap(), spec.compile().unwrap());
        prop_assert_eq!(Policy::from_toml(&text).unwrap(), spec.compile().unwrap());
    }

    #[test]
    fn diff_is_exact(old in policy_spec(), new in policy_spec()) {
        let (a, b) = (old.compile().unwrap(), new.compile().unwrap());
        let got: BTreeSet<(String, String)> = diff(&a, &b)
            .into_iter()
            .map(|c| match c.grantee {
                Grantee::SuperAdmin => ("*".to_owned(), c.permission.to_string()),
                Grantee::Role(r) => (r.to_string(), c.permission.to_string()),
            })
            .collect();
        let mut want = BTreeSet::new();
        for p in &new.super_admin {
            if !old.super_admin.contains(p) {
                want.insert(("*".to_owned(), p.clone()));
            }
        }
        for role in new.roles.keys() {
            let before = role_perms(&old, role);
            for p in role_perms(&new, role) {
                if !before.contains(&p) {
                    want.insert((role.clone(), p));
                }
            }
        }
        prop_assert_eq!(got.len(), diff(&a, &b).len(), "no duplicates");
        prop_assert_eq!(got, want);
        prop_assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn listing_matches_checks(spec in policy_spec(), mut p in principal()) {
        // Without custom roles the listing is exactly the allowed actions on a resource
        // of the tenant that the principal did not create.
        p.custom.clear();
        let policy = spec.compile().unwrap();
        let resolved = policy.resolve(&p.to_principal());
        for t in model::TENANTS {
            let tenant = TenantId::new(t).unwrap();
            let listed: Vec<String> = policy.permissions_in(&resolved, &tenant).iter().map(|l| l.permission.to_string()).collect();
            let want: Vec<String> = spec.permissions.keys()
                .filter(|a| policy.authorize_named(&resolved, a, &Resource::new(&tenant, "doc", "x")).is_allowed())
                .cloned()
                .collect();
            prop_assert_eq!(listed, want);
        }
    }
}

fn principal_with_all_roles(spec: &PolicySpec, mut p: PModel) -> PModel {
    p.roles = spec.roles.keys().cloned().collect();
    p
}
