//! Benchmark: append N leaves and generate proofs at size N.
//! Run with `bench/log/run.sh` (release build); not part of `cargo test`.
//!
//! Usage: log_bench [LEAVES]   (default 1,000,000)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use shipgate_log::{
    Frontier, Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};

/// A gate event of realistic size (about 200 bytes of JSON).
fn event(i: u64) -> Vec<u8> {
    format!(
        r#"{{"type":"released","release_id":"rel-{i:012}","package":"example-package","version":"1.{i}.0","digest":"sha256:{:064x}","by":"alice@example.com","at":"2026-01-01T00:00:00Z"}}"#,
        i
    )
    .into_bytes()
}

/// Deterministic pseudo-random positions (no dependency, reproducible).
fn positions(count: usize, below: u64) -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) % below
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per_second(count: u64, elapsed: Duration) -> String {
    format!("{:.2} M/s", count as f64 / elapsed.as_secs_f64() / 1e6)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("LEAVES must be a number"));
    let events: Vec<Vec<u8>> = (0..n).map(event).collect();
    println!(
        "shipgate-log benchmark: {n} leaves of ~{} bytes",
        events[0].len()
    );
    println!("{:<58} {:>14}", "operation", "result");

    // Baseline: the raw SHA-256 node hash every Merkle operation is made of.
    let start = Instant::now();
    let mut acc = Hash([0; 32]);
    for _ in 0..n {
        acc = node_hash(&acc, &acc);
    }
    black_box(acc);
    let raw = start.elapsed();
    println!(
        "{:<58} {:>14}",
        "baseline: raw node hashes (SHA-256 of 65 bytes)",
        per_second(n, raw)
    );

    let start = Instant::now();
    let leaves: Vec<Hash> = events.iter().map(|e| leaf_hash(e)).collect();
    let hashing = start.elapsed();
    println!(
        "{:<58} {:>14}",
        "leaf hashes of the events",
        per_second(n, hashing)
    );

    let start = Instant::now();
    let mut frontier = Frontier::new();
    for leaf in &leaves {
        frontier.append(*leaf).unwrap();
    }
    let root = frontier.root();
    let appends = start.elapsed();
    println!(
        "{:<58} {:>14}",
        format!(
            "Frontier appends (stores {} hashes at the end)",
            frontier.hashes().len()
        ),
        per_second(n, appends)
    );
    println!(
        "{:<58} {:>14}",
        "  with leaf hashing (event bytes -> new root available)",
        per_second(n, appends + hashing)
    );

    // What a gate does per event: append, then sign a checkpoint of the new root.
    let start = Instant::now();
    let mut frontier = Frontier::new();
    for leaf in &leaves {
        frontier.append(*leaf).unwrap();
        black_box(frontier.root());
    }
    let with_roots = start.elapsed();
    println!(
        "{:<58} {:>14}",
        "Frontier append + new root after every leaf",
        per_second(n, with_roots)
    );

    let start = Instant::now();
    let mut tree = MemoryTree::new();
    for leaf in &leaves {
        tree.append(*leaf).unwrap();
    }
    let tree_appends = start.elapsed();
    assert_eq!(tree.root(n).unwrap(), root);
    println!(
        "{:<58} {:>14}",
        "MemoryTree appends (keeps every complete subtree)",
        per_second(n, tree_appends)
    );

    // Proofs from the slice of leaf hashes, as a server reading its table does.
    let samples = positions(15, n);
    let mut times = Vec::new();
    for &index in &samples {
        let start = Instant::now();
        let proof = inclusion_proof(&leaves, index, n).unwrap();
        times.push(start.elapsed());
        verify_inclusion(&leaves[index as usize], index, n, &proof, &root).unwrap();
    }
    println!(
        "{:<58} {:>11.1} ms",
        "inclusion proof from the leaf slice (median of 15)",
        median(times).as_secs_f64() * 1e3
    );

    let mut times = Vec::new();
    for &old in &samples {
        let old = old.max(1);
        let old_root = tree.root(old).unwrap();
        let start = Instant::now();
        let proof = consistency_proof(&leaves, old, n).unwrap();
        times.push(start.elapsed());
        verify_consistency(old, n, &old_root, &root, &proof).unwrap();
    }
    println!(
        "{:<58} {:>11.1} ms",
        "consistency proof from the leaf slice (median of 15)",
        median(times).as_secs_f64() * 1e3
    );

    // Proofs from the in-memory tree.
    let samples = positions(10_000, n);
    let start = Instant::now();
    let mut proofs = Vec::with_capacity(samples.len());
    for &index in &samples {
        proofs.push(tree.inclusion_proof(index, n).unwrap());
    }
    let elapsed = start.elapsed();
    println!(
        "{:<58} {:>11.2} µs",
        "inclusion proof from MemoryTree (mean of 10,000)",
        elapsed.as_secs_f64() * 1e6 / samples.len() as f64
    );

    let start = Instant::now();
    for (&index, proof) in samples.iter().zip(&proofs) {
        verify_inclusion(&leaves[index as usize], index, n, proof, &root).unwrap();
    }
    let elapsed = start.elapsed();
    println!(
        "{:<58} {:>11.2} µs",
        "inclusion proof verification (mean of 10,000)",
        elapsed.as_secs_f64() * 1e6 / samples.len() as f64
    );

    let start = Instant::now();
    for &old in &samples {
        black_box(tree.consistency_proof(old.max(1), n).unwrap());
    }
    let elapsed = start.elapsed();
    println!(
        "{:<58} {:>11.2} µs",
        "consistency proof from MemoryTree (mean of 10,000)",
        elapsed.as_secs_f64() * 1e6 / samples.len() as f64
    );
    println!("root at {n}: {root}");
}
