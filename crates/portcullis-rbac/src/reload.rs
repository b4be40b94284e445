//! Hot reload: swap a new compiled policy in without blocking readers.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::policy::Policy;

/// The current policy, replaceable at any time. Readers never block and never see a
/// half-installed policy: [`load`](Self::load) is a lock-free pointer read, and
/// [`replace`](Self::replace) installs a fully compiled policy atomically.
pub struct PolicyHandle {
    current: ArcSwap<Policy>,
}

impl PolicyHandle {
    /// A handle holding `policy`.
    #[must_use]
    pub fn new(policy: Policy) -> Self {
        Self {
            current: ArcSwap::from_pointee(policy),
        }
    }

    /// The current policy, for the duration of one request.
    #[must_use]
    pub fn load(&self) -> PolicyGuard {
        PolicyGuard(self.current.load())
    }

    /// The current policy as an owned `Arc`, to keep across awaits.
    #[must_use]
    pub fn load_full(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// Installs `policy`, returning the one it replaced. Principals resolved against the
    /// old policy deny with `StalePolicy` until resolved again.
    pub fn replace(&self, policy: Policy) -> Arc<Policy> {
        self.current.swap(Arc::new(policy))
    }
}

impl fmt::Debug for PolicyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyHandle")
            .field("version", &self.current.load().version())
            .finish()
    }
}

/// A borrowed view of the current policy (derefs to [`Policy`]).
pub struct PolicyGuard(arc_swap::Guard<Arc<Policy>>);

impl Deref for PolicyGuard {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        &self.0
    }
}

impl fmt::Debug for PolicyGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PolicyGuard")
            .field(&self.0.version())
            .finish()
    }
}
