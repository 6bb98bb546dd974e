//! An in-memory tree that keeps every complete subtree: O(log n) proofs.
//!
//! Memory is about two hashes per leaf (64 bytes: 64 MiB for a million
//! leaves). [`MemoryTree::append`] is amortised O(1) (worst O(log n));
//! proofs for any older size cost O(log n) lookups plus, for the nodes on the
//! right edge of the tree, O(log n) node hashes each (O(log² n) worst case).
//! For a log whose leaf hashes live in a database, the slice functions in
//! [`crate::prove`] avoid keeping all this in memory.

use crate::frontier::FrontierError;
use crate::hash::{Hash, node_hash};
use crate::prove::{ProveError, consistency_subtrees, inclusion_subtrees};
use crate::tree::Subtree;

/// A Merkle tree held in memory with all its complete subtrees.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[k][i]` is the root of the complete subtree of `2^k` leaves
    /// starting at leaf `i * 2^k`; `levels[0]` are the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The leaf hashes, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// Appends a leaf hash.
    pub fn append(&mut self, leaf: Hash) -> Result<(), FrontierError> {
        if self.size() == u64::MAX {
            return Err(FrontierError::Full);
        }
        let mut carried = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(carried);
            // A new complete pair at this level makes a node one level up.
            if nodes.len() % 2 == 1 {
                return Ok(());
            }
            carried = node_hash(&nodes[nodes.len() - 2], &nodes[nodes.len() - 1]);
            level += 1;
        }
    }

    /// The tree head of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, ProveError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(Hash::EMPTY_ROOT);
        }
        Ok(self.subtree_root(Subtree {
            start: 0,
            end: size,
        }))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProveError> {
        self.check_size(size)?;
        let nodes = inclusion_subtrees(index, size)?;
        Ok(nodes
            .into_iter()
            .map(|node| self.subtree_root(node))
            .collect())
    }

    /// The consistency proof from the first `old_size` leaves to the first `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProveError> {
        self.check_size(new_size)?;
        let nodes = consistency_subtrees(old_size, new_size)?;
        Ok(nodes
            .into_iter()
            .map(|node| self.subtree_root(node))
            .collect())
    }

    fn check_size(&self, size: u64) -> Result<(), ProveError> {
        if size > self.size() {
            return Err(ProveError::NotEnoughLeaves {
                size,
                available: self.size(),
            });
        }
        Ok(())
    }

    /// The root of a non-empty node of the tree (a complete subtree, or one
    /// on the right edge of a smaller tree). The node must lie within the leaves held.
    fn subtree_root(&self, node: Subtree) -> Hash {
        // An incomplete node splits into complete subtrees, one per bit of
        // its length, largest first; its root folds them from the right.
        let mut pieces = Vec::with_capacity(64);
        let mut start = node.start;
        for bit in (0..64).rev() {
            let len = 1u64 << bit;
            if node.len() & len != 0 {
                pieces.push(self.complete_root(bit, start / len));
                start += len;
            }
        }
        let mut pieces = pieces.into_iter().rev();
        let smallest = pieces.next().unwrap_or(Hash::EMPTY_ROOT);
        pieces.fold(smallest, |right, left| node_hash(&left, &right))
    }

    fn complete_root(&self, level: usize, index: u64) -> Hash {
        // Callers only name complete subtrees within the tree, which exist.
        self.levels
            .get(level)
            .and_then(|nodes| nodes.get(index as usize))
            .copied()
            .unwrap_or(Hash::EMPTY_ROOT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::prove::{consistency_proof, inclusion_proof};
    use crate::tree::root;

    #[test]
    fn agrees_with_the_slice_functions_for_every_older_size() {
        let leaves: Vec<Hash> = (0..40u8).map(|i| leaf_hash(&[i])).collect();
        let mut tree = MemoryTree::new();
        for leaf in &leaves {
            tree.append(*leaf).unwrap();
        }
        assert_eq!(tree.leaf_hashes(), leaves.as_slice());
        for size in 0..=40u64 {
            assert_eq!(tree.root(size).unwrap(), root(&leaves[..size as usize]));
            for index in 0..size {
                assert_eq!(
                    tree.inclusion_proof(index, size).unwrap(),
                    inclusion_proof(&leaves, index, size).unwrap()
                );
            }
            for old in 0..=size {
                assert_eq!(
                    tree.consistency_proof(old, size).unwrap(),
                    consistency_proof(&leaves, old, size).unwrap()
                );
            }
        }
        assert_eq!(
            tree.root(41),
            Err(ProveError::NotEnoughLeaves {
                size: 41,
                available: 40
            })
        );
    }
}
