//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and strict verifiers.
//!
//! Leaf hash `SHA-256(0x00 || data)`, node hash `SHA-256(0x01 || left || right)`, the
//! empty tree's root `SHA-256("")`, and no duplication of odd nodes: a tree of `n` leaves
//! splits at the largest power of two below `n`.

use sha2::{Digest, Sha256};

use crate::error::AuditError;
use crate::hash::Hash;

/// Leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash::digest(b"")
}

/// Largest power of two strictly below `n` (for `n >= 2`).
fn split(n: u64) -> u64 {
    let p = 1u64 << (63 - (n - 1).leading_zeros());
    if p >= n { p >> 1 } else { p }
}

fn bad(msg: impl Into<String>) -> AuditError {
    AuditError::MalformedProof(msg.into())
}

/// A Merkle tree over leaf hashes that keeps every complete subtree, so the root at any
/// size and every proof cost `O(log² n)` hashes after an `O(n)` build.
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    /// `levels[k][i]` is the hash of the complete subtree of `2^k` leaves starting at
    /// leaf `i * 2^k`.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }

    /// A tree over the given leaf hashes (already `0x00`-prefixed hashes, see [`leaf_hash`]).
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new();
        for l in leaves {
            t.push(l);
        }
        t
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut level = 0usize;
        let mut node = leaf;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(node);
            if row.len() % 2 == 1 {
                return;
            }
            let (Some(r), Some(l)) = (
                row.last(),
                row.len().checked_sub(2).and_then(|i| row.get(i)),
            ) else {
                return;
            };
            node = node_hash(l, r);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.levels.first()?.get(usize::try_from(index).ok()?)
    }

    /// Hash of leaves `[start, start + len)`; `len >= 1`, within the tree.
    fn subtree(&self, start: u64, len: u64) -> Option<Hash> {
        if len.is_power_of_two() && start % len == 0 {
            let level = len.trailing_zeros() as usize;
            let idx = usize::try_from(start >> level).ok()?;
            return self.levels.get(level)?.get(idx).copied();
        }
        if len < 2 {
            return None;
        }
        let k = split(len);
        Some(node_hash(
            &self.subtree(start, k)?,
            &self.subtree(start + k, len - k)?,
        ))
    }

    /// The root of the first `size` leaves.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] if `size` exceeds the tree.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        if size > self.size() {
            return Err(bad(format!(
                "size {size} exceeds the tree of {}",
                self.size()
            )));
        }
        if size == 0 {
            return Ok(empty_root());
        }
        self.subtree(0, size)
            .ok_or_else(|| bad("internal tree inconsistency"))
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or_else(|_| empty_root())
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] if `index >= size` or `size` exceeds the tree.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        if size > self.size() || index >= size {
            return Err(bad(format!(
                "index {index} not below size {size} (tree has {})",
                self.size()
            )));
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof)?;
        Ok(proof)
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) -> Result<(), AuditError> {
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        let missing = || bad("internal tree inconsistency");
        if m < k {
            self.path(m, start, k, out)?;
            out.push(self.subtree(start + k, n - k).ok_or_else(missing)?);
        } else {
            self.path(m - k, start + k, n - k, out)?;
            out.push(self.subtree(start, k).ok_or_else(missing)?);
        }
        Ok(())
    }

    /// The consistency proof from the tree of `old_size` leaves to that of `new_size`.
    ///
    /// # Errors
    ///
    /// [`AuditError::MalformedProof`] unless `0 < old_size <= new_size <= self.size()`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, AuditError> {
        if old_size == 0 || old_size > new_size || new_size > self.size() {
            return Err(bad(format!(
                "need 0 < old size {old_size} <= new size {new_size} <= {}",
                self.size()
            )));
        }
        let mut proof = Vec::new();
        self.subproof(old_size, 0, new_size, true, &mut proof)?;
        Ok(proof)
    }

    fn subproof(
        &self,
        m: u64,
        start: u64,
        n: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), AuditError> {
        let missing = || bad("internal tree inconsistency");
        if m == n {
            if !whole {
                out.push(self.subtree(start, n).ok_or_else(missing)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, whole, out)?;
            out.push(self.subtree(start + k, n - k).ok_or_else(missing)?);
        } else {
            self.subproof(m - k, start + k, n - k, false, out)?;
            out.push(self.subtree(start, k).ok_or_else(missing)?);
        }
        Ok(())
    }
}

