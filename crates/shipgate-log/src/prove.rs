//! Proof generation: inclusion proofs (RFC 9162 §2.1.3.1) and consistency
//! proofs (§2.1.4.1).
//!
//! Every hash in either proof is the root of one node of the tree of the
//! larger size. So generation is split in two steps:
//!
//! 1. [`inclusion_subtrees`] / [`consistency_subtrees`] say *which* nodes, in
//!    proof order. O(log n), no hashing, no storage access.
//! 2. The caller hashes each node. [`inclusion_proof`] and
//!    [`consistency_proof`] do it from a slice of leaf hashes the caller
//!    loaded (for example `SELECT hash FROM log ORDER BY idx LIMIT n`), which
//!    costs at most `n - 1` node hashes in total (the nodes are disjoint) and
//!    no memory beyond the slice and the proof. A server that wants O(log n)
//!    proofs can cache the roots of complete subtrees ([`Subtree::is_complete`]:
//!    they never change) or keep a [`crate::MemoryTree`].

use crate::hash::Hash;
use crate::tree::{Subtree, root, split_point};

/// A proof cannot be generated for the sizes or index asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("cannot prove consistency from size {old_size} to the smaller size {new_size}")]
    OldSizeLarger {
        /// The older (first) tree size.
        old_size: u64,
        /// The newer (second) tree size.
        new_size: u64,
    },
    /// The caller supplied fewer leaf hashes than the tree size needs.
    #[error("a tree of {size} leaves was asked for but only {available} leaf hashes were given")]
    NotEnoughLeaves {
        /// The tree size asked for.
        size: u64,
        /// The number of leaf hashes supplied.
        available: u64,
    },
}

/// The nodes whose roots form the inclusion proof of leaf `index` in the
/// tree of `size` leaves, in proof order (from the leaf's sibling upwards).
pub fn inclusion_subtrees(index: u64, size: u64) -> Result<Vec<Subtree>, ProveError> {
    if index >= size {
        return Err(ProveError::IndexOutOfRange { index, size });
    }
    let mut nodes = Vec::with_capacity(64);
    // PATH(m, D[n]): descend towards the leaf, recording the sibling at each
    // level; the proof lists them bottom-up, so reverse at the end.
    let (mut start, mut end) = (0u64, size);
    while end - start > 1 {
        let mid = start + split_point(end - start);
        if index < mid {
            nodes.push(Subtree { start: mid, end });
            end = mid;
        } else {
            nodes.push(Subtree { start, end: mid });
            start = mid;
        }
    }
    nodes.reverse();
    Ok(nodes)
}

