//! Fixed-size bitsets: the compiled form of permission sets.

/// Words in a [`PermSet`].
const WORDS: usize = 8;

/// The most permissions one policy can declare.
pub const MAX_PERMISSIONS: usize = WORDS * 64;

/// The most plan features one policy can declare.
pub const MAX_FEATURES: usize = 64;

/// A set of permission indices of one compiled policy (512 bits, one cache line).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct PermSet([u64; WORDS]);

impl std::fmt::Debug for PermSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl PermSet {
    pub(crate) const EMPTY: Self = Self([0; WORDS]);

    #[inline]
    pub(crate) fn contains(&self, index: u16) -> bool {
        let i = usize::from(index);
        self.0.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    pub(crate) fn insert(&mut self, index: u16) {
        let i = usize::from(index);
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    #[must_use]
    pub(crate) fn union(mut self, other: &Self) -> Self {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= *b;
        }
        self
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..MAX_PERMISSIONS).filter_map(|i| {
            let i = u16::try_from(i).ok()?;
            self.contains(i).then_some(i)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ops() {
        let mut a = PermSet::EMPTY;
        a.insert(0);
        a.insert(511);
        a.insert(512); // out of range: ignored
        assert!(a.contains(0) && a.contains(511) && !a.contains(1) && !a.contains(512));
        let mut b = PermSet::EMPTY;
        b.insert(511);
        assert_eq!(b.union(&a), a);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![0, 511]);
    }
}