/// The root of a tree over `leaves` (leaf hashes).
pub fn root_of(leaves: &[Hash]) -> Hash {
    MerkleTree::from_leaf_hashes(leaves.iter().copied()).root()
}

fn hashes<T: AsRef<[u8]>>(proof: &[T]) -> Result<Vec<Hash>, AuditError> {
    proof.iter().map(|p| Hash::from_slice(p.as_ref())).collect()
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` leaves.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    inner + border
}

/// Verifies that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves with
/// root `root`, strictly (RFC 9162 §2.1.3.2).
///
/// # Errors
///
/// [`AuditError::MalformedProof`] if `size` is 0, `index >= size`, any hash is not 32
/// bytes or the proof has the wrong number of hashes; [`AuditError::ProofMismatch`] if the
/// proof does not lead to `root`.
pub fn verify_inclusion<T: AsRef<[u8]>>(
    leaf: &[u8],
    index: u64,
    size: u64,
    proof: &[T],
    root: &[u8],
) -> Result<(), AuditError> {
    if size == 0 {
        return Err(bad("tree size 0"));
    }
    if index >= size {
        return Err(bad(format!("index {index} not below size {size}")));
    }
    let leaf = Hash::from_slice(leaf)?;
    let root = Hash::from_slice(root)?;
    let proof = hashes(proof)?;
    let want = inclusion_len(index, size);
    if proof.len() != want {
        return Err(bad(format!(
            "proof has {} hashes, expected {want}",
            proof.len()
        )));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in &proof {
        if snode == 0 {
            return Err(bad("proof too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad("proof too short"));
    }
    if bool::from(subtle::ConstantTimeEq::ct_eq(&r.0[..], &root.0[..])) {
        Ok(())
    } else {
        Err(AuditError::ProofMismatch)
    }
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
/// leaves with root `root1`, strictly (RFC 9162 §2.1.4.2).
///
/// `size1 == size2` requires an empty proof and equal roots.
///
/// # Errors
///
/// [`AuditError::MalformedProof`] if `size1` is 0, `size1 > size2`, any hash is not 32
/// bytes, or the proof has the wrong length; [`AuditError::ProofMismatch`] if the proof
/// does not connect the roots.
pub fn verify_consistency<T: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[T],
) -> Result<(), AuditError> {
    if size1 == 0 {
        return Err(bad("old tree size 0"));
    }
    if size1 > size2 {
        return Err(bad(format!("old size {size1} above new size {size2}")));
    }
    let root1 = Hash::from_slice(root1)?;
    let root2 = Hash::from_slice(root2)?;
    let proof = hashes(proof)?;
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(bad("proof between equal sizes must be empty"));
        }
        return if bool::from(subtle::ConstantTimeEq::ct_eq(&root1, &root2)) {
            Ok(())
        } else {
            Err(AuditError::ProofMismatch)
        };
    }
    // Expected length: the inclusion-style path of leaf size1-1 in size2, minus the levels
    // shared with a complete left subtree.
    let shift = size1.trailing_zeros();
    let (f, s) = ((size1 - 1) >> shift, (size2 - 1) >> shift);
    let inner = (64 - (f ^ s).leading_zeros()) as usize;
    let border = f.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    let start = usize::from(f != 0);
    let want = start + inner + border;
    if proof.len() != want {
        return Err(bad(format!(
            "proof has {} hashes, expected {want}",
            proof.len()
        )));
    }
    let mut iter = proof.iter();
    let seed = if size1.is_power_of_two() {
        root1
    } else {
        *iter.next().ok_or_else(|| bad("empty proof"))?
    };
    let (mut fnode, mut snode) = (f, s);
    let (mut fr, mut sr) = (seed, seed);
    for c in iter {
        if snode == 0 {
            return Err(bad("proof too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    let ok1 = bool::from(subtle::ConstantTimeEq::ct_eq(&fr.0[..], &root1.0[..]));
    let ok2 = bool::from(subtle::ConstantTimeEq::ct_eq(&sr.0[..], &root2.0[..]));
    if snode == 0 && ok1 && ok2 {
        Ok(())
    } else {
        Err(AuditError::ProofMismatch)
    }
}
