//! Role-based authorization compiled to bitsets: roles with inheritance, validated
//! permissions, plan (tier) feature gates, tenant isolation with an explicit platform
//! super-admin path, read-only impersonation, custom roles narrowed per content type and
//! field, API-key scopes and separation of duties.
//!
//! A policy is declared in Rust ([`PolicyBuilder`]) or in a TOML file an auditor can read
//! ([`Policy::from_toml`]); both compile to the same immutable, validated [`Policy`].
//! A request's principal is resolved once ([`Policy::resolve`]); every check
//! ([`Policy::authorize`]) is then a few bit operations, allocates nothing, and returns a
//! [`Decision`]: allow or deny, a [`Reason`] and the policy version. There is no error
//! path to mishandle into "allow".
//!
//! # When not to use it
//!
//! - Attribute-rich policies (conditions on request context, time, IP, arbitrary
//!   resource attributes, relationships between objects): use a policy language such as
//!   Cedar, or a relationship-based system (Zanzibar-style).
//! - Authentication: this crate trusts the [`Principal`] it is given. Verify tokens,
//!   API keys and the super-admin claim before building one.
//!
//! # Quick start
//!
//! ```
//! use portcullis_core::{ActorId, TenantId};
//! use portcullis_rbac::{PermissionSpec, Policy, PolicyBuilder, Principal, Reason, Resource, RoleSpec};
//!
//! let policy: Policy = PolicyBuilder::new(1)
//!     .feature("exports")
//!     .plan("free", Vec::<String>::new())
//!     .plan("pro", ["exports"])
//!     .permission("leads:read", PermissionSpec::read())
//!     .permission("leads:write", PermissionSpec::write())
//!     .permission("leads:export", PermissionSpec::read().requires_feature("exports"))
//!     .permission("leads:approve", PermissionSpec::approval().min_role("admin"))
//!     .role("viewer", RoleSpec::new().grant("leads:read").grant("leads:export"))
//!     .role("member", RoleSpec::new().inherits("viewer").grant("leads:write"))
//!     .role("admin", RoleSpec::new().inherits("member"))
//!     .super_admin(["leads:read"])
//!     .route("GET", "/leads", "leads:read")
//!     .build()?;
//!
//! let acme: TenantId = "acme".parse()?;
//! let alice: ActorId = "alice".parse()?;
//! // Resolve once per request (or cache per session)...
//! let member = policy.resolve(&Principal::new(alice.clone(), acme.clone()).with_role("member").with_plan("free"));
//! // ...then check as often as needed.
//! let read = policy.action("leads:read").ok_or("unknown action")?;
//! let lead = Resource::new(&acme, "lead", "lead-42");
//! let d = policy.authorize(&member, read, &lead);
//! assert!(d.is_allowed());
//! assert_eq!(d.reason().to_string(), "allowed by role member");
//!
//! let export = policy.action("leads:export").ok_or("unknown action")?;
//! assert_eq!(policy.authorize(&member, export, &lead).reason().to_string(), "needs plan feature exports");
//! let approve = policy.action("leads:approve").ok_or("unknown action")?;
//! assert_eq!(policy.authorize(&member, approve, &lead).reason().to_string(), "needs role admin");
//!
//! let other: TenantId = "globex".parse()?;
//! let theirs = Resource::new(&other, "lead", "lead-7");
//! assert_eq!(policy.authorize(&member, read, &theirs).reason(), Reason::CrossTenant);
//!
//! // The same checks by route, for middleware.
//! assert!(policy.guard_route("GET", "/leads", &member).is_allowed());
//!
//! // The TOML form compiles to the same policy.
//! let text = PolicyBuilder::new(1).permission("leads:read", PermissionSpec::read()).spec()?.to_toml()?;
//! assert_eq!(Policy::from_toml(&text)?, PolicyBuilder::new(1).permission("leads:read", PermissionSpec::read()).build()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The policy file
//!
//! A UTF-8 TOML document; unknown keys are errors. Every name is validated (see
//! [`RoleName`], [`FeatureName`], [`PlanName`] and [`Permission`]): roles, features and
//! plans match `[a-z][a-z0-9_-]*` (1 to 64 bytes); permissions are `resource:action`
//! (`leads:read`, `billing:invoice:refund`) or `platform__leads__read` style (3 to 128
//! bytes).
//!
//! ```toml
//! version = 7                      # required, u64, reported in every decision
//! features = ["exports", "sso"]    # plan features (at most 64)
//! super_admin = ["leads:read"]     # the explicit platform super-admin grant (cross-tenant)
//!
//! [plans]                          # plan (tier) -> features it includes
//! free = []
//! pro = ["exports"]
//!
//! [permissions."leads:read"]       # every permission is declared (at most 512); all keys optional:
//! [permissions."leads:write"]
//! mutating = true                  # denied under impersonation; default false
//! [permissions."leads:approve"]
//! approval = true                  # separation of duties; implies mutating
//! scope = "write"                  # API-key scope: read | read_draft | write | management
//!                                  #   default: write if mutating, else read
//! min_role = "admin"               # grant to this role and all roles inheriting it
//! [permissions.platform__leads__export]
//! requires_feature = "exports"     # plan gate
//!
//! [roles.viewer]
//! grants = ["leads:read"]
//! [roles.member]
//! inherits = ["viewer"]            # member holds everything viewer holds
//! grants = ["leads:write"]
//! [roles.admin]
//! inherits = ["member"]
//!
//! [[routes]]                       # for Policy::guard_route
//! method = "GET"                   # GET HEAD POST PUT PATCH DELETE OPTIONS
//! route = "/leads"
//! permission = "leads:read"
//! ```
//!
//! Validation rejects, naming the key and, for files, the line (and for syntax errors
//! the column):
//! invalid names, references to unknown roles, permissions or features, inheritance
//! cycles (with the cycle's path), duplicate entries, unknown methods, bad routes.
//! Compilation sorts every name, so declaration order never changes the result.
//!
//! # Rules
//!
//! [`Policy::authorize`] runs these stages in order; the first that fails names the
//! reason:
//!
//! 1. **Tenant isolation**: a resource of another tenant is denied (`cross-tenant`)
//!    unless the principal holds the explicit super-admin grant *and* the action is in
//!    the policy's `super_admin` set: the decision then says
//!    [`Reason::SuperAdmin`]. On that path roles and plan gates are not consulted.
//! 2. **Read-only impersonation**: an impersonated principal never performs a mutating
//!    action.
//! 3. **Tier gate**: the principal's plan must include the action's `requires_feature`.
//! 4. **Minimum role**: one of the principal's roles (with inheritance) holds the action,
//!    or a custom role whose base role holds it has a grant on the resource's content
//!    type (and field) with enough access (`write` for mutating actions).
//! 5. **API-key scope**: with an API key, the key's scopes must include the action's
//!    scope; rights are the intersection of the key's scopes and its owner's rights.
//! 6. **Separation of duties**: for approval actions, the resource's creator is denied.
//!
//! # Decision reasons
//!
//! | reason | allow? | `code()` | displayed as |
//! |--------|--------|----------|--------------|
//! | [`Reason::Role`] | allow | `role` | `allowed by role admin` |
//! | [`Reason::CustomRole`] | allow | `custom_role` | `allowed by custom role editor` |
//! | [`Reason::SuperAdmin`] | allow | `super_admin` | `allowed cross-tenant by the platform super-admin grant` |
//! | [`Reason::CrossTenant`] | deny | `cross_tenant` | `cross-tenant` |
//! | [`Reason::ReadOnlyImpersonation`] | deny | `read_only_impersonation` | `read-only impersonation` |
//! | [`Reason::NeedsFeature`] | deny | `needs_feature` | `needs plan feature exports` |
//! | [`Reason::NeedsRole`] | deny | `needs_role` | `needs role admin` (the lowest role holding the action) |
//! | [`Reason::NeedsFieldGrant`] | deny | `needs_field_grant` | `needs a custom-role grant on this content type or field` |
//! | [`Reason::NotGranted`] | deny | `not_granted` | `no role grants this action` |
//! | [`Reason::NeedsScope`] | deny | `needs_scope` | `needs scope write` |
//! | [`Reason::SelfApproval`] | deny | `self_approval` | `self-approval` |
//! | [`Reason::UnknownAction`] | deny | `unknown_action` | `unknown action` |
//! | [`Reason::UnknownRoute`] | deny | `unknown_route` | `unknown route` |
//! | [`Reason::StalePolicy`] | deny | `stale_policy` | `principal or action resolved against another policy` |
//!
//! # Also included
//!
//! - [`Policy::permissions_in`] lists what a principal holds in a tenant;
//!   [`Policy::authorize_batch`] checks many pairs.
//! - [`diff`] lists every (role, permission) a new policy grants that the old did not.
//! - [`PolicyHandle`] swaps policies at run time without blocking readers.
//! - [`Policy::guard_route`] checks method + route key, with a tower layer example.
//!
//! # Features
//!
//! This crate has no optional features.
//!
//! # Security considerations
//!
//! - Default deny: an action is allowed only by a role grant, a custom-role grant within
//!   its base role, or the super-admin set. Unknown roles, plans and base roles grant
//!   nothing; an unknown action, route, or a principal/action resolved against another
//!   policy (after a hot reload) is denied.
//! - Custom roles cannot exceed their base role: a field grant carries no permission of
//!   its own, it only narrows where the base role's permissions apply.
//! - The super-admin grant is an input: the caller must establish it from a trusted
//!   source (never from a tenant-controlled claim). Only the actions listed in
//!   `super_admin` are reachable through it, and each such decision says so.
//! - Route guards check the principal's own tenant and skip object-level rules; load
//!   the resource and call [`Policy::authorize`] for those.
//! - Policy files are untrusted input: parsing never panics (fuzzed), errors are typed,
//!   and sizes are bounded (512 permissions, 1024 roles, 64 features).
//! - [`diff`] reports grants gained, not changed attributes (a permission that stops
//!   being `mutating` or loses its plan gate also widens access): review those in the
//!   file diff.

