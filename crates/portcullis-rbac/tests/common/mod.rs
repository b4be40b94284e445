#![allow(dead_code)]
use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::Policy;

pub(crate) const POLICY: &str = r#"
version = 3
features = ["exports", "sso"]
super_admin = ["leads:read", "tenant:suspend"]

[plans]
free = []
pro = ["exports"]
enterprise = ["exports", "sso"]

[permissions."leads:read"]
[permissions."leads:write"]
mutating = true
[permissions."leads:export"]
requires_feature = "exports"
[permissions."leads:approve"]
approval = true
min_role = "admin"
[permissions."drafts:read"]
scope = "read_draft"
[permissions."members:invite"]
mutating = true
scope = "management"
min_role = "admin"
[permissions."tenant:suspend"]
mutating = true
scope = "management"
[permissions.platform__sso__configure]
mutating = true
requires_feature = "sso"
scope = "management"
min_role = "owner"

[roles.viewer]
grants = ["leads:read", "leads:export"]
[roles.member]
inherits = ["viewer"]
grants = ["leads:write", "drafts:read"]
[roles.admin]
inherits = ["member"]
[roles.owner]
inherits = ["admin"]
[roles.support]
grants = ["leads:read"]

[[routes]]
method = "GET"
route = "/leads"
permission = "leads:read"
[[routes]]
method = "POST"
route = "/leads"
permission = "leads:write"
[[routes]]
method = "POST"
route = "/leads/{id}/approve"
permission = "leads:approve"
"#;

pub(crate) fn policy() -> Policy {
    Policy::from_toml(POLICY).unwrap()
}

pub(crate) fn tenant(s: &str) -> TenantId {
    s.parse().unwrap()
}

pub(crate) fn actor(s: &str) -> ActorId {
    s.parse().unwrap()
}
