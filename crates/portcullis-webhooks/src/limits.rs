//! The caps on untrusted input that every scheme and the verification engine apply.

/// Caps on untrusted input, checked before any cryptography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body (default 1 MiB; GitHub allows up to 25 MB, raise it there).
    pub max_body_bytes: usize,
    /// Largest accepted value of any header this crate reads (default 8 KiB).
    pub max_header_bytes: usize,
    /// Most candidate signatures read from one header (default 16).
    pub max_signatures: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_header_bytes: 8 << 10,
            max_signatures: 16,
        }
    }
}