#![forbid(unsafe_code)]
// One module-file style: `foo.rs` next to `foo/`, never `foo/mod.rs`.
#![warn(clippy::mod_module_files)]

// Files read forward: each uses only files of earlier lines (error.rs may be used by any).
//   bits, resource, names, locate   bitsets, the request's resource, names, file positions
//   spec                            the policy as declared (input)
//   decision                        decisions and reasons
//   policy                          the compiled form
//   compile                         spec -> policy (validation, compilation)
//   builder                         a spec declared in Rust, then compiled
//   principal                       a principal resolved against a policy
//   authorize                       evaluation, stage by stage
//   route, diff, reload             route guards, policy diff, hot reload
mod authorize;
mod bits;
mod builder;
mod compile;
mod decision;
mod diff;
mod error;
mod locate;
mod names;
mod policy;
mod principal;
mod reload;
mod resource;
mod route;
mod spec;

pub use bits::{MAX_FEATURES, MAX_PERMISSIONS};
pub use builder::PolicyBuilder;
pub use compile::MAX_ROLES;
pub use decision::{Decision, Listed, Reason};
pub use diff::{GrantChange, Grantee, diff};
pub use error::RbacError;
pub use names::{FeatureName, Permission, PlanName, RoleName};
pub use policy::{Action, Policy};
pub use principal::{Access, CustomRole, FieldGrant, Principal, ResolvedPrincipal};
pub use reload::{PolicyGuard, PolicyHandle};
pub use resource::Resource;
pub use spec::{PermissionSpec, PolicySpec, RoleSpec, RouteSpec, Scope};
