//! The verifier refuses every mutated proof: a flipped bit, a dropped or
//! added hash, a wrong index, size, leaf or root. Property tests over trees of
//! up to 4096 leaves, plus exhaustive drops and insertions for small trees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use shipgate_log::{
    Hash, MemoryTree, VerifyError, consistency_proof_len, inclusion_proof_len, leaf_hash,
    verify_consistency, verify_inclusion,
};

const LEAVES: u64 = 4096;

fn tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = MemoryTree::new();
        for i in 0..LEAVES {
            tree.append(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        tree
    })
}

fn leaf(index: u64) -> Hash {
    tree().leaf_hashes()[index as usize]
}

fn root(size: u64) -> Hash {
    tree().root(size).unwrap()
}

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=LEAVES).prop_flat_map(|size| (Just(size), 0..size))
}

/// Two tree sizes, old <= new, with a non-empty consistency proof.
fn old_and_new() -> impl Strategy<Value = (u64, u64)> {
    (2..=LEAVES).prop_flat_map(|new| (1..new, Just(new)))
}

fn any_hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_with_a_flipped_bit_is_refused((size, index) in size_and_index(), pick in any::<usize>(), bit in 0..256usize) {
        let mut proof = tree().inclusion_proof(index, size).unwrap();
        prop_assume!(!proof.is_empty());
        let at = pick % proof.len();
        proof[at].0[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(verify_inclusion(&leaf(index), index, size, &proof, &root(size)), Err(VerifyError::RootMismatch));
    }

    #[test]
    fn inclusion_with_a_hash_dropped_or_added_is_refused((size, index) in size_and_index(), pick in any::<usize>(), extra in any_hash()) {
        let proof = tree().inclusion_proof(index, size).unwrap();
        let mut longer = proof.clone();
        longer.insert(pick % (proof.len() + 1), extra);
        let refused = verify_inclusion(&leaf(index), index, size, &longer, &root(size));
        let is_wrong_length = matches!(refused, Err(VerifyError::WrongProofLength { .. }));
        prop_assert!(is_wrong_length);
        if !proof.is_empty() {
            let mut shorter = proof.clone();
            shorter.remove(pick % proof.len());
            let refused = verify_inclusion(&leaf(index), index, size, &shorter, &root(size));
            let is_wrong_length = matches!(refused, Err(VerifyError::WrongProofLength { .. }));
            prop_assert!(is_wrong_length);
        }
    }

    #[test]
    fn inclusion_at_another_index_is_refused((size, index) in size_and_index(), other in 0..LEAVES) {
        prop_assume!(other != index);
        let proof = tree().inclusion_proof(index, size).unwrap();
        // The right leaf at the wrong position, and the wrong leaf at the right one.
        prop_assert!(verify_inclusion(&leaf(index), other, size, &proof, &root(size)).is_err());
        prop_assert!(verify_inclusion(&leaf(other), index, size, &proof, &root(size)).is_err());
    }

    #[test]
    fn inclusion_against_another_size_or_root_is_refused((size, index) in size_and_index(), other in 1..=LEAVES, random in any_hash()) {
        let proof = tree().inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(&leaf(index), index, size, &proof, &random).is_err());
        if other != size {
            // The signed checkpoint pins size and root together.
            prop_assert!(verify_inclusion(&leaf(index), index, other, &proof, &root(other)).is_err());
        }
        // Sizes that need a proof of another length are refused whatever the root.
        if inclusion_proof_len(index, other).is_ok_and(|len| len != proof.len()) {
            prop_assert!(verify_inclusion(&leaf(index), index, other, &proof, &root(size)).is_err());
        }
    }

    #[test]
    fn consistency_with_a_flipped_bit_is_refused((old, new) in old_and_new(), pick in any::<usize>(), bit in 0..256usize) {
        let mut proof = tree().consistency_proof(old, new).unwrap();
        let at = pick % proof.len();
        proof[at].0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(old, new, &root(old), &root(new), &proof).is_err());
    }

    #[test]
    fn consistency_with_a_hash_dropped_or_added_is_refused((old, new) in old_and_new(), pick in any::<usize>(), extra in any_hash()) {
        let proof = tree().consistency_proof(old, new).unwrap();
        let mut longer = proof.clone();
        longer.insert(pick % (proof.len() + 1), extra);
        let mut shorter = proof.clone();
        shorter.remove(pick % proof.len());
        for mutated in [longer, shorter] {
            let refused = verify_consistency(old, new, &root(old), &root(new), &mutated);
            let is_wrong_length = matches!(refused, Err(VerifyError::WrongProofLength { .. }));
            prop_assert!(is_wrong_length);
        }
    }

    #[test]
    fn consistency_with_other_sizes_or_roots_is_refused((old, new) in old_and_new(), other in 1..=LEAVES, random in any_hash()) {
        let proof = tree().consistency_proof(old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &root(new), &root(old), &proof).is_err());
        prop_assert!(verify_consistency(old, new, &random, &root(new), &proof).is_err());
        prop_assert!(verify_consistency(old, new, &root(old), &random, &proof).is_err());
        if other != old && other <= new {
            prop_assert!(verify_consistency(other, new, &root(other), &root(new), &proof).is_err());
        }
        if other != new && other >= old {
            prop_assert!(verify_consistency(old, other, &root(old), &root(other), &proof).is_err());
        }
    }
}

