//! The policy file format as documented: the example in the crate docs is kept in
//! `tests/vectors/documented_policy.toml`, compiles, and means what the docs say.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{Policy, Principal, Resource, Scope};

const DOC: &str = include_str!("vectors/documented_policy.toml");

#[test]
fn documented_example_is_the_file() {
    let lib = include_str!("../src/lib.rs");
    let start = lib.find("//! ```toml\n").unwrap() + "//! ```toml\n".len();
    let end = start + lib[start..].find("//! ```\n").unwrap();
    let from_docs: Vec<&str> = lib[start..end]
        .lines()
        .map(|l| {
            l.strip_prefix("//! ")
                .or_else(|| l.strip_prefix("//!"))
                .unwrap()
        })
        .collect();
    let from_file: Vec<&str> = DOC.lines().filter(|l| !l.starts_with("# ")).collect();
    assert_eq!(from_docs, from_file);
}

#[test]
fn documented_example_means_what_it_says() {
    let p = Policy::from_toml(DOC).unwrap();
    assert_eq!(p.version(), 7);
    let acme: TenantId = "acme".parse().unwrap();
    let alice: ActorId = "alice".parse().unwrap();
    let r = Resource::new(&acme, "lead", "1");
    let admin = p.resolve(
        &Principal::new(alice.clone(), acme.clone())
            .with_role("admin")
            .with_plan("pro"),
    );
    let member = p.resolve(
        &Principal::new(alice.clone(), acme.clone())
            .with_role("member")
            .with_plan("free"),
    );
    // min_role = "admin": admin holds leads:approve, member does not.
    assert!(p.authorize_named(&admin, "leads:approve", &r).is_allowed());
    assert_eq!(
        p.authorize_named(&member, "leads:approve", &r)
            .reason()
            .to_string(),
        "needs role admin"
    );
    // inherits: member holds viewer's leads:read.
    assert!(p.authorize_named(&member, "leads:read", &r).is_allowed());
    // approval implies mutating, and scope "write" was declared.
    let key = p.resolve(
        &Principal::new(alice, acme.clone())
            .with_role("admin")
            .with_api_key_scopes([Scope::Read]),
    );
    assert_eq!(
        p.authorize_named(&key, "leads:approve", &r)
            .reason()
            .to_string(),
        "needs scope write"
    );
    // requires_feature: no role holds the export permission, but the plan gate comes first.
    assert_eq!(
        p.authorize_named(&member, "platform__leads__export", &r)
            .reason()
            .to_string(),
        "needs plan feature exports"
    );
    assert!(p.super_admin_grants("leads:read"));
    assert!(p.guard_route("GET", "/leads", &member).is_allowed());
}
