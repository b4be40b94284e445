#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `portcullis rbac check|diff`.

mod common;

use common::{ok, p, portcullis};
use predicates::prelude::*;

const POLICY: &str = r#"
version = 7
features = ["exports"]
super_admin = ["leads:read"]
[plans]
free = []
pro = ["exports"]
[permissions."leads:read"]
[permissions."leads:write"]
mutating = true
[permissions."leads:export"]
requires_feature = "exports"
[permissions."leads:approve"]
approval = true
min_role = "admin"
[roles.viewer]
grants = ["leads:read", "leads:export"]
[roles.member]
inherits = ["viewer"]
grants = ["leads:write"]
[roles.admin]
inherits = ["member"]
"#;

fn policy_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(
    policy: &std::path::Path,
    principal: &str,
    action: &str,
    resource: &str,
) -> assert_cmd::assert::Assert {
    portcullis()
        .args([
            "rbac",
            "check",
            "--policy",
            p(policy),
            "--principal",
            principal,
            "--action",
            action,
            "--resource",
            resource,
        ])
        .assert()
}

#[test]
fn decisions_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let pol = policy_file(dir.path(), "p.toml", POLICY);
    let member = r#"{"actor":"alice","tenant":"acme","roles":["member"],"plan":"free"}"#;
    let lead = r#"{"tenant":"acme","kind":"lead","id":"lead-42"}"#;
    check(&pol, member, "leads:read", lead)
        .success()
        .stdout("allow: allowed by role member (policy v7)\n");
    check(&pol, member, "leads:export", lead)
        .code(1)
        .stdout("deny: needs plan feature exports (policy v7)\n")
        .stderr(predicate::str::contains("needs plan feature exports"));
    check(&pol, member, "leads:approve", lead)
        .code(1)
        .stdout(predicate::str::contains("needs role admin"));
    check(
        &pol,
        member,
        "leads:read",
        r#"{"tenant":"globex","kind":"lead"}"#,
    )
    .code(1)
    .stdout(predicate::str::contains("cross-tenant"));
    check(&pol, member, "leads:nope", lead)
        .code(1)
        .stdout(predicate::str::contains("unknown action"));
    let admin = r#"{"actor":"alice","tenant":"acme","roles":["admin"]}"#;
    check(
        &pol,
        admin,
        "leads:approve",
        r#"{"tenant":"acme","kind":"lead","creator":"alice"}"#,
    )
    .code(1)
    .stdout(predicate::str::contains("self-approval"));
    check(
        &pol,
        admin,
        "leads:approve",
        r#"{"tenant":"acme","kind":"lead","creator":"bob"}"#,
    )
    .success();
    let impersonated =
        r#"{"actor":"alice","tenant":"acme","roles":["member"],"impersonated_by":"support"}"#;
    check(&pol, impersonated, "leads:write", lead)
        .code(1)
        .stdout(predicate::str::contains("read-only impersonation"));
    let keyed = r#"{"actor":"alice","tenant":"acme","roles":["member"],"api_key_scopes":["read"]}"#;
    check(&pol, keyed, "leads:write", lead)
        .code(1)
        .stdout(predicate::str::contains("needs scope write"));
    let platform = r#"{"actor":"root","tenant":"platform","super_admin":true}"#;
    check(&pol, platform, "leads:read", lead)
        .success()
        .stdout(predicate::str::contains("super-admin"));
}

#[test]
fn diff_lists_privilege_growth() {
    let dir = tempfile::tempdir().unwrap();
    let old = policy_file(dir.path(), "old.toml", POLICY);
    let grown = POLICY.replace("version = 7", "version = 8").replace(
        "grants = [\"leads:read\", \"leads:export\"]",
        "grants = [\"leads:read\", \"leads:export\", \"leads:write\"]",
    );
    let new = policy_file(dir.path(), "new.toml", &grown);
    assert_eq!(
        ok(&["rbac", "diff", p(&old), p(&new)]),
        "role viewer gains leads:write\n"
    );
    assert_eq!(ok(&["rbac", "diff", p(&new), p(&old)]), "no new grants\n");
    portcullis()
        .args(["rbac", "diff", "--fail-on-growth", p(&old), p(&new)])
        .assert()
        .code(1);
    portcullis()
        .args(["rbac", "diff", "--fail-on-growth", p(&new), p(&old)])
        .assert()
        .success();
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pol = policy_file(dir.path(), "p.toml", POLICY);
    let bad = policy_file(
        dir.path(),
        "bad.toml",
        "version = 1\n[roles.x]\ninherits = [\"y\"]\n",
    );
    let lead = r#"{"tenant":"acme","kind":"lead"}"#;
    let member = r#"{"actor":"alice","tenant":"acme","roles":["member"]}"#;
    check(&bad, member, "leads:read", lead)
        .code(2)
        .stderr(predicate::str::contains("bad.toml"));
    check(&pol, "{", "leads:read", lead).code(2);
    check(&pol, r#"{"actor":"alice"}"#, "leads:read", lead).code(2);
    check(
        &pol,
        member,
        "leads:read",
        r#"{"tenant":"acme","kind":"lead","color":"red"}"#,
    )
    .code(2);
    portcullis()
        .args(["rbac", "diff", p(&pol), p(&dir.path().join("missing.toml"))])
        .assert()
        .code(2);
}
