//! Positions in a policy file: the line and column of a byte offset, and the line that
//! a validation error names.
//!
//! Validation works on the parsed [`PolicySpec`](crate::PolicySpec) and names keys
//! (`roles.member.inherits`); when the policy came from a file, the key and the offending
//! value are looked up again in the file's spanned syntax tree to add the line number.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::error::RbacError;

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Wraps `error` with the line it concerns in `text`, when it can be found.
pub(crate) fn at_line(text: &str, error: RbacError) -> RbacError {
    match span_of(text, &error) {
        Some(span) => RbacError::AtLine {
            line: line_column(text, span.start).0,
            error: Box::new(error),
        },
        None => error,
    }
}

fn key_and_value(error: &RbacError) -> Option<(String, &str)> {
    Some(match error {
        RbacError::InvalidName { key, value, .. }
        | RbacError::Duplicate { key, value }
        | RbacError::UnknownRole { key, role: value }
        | RbacError::UnknownPermission {
            key,
            permission: value,
        }
        | RbacError::UnknownFeature {
            key,
            feature: value,
        }
        | RbacError::UnknownMethod { key, method: value }
        | RbacError::InvalidRoute { key, route: value } => (key.clone(), value.as_str()),
        RbacError::Cycle { path } => {
            let from = path.first()?;
            let to = path.get(1)?;
            (format!("roles.\"{from}\".inherits"), to.as_str())
        }
        RbacError::InvalidVersion { .. } => ("version".to_owned(), ""),
        _ => return None,
    })
}

/// Splits `roles."a b".inherits` or `routes[2].method` into (name, index) segments.
fn segments(key: &str) -> Vec<(String, Option<usize>)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let push = |current: &mut String, out: &mut Vec<(String, Option<usize>)>| {
        let seg = std::mem::take(current);
        let (name, index) = match seg.strip_suffix(']').and_then(|s| s.split_once('[')) {
            Some((name, i)) => (name.to_owned(), i.parse().ok()),
            None => (seg, None),
        };
        out.push((name, index));
    };
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => push(&mut current, &mut out),
            _ => current.push(c),
        }
    }
    push(&mut current, &mut out);
    out
}

fn find_key<'a, 'i>(
    table: &'a DeTable<'i>,
    name: &str,
) -> Option<(Range<usize>, &'a toml::Spanned<DeValue<'i>>)> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == name)
        .map(|(k, v)| (k.span(), v))
}

fn span_of(text: &str, error: &RbacError) -> Option<Range<usize>> {
    let (key, value) = key_and_value(error)?;
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut best: Option<Range<usize>> = None;
    let mut node: Option<&toml::Spanned<DeValue<'_>>> = None;
    for (name, index) in segments(&key) {
        let (key_span, v) = find_key(table, &name)?;
        best = Some(key_span);
        let mut v = v;
        if let Some(i) = index {
            if let DeValue::Array(items) = v.get_ref() {
                v = items.get(i)?;
            }
        }
        node = Some(v);
        if let DeValue::Table(t) = v.get_ref() {
            table = t;
        }
    }
    let node = node?;
    let found = match node.get_ref() {
        DeValue::Array(items) => items
            .iter()
            .rev()
            .find(|item| matches!(item.get_ref(), DeValue::String(s) if s.as_ref() == value))
            .map(toml::Spanned::span),
        DeValue::String(s) if s.as_ref() == value => Some(node.span()),
        DeValue::Table(t) => find_key(t, value).map(|(span, _)| span),
        _ => None,
    };
    found.or(best)
}
