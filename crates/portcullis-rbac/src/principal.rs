//! Principals: who is asking, and their once-resolved compiled form.

use portcullis_core::{ActorId, TenantId};

use crate::bits::PermSet;
use crate::policy::Policy;
use crate::spec::Scope;

/// Read or write access granted by a custom role on a content type or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Allows non-mutating actions.
    Read,
    /// Allows mutating and non-mutating actions.
    Write,
}

/// One grant of a custom role: access to a content type, or to one field of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldGrant {
    /// The content type ([`Resource::kind`](crate::Resource::kind)).
    pub content_type: String,
    /// The field, or `None` for every field and the object as a whole.
    pub field: Option<String>,
    /// What the grant allows.
    pub access: Access,
}

/// A tenant-defined role: a base role from the policy narrowed by per-(content type,
/// field) grants.
///
/// Its rights are the base role's rights *and* a matching grant, never more: a grant has
/// no permission of its own, it only selects where the base role's permissions apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    name: String,
    base: String,
    grants: Vec<FieldGrant>,
}

impl CustomRole {
    /// A custom role named `name` on top of the policy role `base`, with no grants yet.
    #[must_use]
    pub fn new(name: impl Into<String>, base: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            base: base.into(),
            grants: Vec::new(),
        }
    }

    /// Adds a grant on `content_type` (and `field`, if given).
    #[must_use]
    pub fn grant(
        mut self,
        content_type: impl Into<String>,
        field: Option<&str>,
        access: Access,
    ) -> Self {
        self.grants.push(FieldGrant {
            content_type: content_type.into(),
            field: field.map(str::to_owned),
            access,
        });
        self
    }

    /// The custom role's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base role it narrows.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Its grants.
    #[must_use]
    pub fn grants(&self) -> &[FieldGrant] {
        &self.grants
    }
}

/// Who is asking, as the caller's authentication established it.
///
/// Unknown role, custom base role or plan names grant nothing (fail closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    actor: ActorId,
    tenant: TenantId,
    roles: Vec<String>,
    custom_roles: Vec<CustomRole>,
    plan: Option<String>,
    api_key_scopes: Option<Vec<Scope>>,
    impersonated_by: Option<ActorId>,
    super_admin: bool,
}

impl Principal {
    /// A principal acting in `tenant` with no roles yet.
    #[must_use]
    pub fn new(actor: ActorId, tenant: TenantId) -> Self {
        Self {
            actor,
            tenant,
            roles: Vec::new(),
            custom_roles: Vec::new(),
            plan: None,
            api_key_scopes: None,
            impersonated_by: None,
            super_admin: false,
        }
    }

    /// Adds a policy role.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Adds a custom role.
    #[must_use]
    pub fn with_custom_role(mut self, role: CustomRole) -> Self {
        self.custom_roles.push(role);
        self
    }

    /// Sets the tenant's plan (tier).
    #[must_use]
    pub fn with_plan(mut self, plan: impl Into<String>) -> Self {
        self.plan = Some(plan.into());
        self
    }

    /// Marks the request as made with an API key holding `scopes`; rights become the
    /// intersection of the scopes and the owner's (this principal's) rights.
    #[must_use]
    pub fn with_api_key_scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.api_key_scopes = Some(scopes.into_iter().collect());
        self
    }

    /// Marks the request as made by `support` impersonating this principal: read-only.
    #[must_use]
    pub fn impersonated_by(mut self, support: ActorId) -> Self {
        self.impersonated_by = Some(support);
        self
    }

    /// Gives the principal the explicit platform super-admin grant (verify it came from
    /// a trusted source before calling this).
    #[must_use]
    pub fn with_super_admin_grant(mut self) -> Self {
        self.super_admin = true;
        self
    }

    /// The acting user.
    #[must_use]
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// The principal's tenant.
    #[must_use]
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ResolvedCustom {
    pub(crate) name: Box<str>,
    /// The base role's rights: the most the custom role can ever hold.
    pub(crate) owner: PermSet,
    pub(crate) grants: Box<[FieldGrant]>,
}

/// A [`Principal`] resolved against one [`Policy`]: roles, plan and scopes turned into
/// bitsets once, so each check is a handful of bit operations.
///
/// Tied to the policy that resolved it: after a hot reload, resolve again (checks
/// against another policy deny with [`Reason::StalePolicy`](crate::Reason::StalePolicy)).
#[derive(Debug, Clone)]
pub struct ResolvedPrincipal {
    pub(crate) stamp: u64,
    pub(crate) actor: ActorId,
    pub(crate) tenant: TenantId,
    pub(crate) roles: Box<[u16]>,
    /// Union of the roles' rights, before API-key scopes.
    pub(crate) owner: PermSet,
    pub(crate) custom: Box<[ResolvedCustom]>,
    pub(crate) features: u64,
    /// The super-admin set if the principal holds the grant, else empty.
    pub(crate) super_admin: PermSet,
    /// Bits of [`Scope::bit`]; all set when the request is not made with an API key.
    pub(crate) scopes: u8,
    pub(crate) impersonating: bool,
}

impl ResolvedPrincipal {
    /// The acting user.
    #[must_use]
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// The principal's tenant.
    #[must_use]
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Whether the request is read-only impersonation.
    #[must_use]
    pub fn is_impersonating(&self) -> bool {
        self.impersonating
    }
}

impl Policy {
    /// Resolves a principal's roles, custom roles, plan and API-key scopes to bitsets.
    /// Names the policy does not know grant nothing.
    #[must_use]
    pub fn resolve(&self, principal: &Principal) -> ResolvedPrincipal {
        let role_rights = |name: &str| {
            self.role_index
                .get(name)
                .and_then(|&i| self.roles.get(usize::from(i)).map(|r| (i, r.effective)))
        };
        let mut roles = Vec::with_capacity(principal.roles.len());
        let mut owner = PermSet::EMPTY;
        for name in &principal.roles {
            if let Some((i, rights)) = role_rights(name) {
                if !roles.contains(&i) {
                    roles.push(i);
                }
                owner = owner.union(&rights);
            }
        }
        let custom = principal
            .custom_roles
            .iter()
            .filter_map(|c| {
                role_rights(&c.base).map(|(_, rights)| ResolvedCustom {
                    name: c.name.as_str().into(),
                    owner: rights,
                    grants: c.grants.clone().into_boxed_slice(),
                })
            })
            .collect();
        let features = principal
            .plan
            .as_deref()
            .and_then(|plan| {
                self.plans
                    .iter()
                    .find(|(name, _)| name.as_str() == plan)
                    .map(|(_, set)| *set)
            })
            .unwrap_or(0);
        let scopes = principal
            .api_key_scopes
            .as_ref()
            .map_or(0x0f, |list| list.iter().fold(0, |acc, s| acc | s.bit()));
        ResolvedPrincipal {
            stamp: self.stamp,
            actor: principal.actor.clone(),
            tenant: principal.tenant.clone(),
            roles: roles.into_boxed_slice(),
            owner,
            custom,
            features,
            super_admin: if principal.super_admin {
                self.super_admin
            } else {
                PermSet::EMPTY
            },
            scopes,
            impersonating: principal.impersonated_by.is_some(),
        }
    }

    /// Whether `principal` was resolved by this policy (otherwise every check denies).
    #[must_use]
    pub fn is_resolved_by(&self, principal: &ResolvedPrincipal) -> bool {
        principal.stamp == self.stamp
    }
}
