//! Validation and compilation of a [`PolicySpec`] into a [`Policy`]: one function per
//! stage, run in the order below. Each stage validates its part of the spec and reports
//! the first problem, naming its key, so the first error of a spec does not depend on how
//! the stages are split.
//!
//! 1. [`version`]: the version fits a TOML integer;
//! 2. [`tiers`]: plan features, then the plans (tiers) and the features they include;
//! 3. [`index`]: permission and role names, numbered in sorted order;
//! 4. [`roles::declared`]: each role's inherited roles and direct grants;
//! 5. [`permissions::attributes`]: each permission's attributes (`min_role` becomes a
//!    direct grant of that role);
//! 6. [`inheritance`]: cycles rejected, rights closed over inheritance, lowest roles;
//! 7. [`roles::table`]: the compiled role table;
//! 8. [`permissions::super_admin`]: the super-admin set;
//! 9. [`routes`]: the route table.

mod errors;
mod index;
mod inheritance;
mod permissions;
mod roles;
mod routes;
mod tiers;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::RbacError;
use crate::locate::at_line;
use crate::policy::Policy;
use crate::spec::PolicySpec;

pub use index::MAX_ROLES;

impl PolicySpec {
    /// Validates the spec and compiles it into bitsets.
    ///
    /// # Errors
    ///
    /// The first problem found, naming its key: invalid names, unknown roles,
    /// permissions or features, inheritance cycles, duplicates, bad routes, or more than
    /// [`MAX_PERMISSIONS`](crate::MAX_PERMISSIONS) permissions.
    pub fn compile(&self) -> Result<Policy, RbacError> {
        compile(self)
    }
}

impl Policy {
    /// Parses and compiles a policy file.
    ///
    /// # Errors
    ///
    /// As [`PolicySpec::from_toml`] and [`PolicySpec::compile`]; validation errors are
    /// wrapped in [`RbacError::AtLine`] with the line they concern.
    pub fn from_toml(text: &str) -> Result<Self, RbacError> {
        PolicySpec::from_toml(text)?
            .compile()
            .map_err(|e| at_line(text, e))
    }
}

fn compile(spec: &PolicySpec) -> Result<Policy, RbacError> {
    let version = version(spec)?;
    let features = tiers::features(spec)?;
    let plans = tiers::plans(spec, &features)?;
    let perm_index = index::permissions(spec)?;
    let role_index = index::roles(spec)?;
    let mut declared = roles::declared(spec, &role_index, &perm_index)?;
    let mut permissions =
        permissions::attributes(spec, &features, &role_index, &mut declared.direct)?;
    let closure = inheritance::close(spec, &declared)?;
    inheritance::lowest_roles(&mut permissions, &closure);
    let roles = roles::table(spec, &closure.effective)?;
    let super_admin = permissions::super_admin(spec, &perm_index)?;
    let routes = routes::table(spec, &perm_index)?;
    Ok(Policy {
        version,
        stamp: next_stamp(),
        permissions,
        perm_index,
        roles,
        role_index,
        features,
        plans,
        super_admin,
        routes,
    })
}

/// The declared version, which must fit a TOML integer.
fn version(spec: &PolicySpec) -> Result<u64, RbacError> {
    let max_version = i64::MAX.unsigned_abs();
    if spec.version > max_version {
        return Err(RbacError::InvalidVersion {
            version: spec.version,
            max: max_version,
        });
    }
    Ok(spec.version)
}

static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

/// A stamp no other compilation in this process has had.
fn next_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}
