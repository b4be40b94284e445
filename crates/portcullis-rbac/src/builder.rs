//! Building a policy in Rust.

use crate::error::RbacError;
use crate::policy::Policy;
use crate::spec::{PermissionSpec, PolicySpec, RoleSpec, RouteSpec};

/// Builds a [`PolicySpec`] in code; [`build`](Self::build) validates and compiles it to the
/// same [`Policy`] the equivalent TOML file compiles to.
///
/// Names are validated at [`build`](Self::build), so the builder itself never fails.
/// Declaring the same role, permission or plan twice is an error at build time.
#[derive(Debug, Clone, Default)]
pub struct PolicyBuilder {
    spec: PolicySpec,
    duplicates: Vec<(String, String)>,
}

impl PolicyBuilder {
    /// Starts a policy with the given version.
    #[must_use]
    pub fn new(version: u64) -> Self {
        Self {
            spec: PolicySpec {
                version,
                ..PolicySpec::default()
            },
            duplicates: Vec::new(),
        }
    }

    /// Declares a plan feature.
    #[must_use]
    pub fn feature(mut self, name: impl Into<String>) -> Self {
        self.spec.features.push(name.into());
        self
    }

    /// Declares a plan and the features it includes.
    #[must_use]
    pub fn plan<I, S>(mut self, name: impl Into<String>, features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let name = name.into();
        let features = features.into_iter().map(Into::into).collect();
        if self.spec.plans.insert(name.clone(), features).is_some() {
            self.duplicates.push(("plans".to_owned(), name));
        }
        self
    }

    /// Declares a permission.
    #[must_use]
    pub fn permission(mut self, name: impl Into<String>, spec: PermissionSpec) -> Self {
        let name = name.into();
        if self.spec.permissions.insert(name.clone(), spec).is_some() {
            self.duplicates.push(("permissions".to_owned(), name));
        }
        self
    }

    /// Declares a role.
    #[must_use]
    pub fn role(mut self, name: impl Into<String>, spec: RoleSpec) -> Self {
        let name = name.into();
        if self.spec.roles.insert(name.clone(), spec).is_some() {
            self.duplicates.push(("roles".to_owned(), name));
        }
        self
    }

    /// Adds permissions to the platform super-admin set.
    #[must_use]
    pub fn super_admin<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.spec
            .super_admin
            .extend(permissions.into_iter().map(Into::into));
        self
    }

    /// Guards `method route` with `permission`.
    #[must_use]
    pub fn route(
        mut self,
        method: impl Into<String>,
        route: impl Into<String>,
        permission: impl Into<String>,
    ) -> Self {
        self.spec.routes.push(RouteSpec {
            method: method.into(),
            route: route.into(),
            permission: permission.into(),
        });
        self
    }

    /// The declarative spec built so far (for example to write it as TOML).
    ///
    /// # Errors
    ///
    /// [`RbacError::Duplicate`] if a role, permission or plan was declared twice.
    pub fn spec(self) -> Result<PolicySpec, RbacError> {
        if let Some((key, value)) = self.duplicates.into_iter().next() {
            return Err(RbacError::Duplicate { key, value });
        }
        Ok(self.spec)
    }

    /// Validates and compiles the policy.
    ///
    /// # Errors
    ///
    /// As [`PolicySpec::compile`], and [`RbacError::Duplicate`] for a repeated declaration.
    pub fn build(self) -> Result<Policy, RbacError> {
        self.spec()?.compile()
    }
}
