//! The compact range ("frontier") of a log: what a server must keep to append
//! a leaf and compute the new tree head without reading the older leaves.
//!
//! A tree of `n` leaves is, from left to right, a sequence of complete
//! subtrees whose sizes are the powers of two set in `n` (for 13 = 8 + 4 + 1:
//! leaves 0..8, 8..12, 12..13). Their roots are the frontier: at most 64
//! hashes, `n.count_ones()` in fact.
//!
//! Complexity: [`Frontier::append`] does one node hash per trailing one bit of
//! `n` (amortised O(1), worst O(log n)); [`Frontier::root`] does
//! `count_ones(n) - 1` node hashes. A server can store the frontier next to
//! the log size (see [`Frontier::hashes`] and [`Frontier::from_parts`]).

use crate::hash::{Hash, node_hash};
use crate::tree::Subtree;

/// The roots of the complete subtrees that make up a tree, largest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

/// A frontier could not be built or grown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrontierError {
    /// A stored frontier has the wrong number of hashes for its size.
    #[error("a frontier of {size} leaves has {expected} hashes, not {found}")]
    WrongHashCount {
        /// The tree size given.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// The number of hashes given.
        found: usize,
    },
    /// The tree already holds `u64::MAX` leaves.
    #[error("the log is full: it cannot hold more than {} leaves", u64::MAX)]
    Full,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds a stored frontier, checking that it has one hash per power of
    /// two in `size`. (The hashes themselves can only be checked against the
    /// leaves or a signed tree head.)
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Frontier, FrontierError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(FrontierError::WrongHashCount {
                size,
                expected,
                found: hashes.len(),
            });
        }
        Ok(Frontier { size, hashes })
    }

    /// The frontier of a tree with these leaf hashes. O(n) node hashes.
    pub fn from_leaves(leaf_hashes: &[Hash]) -> Frontier {
        let mut frontier = Frontier::new();
        for leaf in leaf_hashes {
            // A slice cannot hold u64::MAX hashes, so `Full` cannot happen here.
            frontier.push(*leaf);
        }
        frontier
    }

    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete-subtree roots, largest (leftmost) first: what to store.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The complete subtrees with their roots, left to right.
    pub fn subtrees(&self) -> impl Iterator<Item = (Subtree, Hash)> + '_ {
        let mut start = 0u64;
        let mut bits = (0..64)
            .rev()
            .filter(move |bit| self.size & (1u64 << bit) != 0);
        self.hashes.iter().map(move |hash| {
            let len = bits.next().map_or(0, |bit| 1u64 << bit);
            let subtree = Subtree {
                start,
                end: start + len,
            };
            start += len;
            (subtree, *hash)
        })
    }

    /// Appends a leaf hash: the new tree has one more leaf.
    pub fn append(&mut self, leaf: Hash) -> Result<(), FrontierError> {
        if self.size == u64::MAX {
            return Err(FrontierError::Full);
        }
        self.push(leaf);
        Ok(())
    }

    /// Appends without the size check (callers make sure it cannot overflow).
    fn push(&mut self, leaf: Hash) {
        // Each trailing one bit of the old size is a complete subtree of the
        // same size as the one being carried: merge them, like binary addition.
        let mut carried = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            if let Some(left) = self.hashes.pop() {
                carried = node_hash(&left, &carried);
            }
            size >>= 1;
        }
        self.hashes.push(carried);
        self.size += 1;
    }

    /// The tree head (MTH) of the tree: [`Hash::EMPTY_ROOT`] when empty.
    pub fn root(&self) -> Hash {
        let mut hashes = self.hashes.iter().rev();
        let Some(smallest) = hashes.next() else {
            return Hash::EMPTY_ROOT;
        };
        // RFC 9162 puts the larger subtree on the left at every level, so the
        // head folds the frontier from the right.
        hashes.fold(*smallest, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn stored_frontier_round_trips_and_bad_counts_are_refused() {
        let leaves: Vec<Hash> = (0..13u8).map(|i| leaf_hash(&[i])).collect();
        let frontier = Frontier::from_leaves(&leaves);
        assert_eq!(frontier.hashes().len(), 3);
        let again = Frontier::from_parts(13, frontier.hashes().to_vec()).unwrap();
        assert_eq!(again, frontier);
        let sizes: Vec<_> = frontier.subtrees().map(|(s, _)| (s.start, s.end)).collect();
        assert_eq!(sizes, vec![(0, 8), (8, 12), (12, 13)]);
        assert_eq!(
            Frontier::from_parts(12, frontier.hashes().to_vec()),
            Err(FrontierError::WrongHashCount {
                size: 12,
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn appending_one_by_one_equals_building_from_leaves() {
        let leaves: Vec<Hash> = (0..100u8).map(|i| leaf_hash(&[i])).collect();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), Hash::EMPTY_ROOT);
        for (i, leaf) in leaves.iter().enumerate() {
            frontier.append(*leaf).unwrap();
            assert_eq!(frontier, Frontier::from_leaves(&leaves[..=i]));
        }
    }

    #[test]
    fn a_full_log_refuses_to_grow() {
        let mut frontier = Frontier::from_parts(u64::MAX, vec![Hash([0; 32]); 64]).unwrap();
        assert_eq!(frontier.append(Hash([1; 32])), Err(FrontierError::Full));
    }
}
