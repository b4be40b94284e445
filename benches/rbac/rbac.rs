//! portcullis-rbac vs cedar-policy (`Authorizer::is_authorized`) vs casbin (`enforce`), in
//! one run, on the same policy: 4 roles (viewer < member < admin < owner), 50
//! permissions, tenant isolation, with 10 and 1000 tenants.
//!
//! Run: `cargo bench -p portcullis-bench-rbac -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

use std::hint::black_box;
use std::str::FromStr;

use casbin::prelude::*;
use cedar_policy::{Authorizer, Context, Entities, EntityUid, PolicySet, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{PermissionSpec, Policy, PolicyBuilder, Principal, Resource, RoleSpec};

const ROLES: [&str; 4] = ["viewer", "member", "admin", "owner"];
const PERMS: usize = 50;

fn perm(i: usize) -> String {
    format!("doc{}:{}", i / 2, if i % 2 == 0 { "read" } else { "write" })
}

/// Role r is granted permissions [r*50/4, (r+1)*50/4) directly and inherits role r-1.
fn direct(r: usize) -> std::ops::Range<usize> {
    (r * PERMS / 4)..((r + 1) * PERMS / 4)
}

fn ours() -> Policy {
    let mut b = PolicyBuilder::new(1);
    for i in 0..PERMS {
        let spec = if i % 2 == 0 {
            PermissionSpec::read()
        } else {
            PermissionSpec::write()
        };
        b = b.permission(perm(i), spec);
    }
    for (r, name) in ROLES.iter().enumerate() {
        let mut role = RoleSpec::new();
        if r > 0 {
            role = role.inherits(ROLES[r - 1]);
        }
        for i in direct(r) {
            role = role.grant(perm(i));
        }
        b = b.role(*name, role);
    }
    b.build().unwrap()
}

fn cedar(tenants: usize) -> (PolicySet, Entities) {
    let mut text = String::new();
    for (r, name) in ROLES.iter().enumerate() {
        let actions: Vec<String> = direct(r)
            .map(|i| format!("Action::\"{}\"", perm(i)))
            .collect();
        text.push_str(&format!(
            "permit(principal in Role::\"{name}\", action in [{}], resource) when {{ principal.tenant == resource.tenant }};\n",
            actions.join(", ")
        ));
    }
    let policies = PolicySet::from_str(&text).unwrap();
    let mut ents = Vec::new();
    for (r, name) in ROLES.iter().enumerate() {
        let parents = if r > 0 {
            format!("[{{\"type\":\"Role\",\"id\":\"{}\"}}]", ROLES[r - 1])
        } else {
            "[]".to_owned()
        };
        ents.push(format!(
            "{{\"uid\":{{\"type\":\"Role\",\"id\":\"{name}\"}},\"attrs\":{{}},\"parents\":{parents}}}"
        ));
    }
    for t in 0..tenants {
        ents.push(format!(
            "{{\"uid\":{{\"type\":\"Tenant\",\"id\":\"t{t}\"}},\"attrs\":{{}},\"parents\":[]}}"
        ));
        ents.push(format!(
            "{{\"uid\":{{\"type\":\"User\",\"id\":\"u{t}\"}},\"attrs\":{{\"tenant\":{{\"__entity\":{{\"type\":\"Tenant\",\"id\":\"t{t}\"}}}}}},\"parents\":[{{\"type\":\"Role\",\"id\":\"member\"}}]}}"
        ));
        ents.push(format!(
            "{{\"uid\":{{\"type\":\"Doc\",\"id\":\"d{t}\"}},\"attrs\":{{\"tenant\":{{\"__entity\":{{\"type\":\"Tenant\",\"id\":\"t{t}\"}}}}}},\"parents\":[]}}"
        ));
    }
    let entities = Entities::from_json_str(&format!("[{}]", ents.join(",")), None).unwrap();
    (policies, entities)
}

const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.act == p.act
"#;

async fn casbin(tenants: usize) -> Enforcer {
    let model = DefaultModel::from_str(CASBIN_MODEL).await.unwrap();
    let mut e = Enforcer::new(model, MemoryAdapter::default())
        .await
        .unwrap();
    let mut p = Vec::new();
    for (r, name) in ROLES.iter().enumerate() {
        for i in direct(r) {
            p.push(vec![(*name).to_owned(), perm(i)]);
        }
    }
    e.add_policies(p).await.unwrap();
    let mut g = Vec::new();
    for t in 0..tenants {
        let dom = format!("t{t}");
        for r in 1..ROLES.len() {
            g.push(vec![
                ROLES[r].to_owned(),
                ROLES[r - 1].to_owned(),
                dom.clone(),
            ]);
        }
        g.push(vec![format!("u{t}"), "member".to_owned(), dom]);
    }
    e.add_grouping_policies(g).await.unwrap();
    e
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let policy = ours();
    let allow_perm = perm(7); // held by viewer, inherited by member
    let deny_perm = perm(45); // owner only
    for tenants in [10usize, 1000] {
        let mut group = c.benchmark_group(format!("rbac_check/{tenants}_tenants"));
        let me = tenants / 2;

        // portcullis-rbac: resolve once, then check.
        let tenant = TenantId::new(format!("t{me}")).unwrap();
        let other = TenantId::new(format!("t{}", me + 1)).unwrap();
        let principal = policy.resolve(
            &Principal::new(ActorId::new(format!("u{me}")).unwrap(), tenant.clone())
                .with_role("member"),
        );
        let allow = policy.action(&allow_perm).unwrap();
        let deny = policy.action(&deny_perm).unwrap();
        let doc = Resource::new(&tenant, "doc", "d");
        let theirs = Resource::new(&other, "doc", "d");
        assert!(policy.authorize(&principal, allow, &doc).is_allowed());
        assert!(policy.authorize(&principal, deny, &doc).is_denied());
        assert!(policy.authorize(&principal, allow, &theirs).is_denied());
        group.bench_function("portcullis/allow", |b| {
            b.iter(|| {
                black_box(policy.authorize(
                    black_box(&principal),
                    black_box(allow),
                    black_box(&doc),
                ))
                .is_allowed()
            })
        });
        group.bench_function("portcullis/deny_role", |b| {
            b.iter(|| {
                black_box(policy.authorize(black_box(&principal), black_box(deny), black_box(&doc)))
                    .is_allowed()
            })
        });
        group.bench_function("portcullis/deny_cross_tenant", |b| {
            b.iter(|| {
                black_box(policy.authorize(
                    black_box(&principal),
                    black_box(allow),
                    black_box(&theirs),
                ))
                .is_allowed()
            })
        });
        let input = Principal::new(ActorId::new(format!("u{me}")).unwrap(), tenant.clone())
            .with_role("member");
        group.bench_function("portcullis/resolve_then_allow", |b| {
            b.iter(|| {
                let p = policy.resolve(black_box(&input));
                policy.authorize(&p, allow, &doc).is_allowed()
            })
        });

        // cedar-policy.
        let (policies, entities) = cedar(tenants);
        let authorizer = Authorizer::new();
        let req = |action: &str, doc: usize| {
            Request::new(
                EntityUid::from_str(&format!("User::\"u{me}\"")).unwrap(),
                EntityUid::from_str(&format!("Action::\"{action}\"")).unwrap(),
                EntityUid::from_str(&format!("Doc::\"d{doc}\"")).unwrap(),
                Context::empty(),
                None,
            )
            .unwrap()
        };
        let cedar_allow = req(&allow_perm, me);
        let cedar_deny = req(&deny_perm, me);
        let cedar_cross = req(&allow_perm, me + 1);
        assert_eq!(
            authorizer
                .is_authorized(&cedar_allow, &policies, &entities)
                .decision(),
            cedar_policy::Decision::Allow
        );
        assert_eq!(
            authorizer
                .is_authorized(&cedar_deny, &policies, &entities)
                .decision(),
            cedar_policy::Decision::Deny
        );
        assert_eq!(
            authorizer
                .is_authorized(&cedar_cross, &policies, &entities)
                .decision(),
            cedar_policy::Decision::Deny
        );
        group.bench_function("cedar/allow", |b| {
            b.iter(|| {
                authorizer
                    .is_authorized(black_box(&cedar_allow), &policies, &entities)
                    .decision()
            })
        });
        group.bench_function("cedar/deny_role", |b| {
            b.iter(|| {
                authorizer
                    .is_authorized(black_box(&cedar_deny), &policies, &entities)
                    .decision()
            })
        });

        // casbin.
        let enforcer = rt.block_on(casbin(tenants));
        let user = format!("u{me}");
        let dom = format!("t{me}");
        let other_dom = format!("t{}", me + 1);
        assert!(
            enforcer
                .enforce((user.as_str(), dom.as_str(), allow_perm.as_str()))
                .unwrap()
        );
        assert!(
            !enforcer
                .enforce((user.as_str(), dom.as_str(), deny_perm.as_str()))
                .unwrap()
        );
        assert!(
            !enforcer
                .enforce((user.as_str(), other_dom.as_str(), allow_perm.as_str()))
                .unwrap()
        );
        group.bench_function("casbin/allow", |b| {
            b.iter(|| {
                enforcer
                    .enforce(black_box((
                        user.as_str(),
                        dom.as_str(),
                        allow_perm.as_str(),
                    )))
                    .unwrap()
            })
        });
        group.bench_function("casbin/deny_role", |b| {
            b.iter(|| {
                enforcer
                    .enforce(black_box((user.as_str(), dom.as_str(), deny_perm.as_str())))
                    .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
