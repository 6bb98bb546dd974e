//! The attacks a transparency log exists to expose, played against a client
//! that keeps the last checkpoint it verified: a rewritten history, a dropped
//! leaf and a forked checkpoint are each detected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shipgate_log::{
    Checkpoint, ConsistencyError, Frontier, Hash, MemoryTree, NoteSigner, VerifyError,
    check_consistent, consistency_proof, inclusion_proof, leaf_hash, verify_inclusion,
};

const ORIGIN: &str = "gate.example.com/log";

/// The gate's side: its events, and the checkpoints and proofs it serves.
struct Gate {
    events: Vec<Vec<u8>>,
    key: NoteSigner,
}

impl Gate {
    fn new(count: usize) -> Gate {
        let events = (0..count)
            .map(|i| format!("released pkg 1.{i}").into_bytes())
            .collect();
        Gate {
            events,
            key: NoteSigner::from_ed25519_seed(ORIGIN, &[42; 32]).unwrap(),
        }
    }

    fn leaves(&self) -> Vec<Hash> {
        self.events.iter().map(|e| leaf_hash(e)).collect()
    }

    /// The signed checkpoint of the current log, as published.
    fn checkpoint(&self) -> String {
        let mut frontier = Frontier::new();
        for leaf in self.leaves() {
            frontier.append(leaf).unwrap();
        }
        Checkpoint::new(ORIGIN, frontier.size(), frontier.root())
            .sign(&self.key)
            .unwrap()
    }

    /// The consistency proof the gate serves, computed from its current leaves.
    fn consistency(&self, old: u64) -> Vec<Hash> {
        let new = self.events.len() as u64;
        consistency_proof(&self.leaves(), old.min(new), new).unwrap()
    }
}

/// The client's side: verify the new checkpoint, then check it extends the saved one.
fn client_update(saved: &Checkpoint, gate: &Gate) -> Result<Checkpoint, ConsistencyError> {
    let new = Checkpoint::open(gate.checkpoint().as_bytes(), ORIGIN, &gate.key.verifier()).unwrap();
    check_consistent(saved, &new, &gate.consistency(saved.size))?;
    Ok(new)
}

fn saved(gate: &Gate) -> Checkpoint {
    Checkpoint::open(gate.checkpoint().as_bytes(), ORIGIN, &gate.key.verifier()).unwrap()
}

#[test]
fn an_honest_log_that_grows_stays_consistent() {
    let mut gate = Gate::new(10);
    let first = saved(&gate);
    assert_eq!(client_update(&first, &gate).unwrap(), first);
    gate.events.push(b"approved pkg 2.0 by alice".to_vec());
    gate.events.push(b"released pkg 2.0".to_vec());
    let second = client_update(&first, &gate).unwrap();
    assert_eq!(second.size, 12);
    gate.events.push(b"maintainer bob enrolled".to_vec());
    assert_eq!(client_update(&second, &gate).unwrap().size, 13);
}

#[test]
fn a_rewritten_history_is_detected() {
    let mut gate = Gate::new(10);
    let before = saved(&gate);

    // Same size, different root: an event rewritten in place.
    gate.events[3] = b"released pkg 1.3 (different bytes)".to_vec();
    assert_eq!(
        client_update(&before, &gate),
        Err(ConsistencyError::Fork { size: 10 })
    );

    // Rewritten and grown: no consistency proof the gate can compute links them.
    gate.events.push(b"released pkg 2.0".to_vec());
    let refused = client_update(&before, &gate);
    assert!(
        matches!(
            refused,
            Err(ConsistencyError::NotAnExtension(
                VerifyError::OldRootMismatch
            ))
        ),
        "{refused:?}"
    );

    // Nor does a proof computed from the honest history (the gate has no other).
    let honest = Gate::new(10);
    let mut honest_leaves = honest.leaves();
    honest_leaves.extend(gate.leaves()[10..].iter().copied());
    let new = Checkpoint::open(gate.checkpoint().as_bytes(), ORIGIN, &gate.key.verifier()).unwrap();
    let proof = consistency_proof(&honest_leaves, 10, 11).unwrap();
    assert!(matches!(
        check_consistent(&before, &new, &proof),
        Err(ConsistencyError::NotAnExtension(
            VerifyError::NewRootMismatch
        ))
    ));
}

#[test]
fn a_dropped_leaf_is_detected() {
    let mut gate = Gate::new(10);
    let before = saved(&gate);
    let release_leaf = leaf_hash(&gate.events[4]);
    let inclusion = inclusion_proof(&gate.leaves(), 4, 10).unwrap();
    before
        .verify_inclusion(&release_leaf, 4, &inclusion)
        .unwrap();

    // The gate drops event 4: the log shrinks.
    gate.events.remove(4);
    assert_eq!(
        client_update(&before, &gate),
        Err(ConsistencyError::Shrunk {
            old_size: 10,
            new_size: 9
        })
    );

    // It pads the log back to a larger size: still not an extension.
    gate.events.push(b"approved pkg 1.10".to_vec());
    gate.events.push(b"released pkg 1.10".to_vec());
    assert!(matches!(
        client_update(&before, &gate),
        Err(ConsistencyError::NotAnExtension(_))
    ));

    // And the dropped release can no longer be shown in the new tree.
    let new = saved(&gate);
    let leaves = gate.leaves();
    assert!(!leaves.contains(&release_leaf));
    for index in 0..new.size {
        let proof = inclusion_proof(&leaves, index, new.size).unwrap();
        assert!(new.verify_inclusion(&release_leaf, index, &proof).is_err());
        assert!(verify_inclusion(&release_leaf, index, new.size, &proof, &new.root).is_err());
    }
}

#[test]
fn a_forked_checkpoint_is_detected() {
    // The gate shows two clients two different trees of the same size, both
    // signed with its real key: each verifies alone, comparing them exposes it.
    let alice_view = Gate::new(8);
    let mut bob_view = Gate::new(8);
    bob_view.events[7] = b"released pkg 1.7 (backdoored)".to_vec();
    let alice = saved(&alice_view);
    let bob = saved(&bob_view);
    assert_eq!(alice.size, bob.size);
    assert_ne!(alice.root, bob.root);
    assert_eq!(
        check_consistent(&alice, &bob, &[]),
        Err(ConsistencyError::Fork { size: 8 })
    );

    // Forks of different sizes: whichever view grows, neither extends the other.
    let mut bob_later = bob_view;
    bob_later.events.push(b"released pkg 1.8".to_vec());
    assert!(matches!(
        client_update(&alice, &bob_later),
        Err(ConsistencyError::NotAnExtension(_))
    ));

    // A checkpoint of another log cannot be passed off as this one.
    let other = Checkpoint::new("gate.example.com/other", 9, alice.root);
    assert!(matches!(
        check_consistent(&alice, &other, &[]),
        Err(ConsistencyError::OriginMismatch { .. })
    ));
}

#[test]
fn a_server_frontier_and_memory_tree_agree_with_published_checkpoints() {
    // What the gate stores per append (the frontier) reproduces the head the
    // client verifies, at every size.
    let gate = Gate::new(33);
    let mut frontier = Frontier::new();
    let mut tree = MemoryTree::new();
    for (i, leaf) in gate.leaves().into_iter().enumerate() {
        frontier.append(leaf).unwrap();
        tree.append(leaf).unwrap();
        let stored = Frontier::from_parts(frontier.size(), frontier.hashes().to_vec()).unwrap();
        assert_eq!(stored.root(), tree.root(i as u64 + 1).unwrap());
    }
    assert_eq!(frontier.root(), saved(&gate).root);
}
