//! Helpers every stage uses to report a problem: the key it concerns and size limits.

use crate::error::RbacError;

/// Names `key` as the place of a name error raised by a name check.
pub(super) fn at(key: &str, e: RbacError) -> RbacError {
    match e {
        RbacError::InvalidName {
            kind,
            value,
            reason,
            ..
        } => RbacError::InvalidName {
            key: key.to_owned(),
            kind,
            value,
            reason,
        },
        other => other,
    }
}

/// Rejects more than `max` items of `kind`.
pub(super) fn too_many(kind: &'static str, count: usize, max: usize) -> Result<(), RbacError> {
    if count > max {
        return Err(RbacError::TooMany { kind, count, max });
    }
    Ok(())
}

/// `name` as one segment of a key: bare when TOML allows it, else quoted.
pub(super) fn quoted(name: &str) -> String {
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        name.to_owned()
    } else {
        format!("\"{name}\"")
    }
}
