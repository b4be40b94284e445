//! Route guards: method + route key → permission → decision.

use crate::authorize::FieldMode;
use crate::decision::{Decision, Reason};
use crate::policy::{Policy, method_index};
use crate::principal::ResolvedPrincipal;
use crate::resource::Resource;

impl Policy {
    /// Checks a request against the policy's route table: the principal must hold the
    /// route's permission in its own tenant. Framework-neutral: pass the method and the
    /// route key your router matched (the template, such as `/leads/{id}`, not the raw
    /// path).
    ///
    /// This is a coarse gate. Object-level rules (another tenant's resource, separation
    /// of duties, per-field grants of custom roles) need the resource: call
    /// [`authorize`](Self::authorize) once it is loaded. At the route level a custom role
    /// passes if its base role holds the permission and it has at least one field grant
    /// with the access the action needs.
    ///
    /// An unknown method or route denies with [`Reason::UnknownRoute`].
    ///
    /// # Wiring it into a tower layer
    ///
    /// The guard is a plain function, so a middleware only has to find the three inputs.
    /// With `tower` and `http` (not dependencies of this crate) and an `Arc<PolicyHandle>`:
    ///
    /// ```ignore
    /// use std::task::{Context, Poll};
    /// use http::{Request, Response, StatusCode};
    /// use portcullis_rbac::{PolicyHandle, ResolvedPrincipal};
    ///
    /// #[derive(Clone)]
    /// struct RbacLayer(std::sync::Arc<PolicyHandle>);
    ///
    /// impl<S> tower::Layer<S> for RbacLayer {
    ///     type Service = Rbac<S>;
    ///     fn layer(&self, inner: S) -> Rbac<S> { Rbac { policy: self.0.clone(), inner } }
    /// }
    ///
    /// #[derive(Clone)]
    /// struct Rbac<S> { policy: std::sync::Arc<PolicyHandle>, inner: S }
    ///
    /// impl<S, B> tower::Service<Request<B>> for Rbac<S>
    /// where S: tower::Service<Request<B>, Response = Response<B>>, B: Default {
    ///     type Response = S::Response;
    ///     type Error = S::Error;
    ///     type Future = futures::future::Either<
    ///         std::future::Ready<Result<Response<B>, S::Error>>, S::Future>;
    ///
    ///     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
    ///         self.inner.poll_ready(cx)
    ///     }
    ///
    ///     fn call(&mut self, req: Request<B>) -> Self::Future {
    ///         // An earlier layer authenticated the caller and resolved it once.
    ///         let principal = req.extensions().get::<ResolvedPrincipal>();
    ///         // Your router's matched template, e.g. axum's `MatchedPath`.
    ///         let route = req.extensions().get::<MatchedRoute>().map(|r| r.0.as_str());
    ///         let policy = self.policy.load();
    ///         let allowed = match (principal, route) {
    ///             (Some(p), Some(route)) => {
    ///                 let d = policy.guard_route(req.method().as_str(), route, p);
    ///                 tracing::debug!(reason = %d.reason(), version = d.policy_version());
    ///                 d.is_allowed()
    ///             }
    ///             _ => false, // no principal or no route: deny
    ///         };
    ///         if allowed {
    ///             futures::future::Either::Right(self.inner.call(req))
    ///         } else {
    ///             let mut res = Response::new(B::default());
    ///             *res.status_mut() = StatusCode::FORBIDDEN;
    ///             futures::future::Either::Left(std::future::ready(Ok(res)))
    ///         }
    ///     }
    /// }
    /// ```
    pub fn guard_route<'a>(
        &'a self,
        method: &str,
        route: &str,
        principal: &'a ResolvedPrincipal,
    ) -> Decision<'a> {
        let Some(index) = method_index(method) else {
            return Decision::new(Reason::UnknownRoute, self.version);
        };
        let Some(Some(permission)) = self
            .routes
            .get(route)
            .and_then(|slots| slots.get(index))
            .copied()
        else {
            return Decision::new(Reason::UnknownRoute, self.version);
        };
        let resource = Resource::new(principal.tenant(), "", route);
        self.evaluate(principal, permission, &resource, FieldMode::AnyGrant)
    }
}
