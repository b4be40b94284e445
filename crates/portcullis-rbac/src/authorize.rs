//! The check: a fixed pipeline of stages, each a small function.
//!
//! Order (the first stage that denies names the reason):
//!
//! 1. policy identity: principal and action must come from this policy;
//! 2. `tenant_isolation`: same tenant, or the super-admin path;
//! 3. `impersonation`: impersonating principals never mutate;
//! 4. `tier_gate`: the plan must include the action's feature (in-tenant path);
//! 5. `minimum_role`: a role (or custom role on this content type/field) must hold it
//!    (in-tenant path);
//! 6. `api_key_scope`: an API key must carry the action's scope;
//! 7. `separation_of_duties`: an approval's actor must not be the resource's creator.

use crate::decision::{Decision, Listed, Reason};
use crate::policy::{Action, PermInfo, Policy};
use crate::principal::{Access, FieldGrant, ResolvedPrincipal};
use crate::resource::Resource;

/// How custom-role field grants are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldMode {
    /// Against the resource's content type and field.
    Resource,
    /// Any grant with enough access (route guards and listings).
    AnyGrant,
}

/// Which way the tenant stage let the request through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    InTenant,
    SuperAdmin,
}

type Stage<'a, T = ()> = Result<T, Reason<'a>>;

pub(crate) fn tenant_isolation<'a>(
    p: &ResolvedPrincipal,
    action: u16,
    r: &Resource<'_>,
) -> Stage<'a, Path> {
    if r.tenant == &p.tenant {
        Ok(Path::InTenant)
    } else if p.super_admin.contains(action) {
        Ok(Path::SuperAdmin)
    } else {
        Err(Reason::CrossTenant)
    }
}

pub(crate) fn impersonation<'a>(p: &ResolvedPrincipal, info: &PermInfo) -> Stage<'a> {
    if p.impersonating && info.mutating {
        Err(Reason::ReadOnlyImpersonation)
    } else {
        Ok(())
    }
}

pub(crate) fn tier_gate<'a>(
    policy: &'a Policy,
    p: &ResolvedPrincipal,
    info: &PermInfo,
) -> Stage<'a> {
    match info.feature {
        Some(f) if (p.features >> f) & 1 == 0 => match policy.feature_name(f) {
            Some(name) => Err(Reason::NeedsFeature(name)),
            None => Err(Reason::UnknownAction),
        },
        _ => Ok(()),
    }
}

fn grant_matches(g: &FieldGrant, r: &Resource<'_>, mode: FieldMode, mutating: bool) -> bool {
    let enough = g.access == Access::Write || !mutating;
    enough
        && match mode {
            FieldMode::AnyGrant => true,
            FieldMode::Resource => {
                g.content_type == r.kind
                    && match &g.field {
                        None => true,
                        Some(f) => r.field == Some(f.as_str()),
                    }
            }
        }
}

pub(crate) fn minimum_role<'a>(
    policy: &'a Policy,
    p: &'a ResolvedPrincipal,
    action: u16,
    info: &PermInfo,
    r: &Resource<'_>,
    mode: FieldMode,
) -> Stage<'a, Reason<'a>> {
    if p.owner.contains(action) {
        for &role in &p.roles {
            let holds = policy
                .roles
                .get(usize::from(role))
                .is_some_and(|info| info.effective.contains(action));
            if holds {
                if let Some(name) = policy.role_name(role) {
                    return Ok(Reason::Role(name));
                }
            }
        }
    }
    let mut base_holds = false;
    for c in &p.custom {
        if c.owner.contains(action) {
            base_holds = true;
            if c.grants
                .iter()
                .any(|g| grant_matches(g, r, mode, info.mutating))
            {
                return Ok(Reason::CustomRole(&c.name));
            }
        }
    }
    if base_holds {
        return Err(Reason::NeedsFieldGrant);
    }
    match info.lowest_role.and_then(|r| policy.role_name(r)) {
        Some(name) => Err(Reason::NeedsRole(name)),
        None => Err(Reason::NotGranted),
    }
}