/// The nodes whose roots form the consistency proof from the tree of
/// `old_size` leaves to the tree of `new_size` leaves, in proof order.
///
/// Empty when `old_size` is 0 or equal to `new_size`: there is nothing to
/// prove (the verifier then only compares roots).
pub fn consistency_subtrees(old_size: u64, new_size: u64) -> Result<Vec<Subtree>, ProveError> {
    if old_size > new_size {
        return Err(ProveError::OldSizeLarger { old_size, new_size });
    }
    let mut nodes = Vec::with_capacity(64);
    if old_size == 0 || old_size == new_size {
        return Ok(nodes);
    }
    // SUBPROOF(m, D[n], b), unrolled: `whole_old_tree` is b, true while the
    // subtree being split is the start of the old tree (whose root the
    // verifier already knows, so it is left out of the proof).
    let (mut start, mut end) = (0u64, new_size);
    let mut m = old_size;
    let mut whole_old_tree = true;
    loop {
        let n = end - start;
        if m == n {
            if !whole_old_tree {
                nodes.push(Subtree { start, end });
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            nodes.push(Subtree {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            nodes.push(Subtree {
                start,
                end: start + k,
            });
            start += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    nodes.reverse();
    Ok(nodes)
}

/// The inclusion proof of leaf `index` in the tree made of the first `size`
/// of `leaf_hashes`. O(size) node hashes.
pub fn inclusion_proof(
    leaf_hashes: &[Hash],
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError> {
    let leaves = first_leaves(leaf_hashes, size)?;
    let nodes = inclusion_subtrees(index, size)?;
    Ok(nodes
        .into_iter()
        .map(|node| subtree_root(leaves, node))
        .collect())
}

/// The consistency proof from the tree of the first `old_size` leaf hashes to
/// the tree of the first `new_size`. O(new_size) node hashes.
pub fn consistency_proof(
    leaf_hashes: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProveError> {
    let leaves = first_leaves(leaf_hashes, new_size)?;
    let nodes = consistency_subtrees(old_size, new_size)?;
    Ok(nodes
        .into_iter()
        .map(|node| subtree_root(leaves, node))
        .collect())
}

/// The first `size` leaf hashes, or an error if there are fewer.
fn first_leaves(leaf_hashes: &[Hash], size: u64) -> Result<&[Hash], ProveError> {
    usize::try_from(size)
        .ok()
        .and_then(|size| leaf_hashes.get(..size))
        .ok_or(ProveError::NotEnoughLeaves {
            size,
            available: leaf_hashes.len() as u64,
        })
}

/// The root of a node of the tree `leaves`; the node lies inside it because
/// the subtree plans only name nodes of that tree.
fn subtree_root(leaves: &[Hash], node: Subtree) -> Hash {
    // Both bounds are at most leaves.len(), so they fit in usize.
    let range = node.start as usize..node.end as usize;
    root(leaves.get(range).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_nodes_match_the_rfc_example_tree() {
        // RFC 9162 §2.1.5: in the 7-leaf tree, the path of leaf d (index 3)
        // is [c, g, l] = leaf 2, node 0..2, node 4..7.
        let nodes = inclusion_subtrees(3, 7).unwrap();
        let got: Vec<_> = nodes.iter().map(|n| (n.start, n.end)).collect();
        assert_eq!(got, vec![(2, 3), (0, 2), (4, 7)]);
        // Leaf 6 (the RFC's j): [i, k] = node 4..6, node 0..4.
        let got: Vec<_> = inclusion_subtrees(6, 7)
            .unwrap()
            .iter()
            .map(|n| (n.start, n.end))
            .collect();
        assert_eq!(got, vec![(4, 6), (0, 4)]);
        assert_eq!(inclusion_subtrees(0, 1).unwrap(), vec![]);
        assert_eq!(
            inclusion_subtrees(7, 7),
            Err(ProveError::IndexOutOfRange { index: 7, size: 7 })
        );
    }

    #[test]
    fn consistency_nodes_match_the_rfc_example_tree() {
        // RFC 9162 §2.1.5: hash0 (3 leaves) to hash (7 leaves) is [c, d, g, l].
        let got: Vec<_> = consistency_subtrees(3, 7)
            .unwrap()
            .iter()
            .map(|n| (n.start, n.end))
            .collect();
        assert_eq!(got, vec![(2, 3), (3, 4), (0, 2), (4, 7)]);
        // hash1 (4 leaves) to hash: [l].
        let got: Vec<_> = consistency_subtrees(4, 7)
            .unwrap()
            .iter()
            .map(|n| (n.start, n.end))
            .collect();
        assert_eq!(got, vec![(4, 7)]);
        // hash2 (6 leaves) to hash: [i, j, k] = node 4..6, leaf 6, node 0..4.
        let got: Vec<_> = consistency_subtrees(6, 7)
            .unwrap()
            .iter()
            .map(|n| (n.start, n.end))
            .collect();
        assert_eq!(got, vec![(4, 6), (6, 7), (0, 4)]);
        assert_eq!(consistency_subtrees(0, 5).unwrap(), vec![]);
        assert_eq!(consistency_subtrees(5, 5).unwrap(), vec![]);
        assert_eq!(
            consistency_subtrees(6, 5),
            Err(ProveError::OldSizeLarger {
                old_size: 6,
                new_size: 5
            })
        );
    }

    #[test]
    fn too_few_leaves_is_an_error_not_a_panic() {
        let leaves = [Hash([0; 32]); 3];
        assert_eq!(
            inclusion_proof(&leaves, 0, 4),
            Err(ProveError::NotEnoughLeaves {
                size: 4,
                available: 3
            })
        );
        assert_eq!(
            consistency_proof(&leaves, 1, u64::MAX),
            Err(ProveError::NotEnoughLeaves {
                size: u64::MAX,
                available: 3
            })
        );
    }
}
