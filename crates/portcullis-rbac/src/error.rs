//! The crate's error type.

/// Why a policy (or one of its names) was rejected.
///
/// Every variant that concerns a policy names the key where the problem is (for example
/// `roles.member.inherits`); syntax errors name the line and column of the file, and
/// validation errors of a file ([`Policy::from_toml`](crate::Policy::from_toml)) come
/// wrapped in [`RbacError::AtLine`] with the line of the offending key or value.
/// Errors only arise while building or parsing a policy; authorization never returns an
/// error, only a [`Decision`](crate::Decision).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RbacError {
    /// A name (role, permission, feature, plan) breaks its syntax rules.
    #[error("`{key}`: invalid {kind} `{value}`: {reason}")]
    InvalidName {
        /// Where the name appears (`permissions`, `roles.admin.grants`, ...).
        key: String,
        /// Which kind of name it is.
        kind: &'static str,
        /// The rejected value.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The policy file is not valid TOML or does not have the policy's shape.
    #[error("policy file line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the problem (0 when the parser gave no position).
        line: usize,
        /// 1-based column of the problem (0 when the parser gave no position).
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// A key refers to a role that is not declared.
    #[error("`{key}` names unknown role `{role}`")]
    UnknownRole {
        /// Where the reference appears.
        key: String,
        /// The undeclared role.
        role: String,
    },
    /// A key refers to a permission that is not declared.
    #[error("`{key}` names unknown permission `{permission}`")]
    UnknownPermission {
        /// Where the reference appears.
        key: String,
        /// The undeclared permission.
        permission: String,
    },
    /// A key refers to a feature that is not declared.
    #[error("`{key}` names unknown feature `{feature}`")]
    UnknownFeature {
        /// Where the reference appears.
        key: String,
        /// The undeclared feature.
        feature: String,
    },
    /// Role inheritance loops back on itself.
    #[error("role inheritance cycle at `roles.{}.inherits`: {}", .path.first().map_or("", String::as_str), .path.join(" -> "))]
    Cycle {
        /// The roles on the cycle, the first repeated at the end.
        path: Vec<String>,
    },
    /// The same entry is declared twice.
    #[error("`{key}` declares `{value}` twice")]
    Duplicate {
        /// Where the duplicate appears.
        key: String,
        /// The repeated value.
        value: String,
    },
    /// A route names an HTTP method this crate does not know.
    #[error("`{key}`: unknown http method `{method}`")]
    UnknownMethod {
        /// Where the method appears.
        key: String,
        /// The rejected method.
        method: String,
    },
    /// A route key is empty, too long or contains whitespace or control characters.
    #[error("`{key}`: invalid route `{route}`")]
    InvalidRoute {
        /// Where the route appears.
        key: String,
        /// The rejected route (truncated to 64 characters).
        route: String,
    },
    /// The policy declares more items of a kind than the compiled form can hold.
    #[error("too many {kind}: {count}, the maximum is {max}")]
    TooMany {
        /// Which kind of item.
        kind: &'static str,
        /// How many were declared.
        count: usize,
        /// The largest number allowed.
        max: usize,
    },
    /// The version does not fit a TOML integer (at most `i64::MAX`).
    #[error("`version`: {version} is larger than {max}")]
    InvalidVersion {
        /// The declared version.
        version: u64,
        /// The largest version allowed.
        max: u64,
    },
    /// A validation error in a policy file, with the line it concerns.
    #[error("policy file line {line}: {error}")]
    AtLine {
        /// 1-based line of the offending key or value.
        line: usize,
        /// The validation error.
        error: Box<RbacError>,
    },
    /// The policy could not be written as TOML.
    #[error("policy could not be encoded as toml: {message}")]
    Encode {
        /// The encoder's description.
        message: String,
    },
}
