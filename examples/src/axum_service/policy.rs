//! The service's RBAC policy and its route table.

use portcullis_rbac::{PermissionSpec, Policy, PolicyBuilder, RbacError, RoleSpec};

/// The guarded routes: method, route template (as the router matches it) and permission.
pub const ROUTES: [(&str, &str, &str); 3] = [
    ("GET", "/tenants/{tenant}/documents", "documents:read"),
    ("POST", "/tenants/{tenant}/documents", "documents:write"),
    ("GET", "/tenants/{tenant}/audit/verify", "audit:read"),
];

/// The demo policy: `viewer` reads documents, `editor` also writes them, `admin` also
/// verifies the audit log.
///
/// # Errors
///
/// [`RbacError`] if the policy does not validate (it does; the test suite builds it).
pub fn demo_policy() -> Result<Policy, RbacError> {
    let mut builder = PolicyBuilder::new(1)
        .permission("documents:read", PermissionSpec::read())
        .permission("documents:write", PermissionSpec::write())
        .permission("audit:read", PermissionSpec::read())
        .role("viewer", RoleSpec::new().grant("documents:read"))
        .role(
            "editor",
            RoleSpec::new().inherits("viewer").grant("documents:write"),
        )
        .role(
            "admin",
            RoleSpec::new().inherits("editor").grant("audit:read"),
        );
    for (method, route, permission) in ROUTES {
        builder = builder.route(method, route, permission);
    }
    builder.build()
}

/// The permission of a guarded route, if it is one.
pub fn route_permission(method: &str, route: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, p)| *p)
}
