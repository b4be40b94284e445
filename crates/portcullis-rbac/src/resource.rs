//! The resource a request acts on.

use portcullis_core::{ActorId, TenantId};

/// What a request acts on: borrowed, so building one per check allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource<'a> {
    /// The tenant that owns the resource.
    pub tenant: &'a TenantId,
    /// The content type (`lead`, `article`), matched against custom-role field grants.
    pub kind: &'a str,
    /// The resource's id (informational; not used by the rules).
    pub id: &'a str,
    /// The owner/creator, used by separation of duties.
    pub creator: Option<&'a ActorId>,
    /// The field being read or written, if the action concerns one field.
    pub field: Option<&'a str>,
}

impl<'a> Resource<'a> {
    /// A resource with no known creator and no field.
    #[must_use]
    pub fn new(tenant: &'a TenantId, kind: &'a str, id: &'a str) -> Self {
        Self {
            tenant,
            kind,
            id,
            creator: None,
            field: None,
        }
    }

    /// Sets the owner/creator.
    #[must_use]
    pub fn with_creator(mut self, creator: &'a ActorId) -> Self {
        self.creator = Some(creator);
        self
    }

    /// Sets the field the action concerns.
    #[must_use]
    pub fn with_field(mut self, field: &'a str) -> Self {
        self.field = Some(field);
        self
    }
}
