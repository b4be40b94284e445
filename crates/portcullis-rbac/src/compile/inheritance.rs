//! Stage: role inheritance. Cycles are rejected, each role's rights are closed over the
//! roles it inherits, and each permission's lowest role (named in "needs role" denials)
//! is found.

use super::roles::Declared;
use crate::bits::PermSet;
use crate::error::RbacError;
use crate::policy::PermInfo;
use crate::spec::PolicySpec;

/// Rights and ancestry after inheritance, by role number.
#[derive(Debug)]
pub(super) struct Closure {
    /// Each role's rights: its direct grants and those of every role it inherits.
    pub(super) effective: Vec<PermSet>,
    /// `ancestors[r][o]`: role `r` inherits role `o`, directly or not (`ancestors[r][r]`
    /// is set).
    ancestors: Vec<Vec<bool>>,
}

/// Rejects inheritance cycles (naming the cycle's path), then closes every role's rights
/// and ancestors over the roles it inherits.
pub(super) fn close(spec: &PolicySpec, declared: &Declared) -> Result<Closure, RbacError> {
    let Declared { direct, parents } = declared;
    let role_count = spec.roles.len();
    let order = topological(parents, spec)?;
    let mut effective = direct.clone();
    let mut ancestors: Vec<Vec<bool>> = vec![vec![false; role_count]; role_count];
    for &r in &order {
        let ri = usize::from(r);
        let mut set = direct.get(ri).copied().unwrap_or_default();
        let mut anc = vec![false; role_count];
        if let Some(a) = anc.get_mut(ri) {
            *a = true;
        }
        for &p in parents.get(ri).map_or(&[][..], Vec::as_slice) {
            let pi = usize::from(p);
            if let Some(ps) = effective.get(pi) {
                set = set.union(ps);
            }
            if let Some(pa) = ancestors.get(pi) {
                for (a, b) in anc.iter_mut().zip(pa) {
                    *a |= *b;
                }
            }
        }
        if let Some(e) = effective.get_mut(ri) {
            *e = set;
        }
        if let Some(a) = ancestors.get_mut(ri) {
            *a = anc;
        }
    }
    Ok(Closure {
        effective,
        ancestors,
    })
}

/// Sets each permission's lowest role: a holder that inherits no other holder.
pub(super) fn lowest_roles(permissions: &mut [PermInfo], closure: &Closure) {
    let Closure {
        effective,
        ancestors,
    } = closure;
    let role_count = effective.len();
    for (pi, info) in permissions.iter_mut().enumerate() {
        let Ok(p) = u16::try_from(pi) else { continue };
        let holders: Vec<usize> = (0..role_count)
            .filter(|&r| effective.get(r).is_some_and(|s| s.contains(p)))
            .collect();
        info.lowest_role = holders
            .iter()
            .copied()
            .find(|&r| {
                !holders.iter().any(|&o| {
                    o != r
                        && ancestors
                            .get(r)
                            .and_then(|a| a.get(o))
                            .copied()
                            .unwrap_or(false)
                })
            })
            .and_then(|r| u16::try_from(r).ok());
    }
}

/// Orders roles so every role comes after the roles it inherits; rejects cycles.
fn topological(parents: &[Vec<u16>], spec: &PolicySpec) -> Result<Vec<u16>, RbacError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let names: Vec<&String> = spec.roles.keys().collect();
    let name = |i: u16| {
        names
            .get(usize::from(i))
            .map_or(String::new(), |s| (*s).clone())
    };
    let mut marks = vec![Mark::New; parents.len()];
    let mut order = Vec::with_capacity(parents.len());
    for start in 0..parents.len() {
        let Ok(start) = u16::try_from(start) else {
            continue;
        };
        if marks.get(usize::from(start)) != Some(&Mark::New) {
            continue;
        }
        // Iterative DFS: (role, next parent position).
        let mut stack: Vec<(u16, usize)> = vec![(start, 0)];
        if let Some(m) = marks.get_mut(usize::from(start)) {
            *m = Mark::Open;
        }
        while let Some(&mut (r, ref mut pos)) = stack.last_mut() {
            let next = parents
                .get(usize::from(r))
                .and_then(|ps| ps.get(*pos))
                .copied();
            *pos += 1;
            match next {
                Some(p) => match marks.get(usize::from(p)).copied() {
                    Some(Mark::New) => {
                        if let Some(m) = marks.get_mut(usize::from(p)) {
                            *m = Mark::Open;
                        }
                        stack.push((p, 0));
                    }
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|&(s, _)| s == p).unwrap_or(0);
                        let mut path: Vec<String> =
                            stack.iter().skip(from).map(|&(s, _)| name(s)).collect();
                        path.push(name(p));
                        return Err(RbacError::Cycle { path });
                    }
                    _ => {}
                },
                None => {
                    if let Some(m) = marks.get_mut(usize::from(r)) {
                        *m = Mark::Done;
                    }
                    order.push(r);
                    stack.pop();
                }
            }
        }
    }
    Ok(order)
}