#[test]
fn every_drop_and_insertion_is_refused_in_small_trees() {
    let extra = Hash([0xab; 32]);
    for size in 1..=64u64 {
        for index in 0..size {
            let proof = tree().inclusion_proof(index, size).unwrap();
            assert_eq!(proof.len(), inclusion_proof_len(index, size).unwrap());
            for at in 0..=proof.len() {
                let mut longer = proof.clone();
                longer.insert(at, extra);
                assert!(verify_inclusion(&leaf(index), index, size, &longer, &root(size)).is_err());
                if at < proof.len() {
                    let mut shorter = proof.clone();
                    shorter.remove(at);
                    assert!(
                        verify_inclusion(&leaf(index), index, size, &shorter, &root(size)).is_err()
                    );
                }
            }
        }
        for old in 0..=size {
            let proof = tree().consistency_proof(old, size).unwrap();
            assert_eq!(proof.len(), consistency_proof_len(old, size).unwrap());
            for at in 0..=proof.len() {
                let mut longer = proof.clone();
                longer.insert(at, extra);
                assert!(verify_consistency(old, size, &root(old), &root(size), &longer).is_err());
                if at < proof.len() {
                    let mut shorter = proof.clone();
                    shorter.remove(at);
                    assert!(
                        verify_consistency(old, size, &root(old), &root(size), &shorter).is_err()
                    );
                }
            }
        }
    }
}

#[test]
fn impossible_sizes_and_indices_are_typed_errors() {
    let any = Hash([7; 32]);
    assert_eq!(
        verify_inclusion(&any, 0, 0, &[], &Hash::EMPTY_ROOT),
        Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        verify_inclusion(&any, 5, 5, &[], &any),
        Err(VerifyError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        verify_inclusion(&any, u64::MAX, u64::MAX, &[], &any),
        Err(VerifyError::IndexOutOfRange {
            index: u64::MAX,
            size: u64::MAX
        })
    );
    assert_eq!(
        verify_consistency(3, 2, &any, &any, &[]),
        Err(VerifyError::OldSizeLarger {
            old_size: 3,
            new_size: 2
        })
    );
    // Trivial cases are strict too.
    assert_eq!(
        verify_consistency(0, 0, &Hash::EMPTY_ROOT, &Hash::EMPTY_ROOT, &[]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(0, 9, &Hash::EMPTY_ROOT, &any, &[]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(0, 9, &any, &any, &[]),
        Err(VerifyError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 9, &Hash::EMPTY_ROOT, &any, &[any]),
        Err(VerifyError::WrongProofLength {
            expected: 0,
            found: 1
        })
    );
    assert_eq!(verify_consistency(4, 4, &any, &any, &[]), Ok(()));
    assert_eq!(
        verify_consistency(4, 4, &any, &Hash::EMPTY_ROOT, &[]),
        Err(VerifyError::DifferentRootsForSameSize { size: 4 })
    );
    assert_eq!(
        verify_consistency(4, 4, &any, &any, &[any]),
        Err(VerifyError::WrongProofLength {
            expected: 0,
            found: 1
        })
    );
    assert_eq!(
        verify_consistency(1, 2, &any, &any, &[]),
        Err(VerifyError::WrongProofLength {
            expected: 1,
            found: 0
        })
    );
    // Sizes near the top of the range neither overflow nor panic.
    // The last leaf of a tree of 2^64 - 1 leaves has one sibling per
    // complete subtree to its left: 63. Growing 2^k - 2 leaves by one takes
    // k hashes (3 for 6 -> 7 in the RFC example).
    assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), Ok(63));
    assert_eq!(inclusion_proof_len(0, u64::MAX), Ok(64));
    assert_eq!(consistency_proof_len(6, 7), Ok(3));
    assert_eq!(consistency_proof_len(u64::MAX - 1, u64::MAX), Ok(64));
    let proof = vec![any; 63];
    assert_eq!(
        verify_inclusion(&any, u64::MAX - 1, u64::MAX, &proof, &any),
        Err(VerifyError::RootMismatch)
    );
    let proof = vec![any; 64];
    assert_eq!(
        verify_consistency(u64::MAX - 1, u64::MAX, &any, &any, &proof),
        Err(VerifyError::OldRootMismatch)
    );
}
