//! The shape of an RFC 9162 Merkle tree: subtrees, and the tree head (MTH).
//!
//! RFC 9162 §2.1.1 splits a list of `n > 1` leaves at `k`, the largest power of
//! two smaller than `n`: the left subtree is complete (`k` leaves), the right
//! one holds the rest. Every node of the tree is therefore a range of leaves
//! `[start, end)` whose `start` is a multiple of a power of two at least as
//! large as the range; only the nodes on the right edge are incomplete.

use crate::frontier::Frontier;
use crate::hash::Hash;

/// A node of a Merkle tree, named by the range of leaves `[start, end)` it covers.
///
/// Proof generation is expressed in subtrees so that a caller can compute or
/// look up each one however its storage allows ([`crate::inclusion_subtrees`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subtree {
    /// Index of the first leaf in the subtree.
    pub start: u64,
    /// One past the index of the last leaf.
    pub end: u64,
}

impl Subtree {
    /// Number of leaves in the subtree.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the subtree holds no leaf (never true for a node of a proof).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Whether the subtree is a perfect binary tree (a power-of-two number of
    /// leaves, aligned): its hash never changes as the log grows, so a server
    /// may cache it for ever.
    pub fn is_complete(&self) -> bool {
        let len = self.len();
        len.is_power_of_two() && self.start.is_multiple_of(len)
    }
}

/// The largest power of two strictly smaller than `n`, for `n >= 2`: where
/// RFC 9162 splits a tree of `n` leaves.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The Merkle tree hash (MTH, the tree head) of a list of leaf hashes.
///
/// The empty list gives [`Hash::EMPTY_ROOT`]. Costs `n - 1` node hashes and
/// O(log n) memory: the leaves stream through a [`Frontier`].
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    Frontier::from_leaves(leaf_hashes).root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, node_hash};

    /// The RFC 9162 §2.1.1 definition, recursively, as the reference.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash::EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn split_point_is_largest_smaller_power_of_two() {
        let expected = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ];
        for (n, k) in expected {
            assert_eq!(split_point(n), k, "n = {n}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn root_matches_the_recursive_definition() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 0..=leaves.len() {
            assert_eq!(root(&leaves[..n]), reference_root(&leaves[..n]), "n = {n}");
        }
    }

    #[test]
    fn completeness() {
        assert!(Subtree { start: 4, end: 8 }.is_complete());
        assert!(Subtree { start: 5, end: 6 }.is_complete());
        assert!(!Subtree { start: 4, end: 7 }.is_complete());
        assert!(!Subtree { start: 2, end: 6 }.is_complete());
    }
}
