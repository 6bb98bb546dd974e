//! Strict proof verification: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency).
//!
//! Beyond the RFC algorithms, every proof must have exactly the length the
//! sizes imply: a proof with a hash too many or too few is refused with
//! [`VerifyError::WrongProofLength`] before any hashing, so a verifier never
//! accepts a proof that a correct log could not have produced.

use crate::hash::{Hash, node_hash};

/// A proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index claimed.
        index: u64,
        /// The tree size claimed.
        size: u64,
    },
    /// The "old" tree is larger than the "new" one.
    #[error("the old tree size {old_size} is larger than the new size {new_size}")]
    OldSizeLarger {
        /// The older (first) tree size.
        old_size: u64,
        /// The newer (second) tree size.
        new_size: u64,
    },
    /// The proof has more or fewer hashes than these sizes require.
    #[error("the proof has {found} hashes where these sizes need exactly {expected}")]
    WrongProofLength {
        /// The number of hashes a valid proof has.
        expected: usize,
        /// The number of hashes given.
        found: usize,
    },
    /// The inclusion proof leads to another root than the one expected.
    #[error("the inclusion proof does not lead to the expected root hash")]
    RootMismatch,
    /// The consistency proof does not rebuild the old root.
    #[error("the consistency proof does not rebuild the old root hash")]
    OldRootMismatch,
    /// The consistency proof does not rebuild the new root.
    #[error("the consistency proof does not rebuild the new root hash")]
    NewRootMismatch,
    /// Two trees of the same size have different roots: a fork.
    #[error("two different root hashes for the same tree size {size}")]
    DifferentRootsForSameSize {
        /// The common tree size.
        size: u64,
    },
}

/// Which side of the running hash the next proof hash goes on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The `fn`/`sn` walk shared by both RFC 9162 verification algorithms: the
/// position of the node being rebuilt (`node`) and of the last node of the
/// tree (`last`) at the current level, climbing one level per proof hash.
#[derive(Clone, Copy)]
struct Walk {
    node: u64,
    last: u64,
}

impl Walk {
    fn shift(&mut self) {
        self.node >>= 1;
        self.last >>= 1;
    }

    /// One step of the RFC loop: where the proof hash goes, then climb.
    fn step(&mut self) -> Side {
        let side = if self.node & 1 == 1 || self.node == self.last {
            // A right child, or the rightmost node with no sibling at this
            // level: skip the levels where it is promoted unchanged.
            if self.node & 1 == 0 {
                while self.node & 1 == 0 && self.node != 0 {
                    self.shift();
                }
            }
            Side::Left
        } else {
            Side::Right
        };
        self.shift();
        side
    }

    /// How many proof hashes the walk consumes before reaching the root.
    fn steps_to_root(mut self) -> usize {
        let mut steps = 0;
        while self.last != 0 {
            self.step();
            steps += 1;
        }
        steps
    }
}

fn check_length(expected: usize, found: usize) -> Result<(), VerifyError> {
    if expected == found {
        Ok(())
    } else {
        Err(VerifyError::WrongProofLength { expected, found })
    }
}

/// The number of hashes in the inclusion proof of leaf `index` in a tree of
/// `size` leaves.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    Ok(Walk {
        node: index,
        last: size - 1,
    }
    .steps_to_root())
}

/// The root hash that an inclusion proof leads to (RFC 9162 §2.1.3.2 without
/// the final comparison), after checking the index and the proof length.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    check_length(inclusion_proof_len(index, size)?, proof.len())?;
    let mut walk = Walk {
        node: index,
        last: size - 1,
    };
    let mut hash = *leaf;
    for sibling in proof {
        hash = match walk.step() {
            Side::Left => node_hash(sibling, &hash),
            Side::Right => node_hash(&hash, sibling),
        };
    }
    // The length check guarantees the walk ended at the root.
    debug_assert_eq!(walk.last, 0);
    Ok(hash)
}

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if root_from_inclusion_proof(leaf, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// The number of hashes in the consistency proof between the two sizes.
pub fn consistency_proof_len(old_size: u64, new_size: u64) -> Result<usize, VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldSizeLarger { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(0);
    }
    let (walk, old_root_is_in_proof) = consistency_start(old_size, new_size);
    Ok(walk.steps_to_root() + usize::from(old_root_is_in_proof))
}

/// The walk's starting point for 0 < old < new, and whether the proof's
/// first hash is a node of the old tree (false when the old tree is a single
/// complete subtree, whose root the verifier already has).
fn consistency_start(old_size: u64, new_size: u64) -> (Walk, bool) {
    let mut walk = Walk {
        node: old_size - 1,
        last: new_size - 1,
    };
    while walk.node & 1 == 1 {
        walk.shift();
    }
    (walk, !old_size.is_power_of_two())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends
/// the tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// Two cases the RFC leaves to the caller are decided strictly here: equal
/// sizes need an empty proof and equal roots (different roots are a fork),
/// and an old size of 0 needs an empty proof and the empty-tree root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    check_length(consistency_proof_len(old_size, new_size)?, proof.len())?;
    if old_size == 0 {
        return if *old_root == Hash::EMPTY_ROOT {
            Ok(())
        } else {
            Err(VerifyError::OldRootMismatch)
        };
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::DifferentRootsForSameSize { size: old_size })
        };
    }

    let (mut walk, old_root_is_in_proof) = consistency_start(old_size, new_size);
    let mut rest = proof.iter();
    // The RFC prepends the old root when the old tree is one complete subtree.
    let first = if old_root_is_in_proof {
        rest.next().copied().ok_or(VerifyError::WrongProofLength {
            expected: 1,
            found: 0,
        })?
    } else {
        *old_root
    };
    let (mut old_hash, mut new_hash) = (first, first);
    for hash in rest {
        match walk.step() {
            Side::Left => {
                old_hash = node_hash(hash, &old_hash);
                new_hash = node_hash(hash, &new_hash);
            }
            Side::Right => new_hash = node_hash(&new_hash, hash),
        }
    }
    debug_assert_eq!(walk.last, 0);
    if old_hash != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if new_hash != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}