pub(crate) fn api_key_scope<'a>(p: &ResolvedPrincipal, info: &PermInfo) -> Stage<'a> {
    if p.scopes & info.scope.bit() == 0 {
        Err(Reason::NeedsScope(info.scope))
    } else {
        Ok(())
    }
}

pub(crate) fn separation_of_duties<'a>(
    p: &ResolvedPrincipal,
    info: &PermInfo,
    r: &Resource<'_>,
) -> Stage<'a> {
    if info.approval && r.creator == Some(&p.actor) {
        Err(Reason::SelfApproval)
    } else {
        Ok(())
    }
}

impl Policy {
    /// Decides whether `principal` may perform `action` on `resource`.
    ///
    /// Never fails: anything doubtful (an action or principal from another policy, an
    /// unknown role) is a deny with a [`Reason`]. Allocates nothing.
    pub fn authorize<'a>(
        &'a self,
        principal: &'a ResolvedPrincipal,
        action: Action,
        resource: &Resource<'_>,
    ) -> Decision<'a> {
        if action.stamp != self.stamp {
            return Decision::new(Reason::StalePolicy, self.version);
        }
        self.evaluate(principal, action.index, resource, FieldMode::Resource)
    }

    /// [`authorize`](Self::authorize) with the action given by name; an unknown name
    /// denies with [`Reason::UnknownAction`].
    pub fn authorize_named<'a>(
        &'a self,
        principal: &'a ResolvedPrincipal,
        permission: &str,
        resource: &Resource<'_>,
    ) -> Decision<'a> {
        match self.perm_index.get(permission) {
            Some(&index) => self.evaluate(principal, index, resource, FieldMode::Resource),
            None => Decision::new(Reason::UnknownAction, self.version),
        }
    }

    /// Checks many (action, resource) pairs for one principal, in order.
    pub fn authorize_batch<'a>(
        &'a self,
        principal: &'a ResolvedPrincipal,
        requests: &[(Action, Resource<'_>)],
    ) -> Vec<Decision<'a>> {
        requests
            .iter()
            .map(|(action, resource)| self.authorize(principal, *action, resource))
            .collect()
    }

    /// The permissions `principal` holds in `tenant`, for user interfaces: every action
    /// it may perform on some resource of that tenant that it did not create. Custom-role
    /// permissions are marked `field_restricted`.
    pub fn permissions_in<'a>(
        &'a self,
        principal: &'a ResolvedPrincipal,
        tenant: &portcullis_core::TenantId,
    ) -> Vec<Listed<'a>> {
        let resource = Resource::new(tenant, "", "");
        self.permissions
            .iter()
            .zip(0u16..)
            .filter_map(|(info, index)| {
                let d = self.evaluate(principal, index, &resource, FieldMode::AnyGrant);
                d.is_allowed().then_some(Listed {
                    permission: &info.name,
                    field_restricted: matches!(d.reason(), Reason::CustomRole(_)),
                })
            })
            .collect()
    }

    pub(crate) fn evaluate<'a>(
        &'a self,
        p: &'a ResolvedPrincipal,
        action: u16,
        r: &Resource<'_>,
        mode: FieldMode,
    ) -> Decision<'a> {
        let reason = self.stages(p, action, r, mode).unwrap_or_else(|deny| deny);
        Decision::new(reason, self.version)
    }

    fn stages<'a>(
        &'a self,
        p: &'a ResolvedPrincipal,
        action: u16,
        r: &Resource<'_>,
        mode: FieldMode,
    ) -> Stage<'a, Reason<'a>> {
        if p.stamp != self.stamp {
            return Err(Reason::StalePolicy);
        }
        let info = self.perm(action).ok_or(Reason::UnknownAction)?;
        let path = tenant_isolation(p, action, r)?;
        impersonation(p, info)?;
        let allow = match path {
            Path::SuperAdmin => Reason::SuperAdmin,
            Path::InTenant => {
                tier_gate(self, p, info)?;
                minimum_role(self, p, action, info, r, mode)?
            }
        };
        api_key_scope(p, info)?;
        separation_of_duties(p, info, r)?;
        Ok(allow)
    }
}
