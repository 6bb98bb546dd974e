//! Helper for the by-hand interop check against Go's golang.org/x/mod
//! (`interop/go/run.sh`); not part of `cargo test`.
//!
//! - `interop dump`: prints JSON with a signed checkpoint, its verifier key,
//!   and every inclusion and consistency proof for tree sizes 1..=64.
//! - `interop open VKEY ORIGIN`: verifies a checkpoint note read from stdin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;

use serde_json::json;
use shipgate_log::{Checkpoint, Hash, MemoryTree, NoteSigner, NoteVerifier, leaf_hash};

const ORIGIN: &str = "gate.example.com/log";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("dump") => dump(),
        Some("open") => {
            let verifier: NoteVerifier = args[1].parse().expect("verifier key");
            let mut note = Vec::new();
            std::io::stdin().read_to_end(&mut note).unwrap();
            match Checkpoint::open(&note, &args[2], &verifier) {
                Ok(checkpoint) => println!(
                    "rust: verified {} size {} root {}",
                    checkpoint.origin,
                    checkpoint.size,
                    checkpoint.root.to_base64()
                ),
                Err(error) => {
                    println!("rust: REFUSED: {error}");
                    std::process::exit(1);
                }
            }
        }
        _ => {
            eprintln!("usage: interop dump | interop open VKEY ORIGIN < note");
            std::process::exit(2);
        }
    }
}

fn dump() {
    let data: Vec<Vec<u8>> = (0..64u32)
        .map(|i| format!("event {i}").into_bytes())
        .collect();
    let mut tree = MemoryTree::new();
    for d in &data {
        tree.append(leaf_hash(d)).unwrap();
    }
    let hex_proof = |proof: Vec<Hash>| proof.iter().map(Hash::to_hex).collect::<String>();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 1..=64u64 {
        for index in 0..size {
            inclusion.push(json!([
                index,
                size,
                hex_proof(tree.inclusion_proof(index, size).unwrap())
            ]));
        }
        for old in 1..=size {
            consistency.push(json!([
                old,
                size,
                hex_proof(tree.consistency_proof(old, size).unwrap())
            ]));
        }
    }
    let signer = NoteSigner::from_ed25519_seed(ORIGIN, &[11; 32]).unwrap();
    let checkpoint = Checkpoint::new(ORIGIN, 64, tree.root(64).unwrap());
    println!(
        "{}",
        json!({
            "vkey": signer.verifier().to_string(),
            "note": checkpoint.sign(&signer).unwrap(),
            "leaves": data.iter().map(hex::encode).collect::<Vec<_>>(),
            "roots": (0..=64).map(|n| tree.root(n).unwrap().to_hex()).collect::<Vec<_>>(),
            "inclusion": inclusion,
            "consistency": consistency,
        })
    );
}
