//! Every proof for every tree size 1..=300 checked by an independent
//! implementation: `tests/rfc9162_reference.py` (Python standard library
//! only) recomputes each tree head, rebuilds each proof from the RFC's
//! recursive definitions and runs the RFC 9162 verification algorithms.
//! Rust generates the proofs with a [`MemoryTree`] and, for a large sample,
//! from the slice of leaf hashes as a server would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use shipgate_log::{
    Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root,
    root_from_inclusion_proof, verify_consistency, verify_inclusion,
};

const MAX_SIZE: u64 = 300;

/// Leaf data of varied lengths, including the empty leaf.
fn leaf_data(i: u64) -> Vec<u8> {
    let mut data = Vec::new();
    for round in 0..(i % 7) {
        data.extend_from_slice(format!("event {i}.{round};").as_bytes());
    }
    data
}

fn hex_concat(proof: &[Hash]) -> String {
    proof.iter().map(Hash::to_hex).collect()
}

/// Runs the Python reference on the batch; panics loudly if python3 is missing.
fn run_reference(batch: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rfc9162_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): the RFC 9162 reference check needs Python 3")
        });
    let input = serde_json::to_vec(batch).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Write from another thread so a large batch cannot deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("python reference printed no JSON summary ({e}); stderr:\n{stderr}")
    });
    assert!(
        output.status.success(),
        "python reference disagrees: {summary:#}\nstderr:\n{stderr}"
    );
    summary
}

/// Whether to also generate this proof from the leaf slice (O(size) each;
/// the crate is unoptimised in tests, so not all 90,000 of them): every proof
/// up to 100 leaves, and the edges and middle of every larger tree. The
/// rest come from [`MemoryTree`], whose proofs use the same node plan.
fn slice_check(first: u64, size: u64) -> bool {
    size <= 100 || first <= 1 || first + 2 >= size || first == size / 2
}

#[test]
fn every_proof_up_to_300_leaves_agrees_with_the_python_reference() {
    let data: Vec<Vec<u8>> = (0..MAX_SIZE).map(leaf_data).collect();
    let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.append(*leaf).unwrap();
    }

    let roots: Vec<Hash> = (0..=MAX_SIZE)
        .map(|n| root(&leaves[..n as usize]))
        .collect();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 1..=MAX_SIZE {
        let tree_root = roots[size as usize];
        assert_eq!(tree.root(size).unwrap(), tree_root);
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).unwrap();
            if slice_check(index, size) {
                assert_eq!(inclusion_proof(&leaves, index, size).unwrap(), proof);
            }
            let leaf = &leaves[index as usize];
            verify_inclusion(leaf, index, size, &proof, &tree_root).unwrap();
            assert_eq!(
                root_from_inclusion_proof(leaf, index, size, &proof).unwrap(),
                tree_root
            );
            inclusion.push(json!([index, size, hex_concat(&proof)]));
        }
        for old in 0..=size {
            let proof = tree.consistency_proof(old, size).unwrap();
            if slice_check(old, size) {
                assert_eq!(consistency_proof(&leaves, old, size).unwrap(), proof);
            }
            verify_consistency(old, size, &roots[old as usize], &tree_root, &proof).unwrap();
            consistency.push(json!([old, size, hex_concat(&proof)]));
        }
    }
    let expected_inclusion = (MAX_SIZE * (MAX_SIZE + 1) / 2) as usize;
    let expected_consistency = expected_inclusion + MAX_SIZE as usize;
    assert_eq!(inclusion.len(), expected_inclusion);
    assert_eq!(consistency.len(), expected_consistency);

    let batch = json!({
        "leaves": data.iter().map(hex::encode).collect::<Vec<_>>(),
        "roots": roots.iter().map(Hash::to_hex).collect::<Vec<_>>(),
        "inclusion": inclusion,
        "consistency": consistency,
    });
    let summary = run_reference(&batch);
    assert_eq!(summary["failures"], json!([]));
    assert_eq!(summary["roots_checked"], json!(MAX_SIZE + 1));
    assert_eq!(summary["inclusion_checked"], json!(expected_inclusion));
    assert_eq!(summary["consistency_checked"], json!(expected_consistency));
    // The reference's own verifier rejected every mutated proof it tried.
    assert!(
        summary["mutations_rejected"].as_u64().unwrap() > 5000,
        "{summary}"
    );
}
