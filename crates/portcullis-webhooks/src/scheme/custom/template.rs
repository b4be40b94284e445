//! The signed-content template of a [`Custom`](super::Custom) scheme: literal text and
//! the placeholders `{id}`, `{timestamp}` and `{body}` (`{{` and `}}` stand for literal
//! braces), parsed into pieces, and the characters an id may not contain so that its
//! boundaries in the signed content stay unambiguous.

use crate::error::WebhookError;

/// One piece of a parsed template, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// Literal text (braces already unescaped).
    Literal(String),
    /// `{id}`: the message id header's value.
    Id,
    /// `{timestamp}`: the timestamp header's value.
    Timestamp,
    /// `{body}`: the raw body.
    Body,
}

/// The characters an id may not contain: for each `{id}`, the first character of the
/// literal after it and the last character of the literal before it.
///
/// # Errors
///
/// [`WebhookError::InvalidConfig`] if `{id}` is directly next to another placeholder.
pub(super) fn id_delimiters(template: &[Piece]) -> Result<Vec<char>, WebhookError> {
    let mut out = Vec::new();
    for (i, piece) in template.iter().enumerate() {
        if *piece != Piece::Id {
            continue;
        }
        let before = i.checked_sub(1).and_then(|j| template.get(j));
        let after = template.get(i + 1);
        for (neighbour, edge) in [(before, Edge::Last), (after, Edge::First)] {
            match neighbour {
                None => {}
                Some(Piece::Literal(l)) => {
                    let c = match edge {
                        Edge::First => l.chars().next(),
                        Edge::Last => l.chars().next_back(),
                    };
                    if let Some(c) = c {
                        if !out.contains(&c) {
                            out.push(c);
                        }
                    }
                }
                Some(_) => {
                    return Err(WebhookError::InvalidConfig(
                        "`{id}` must be separated from other placeholders by literal text",
                    ));
                }
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum Edge {
    First,
    Last,
}

/// Parses a template into pieces (adjacent literal text merged into one piece).
///
/// # Errors
///
/// [`WebhookError::InvalidConfig`] for an unbalanced brace or an unknown placeholder.
pub(super) fn parse(t: &str) -> Result<Vec<Piece>, WebhookError> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("{{") {
            literal.push('{');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            literal.push('}');
            rest = r;
        } else if c == '{' {
            let end = rest
                .find('}')
                .ok_or(WebhookError::InvalidConfig("unbalanced `{` in template"))?;
            let piece = match rest.get(1..end) {
                Some("body") => Piece::Body,
                Some("timestamp") => Piece::Timestamp,
                Some("id") => Piece::Id,
                _ => {
                    return Err(WebhookError::InvalidConfig(
                        "unknown placeholder in template",
                    ));
                }
            };
            if !literal.is_empty() {
                out.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            out.push(piece);
            rest = rest.get(end + 1..).unwrap_or("");
        } else if c == '}' {
            return Err(WebhookError::InvalidConfig("unbalanced `}` in template"));
        } else {
            literal.push(c);
            rest = rest.get(c.len_utf8()..).unwrap_or("");
        }
    }
    if !literal.is_empty() {
        out.push(Piece::Literal(literal));
    }
    Ok(out)
}
