//! `portcullis rbac check|diff`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{Access, CustomRole, Grantee, Policy, Principal, Resource, Scope};
use serde::Deserialize;

use crate::error::{CliError, CliResult};
use crate::input;

/// Check decisions against a TOML policy and review policy changes.
#[derive(Debug, Subcommand)]
pub(crate) enum RbacCommand {
    /// Decide one request; prints `allow: <reason> (policy vN)` (exit 0) or
    /// `deny: <reason> (policy vN)` (exit 1).
    ///
    /// Principal JSON: {"actor","tenant","roles":[..],"plan","api_key_scopes":[..],
    /// "impersonated_by","super_admin","custom_roles":[{"name","base","grants":
    /// [{"content_type","field","access":"read|write"}]}]}; only actor and tenant are
    /// required. Resource JSON: {"tenant","kind","id","creator","field"}; tenant and kind
    /// are required.
    Check(CheckArgs),
    /// Print every (role, permission) that NEW grants and OLD did not, one per line.
    Diff(DiffArgs),
}

/// Arguments of `rbac check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The policy file (TOML).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The principal as JSON.
    #[arg(long, value_name = "JSON")]
    principal: String,
    /// The permission asked for, e.g. `leads:read`.
    #[arg(long)]
    action: String,
    /// The resource as JSON.
    #[arg(long, value_name = "JSON")]
    resource: String,
}

/// Arguments of `rbac diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The old policy file.
    old: PathBuf,
    /// The new policy file.
    new: PathBuf,
    /// Exit 1 if NEW grants anything OLD did not (for CI review gates).
    #[arg(long)]
    fail_on_growth: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantJson {
    content_type: String,
    #[serde(default)]
    field: Option<String>,
    access: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomRoleJson {
    name: String,
    base: String,
    #[serde(default)]
    grants: Vec<GrantJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalJson {
    actor: ActorId,
    tenant: TenantId,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    api_key_scopes: Option<Vec<Scope>>,
    #[serde(default)]
    impersonated_by: Option<ActorId>,
    #[serde(default)]
    super_admin: bool,
    #[serde(default)]
    custom_roles: Vec<CustomRoleJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceJson {
    tenant: TenantId,
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    creator: Option<ActorId>,
    #[serde(default)]
    field: Option<String>,
}

/// Runs an rbac command.
pub(crate) fn run(cmd: &RbacCommand) -> CliResult {
    match cmd {
        RbacCommand::Check(a) => check(a),
        RbacCommand::Diff(a) => diff(a),
    }
}

fn load(path: &Path) -> CliResult<Policy> {
    let text = input::read_text(path)?;
    Policy::from_toml(&text)
        .map_err(|e| CliError::Usage(format!("policy `{}`: {e}", path.display())))
}

fn principal(json: &str) -> CliResult<Principal> {
    let p: PrincipalJson =
        serde_json::from_str(json).map_err(|e| CliError::Usage(format!("`--principal`: {e}")))?;
    let mut out = Principal::new(p.actor, p.tenant);
    for role in p.roles {
        out = out.with_role(role);
    }
    for c in p.custom_roles {
        let mut role = CustomRole::new(c.name, c.base);
        for g in c.grants {
            let access = match g.access.as_str() {
                "read" => Access::Read,
                "write" => Access::Write,
                other => {
                    return Err(CliError::Usage(format!(
                        "`--principal`: access `{other}` is not `read` or `write`"
                    )));
                }
            };
            role = role.grant(g.content_type, g.field.as_deref(), access);
        }
        out = out.with_custom_role(role);
    }
    if let Some(plan) = p.plan {
        out = out.with_plan(plan);
    }
    if let Some(scopes) = p.api_key_scopes {
        out = out.with_api_key_scopes(scopes);
    }
    if let Some(support) = p.impersonated_by {
        out = out.impersonated_by(support);
    }
    if p.super_admin {
        out = out.with_super_admin_grant();
    }
    Ok(out)
}

fn check(a: &CheckArgs) -> CliResult {
    let policy = load(&a.policy)?;
    let principal = principal(&a.principal)?;
    let r: ResourceJson = serde_json::from_str(&a.resource)
        .map_err(|e| CliError::Usage(format!("`--resource`: {e}")))?;
    let mut resource = Resource::new(&r.tenant, &r.kind, &r.id);
    if let Some(creator) = &r.creator {
        resource = resource.with_creator(creator);
    }
    if let Some(field) = &r.field {
        resource = resource.with_field(field);
    }
    let resolved = policy.resolve(&principal);
    let decision = policy.authorize_named(&resolved, &a.action, &resource);
    input::write_stdout(format!("{decision}\n").as_bytes())?;
    if decision.is_allowed() {
        Ok(())
    } else {
        Err(CliError::Failed(decision.to_string()))
    }
}

fn diff(a: &DiffArgs) -> CliResult {
    let old = load(&a.old)?;
    let new = load(&a.new)?;
    let changes = portcullis_rbac::diff(&old, &new);
    let mut out = String::new();
    for c in &changes {
        match &c.grantee {
            Grantee::SuperAdmin => out.push_str("super-admin"),
            Grantee::Role(role) => {
                out.push_str("role ");
                out.push_str(role.as_str());
            }
        }
        out.push_str(" gains ");
        out.push_str(c.permission.as_str());
        out.push('\n');
    }
    if changes.is_empty() {
        out.push_str("no new grants\n");
    }
    input::write_stdout(out.as_bytes())?;
    if a.fail_on_growth && !changes.is_empty() {
        return Err(CliError::Failed(format!(
            "{} new grants (--fail-on-growth)",
            changes.len()
        )));
    }
    Ok(())
}
