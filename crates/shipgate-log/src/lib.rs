//! The gate's tamper-evident log, as a storage-agnostic library.
//!
//! - [`hash`]: RFC 6962 / RFC 9162 hashing (`SHA-256(0x00 || leaf)`,
//!   `SHA-256(0x01 || left || right)`, the empty tree `SHA-256("")`).
//! - [`Frontier`]: the few hashes a server stores to append in O(log n) and
//!   get the new tree head; [`root`] for a list of leaf hashes.
//! - [`prove`]: inclusion and consistency proofs from leaf hashes the caller
//!   supplies, or from a plan of [`Subtree`]s the caller hashes itself;
//!   [`MemoryTree`] for O(log n) proofs when the whole tree fits in memory.
//! - [`verify`]: strict RFC 9162 verification with typed errors.
//! - [`cosignature`]: C2SP `cosignature/v1` witness cosignatures, and
//!   [`add_checkpoint`]: the body of a C2SP `tlog-witness` request.
//! - [`note`] and [`checkpoint`]: C2SP signed notes with Ed25519 keys, and
//!   C2SP `tlog-checkpoint` tree heads, with [`check_consistent`] for clients
//!   that keep the last checkpoint they saw.
//!
//! The log takes opaque bytes: what a leaf means is the caller's business.
//!
//! # A server and a client
//!
//! ```
//! use shipgate_log::{Checkpoint, Frontier, NoteSigner, check_consistent, consistency_proof,
//!                    inclusion_proof, leaf_hash};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Server: per event, store the leaf hash and the frontier (a few hashes)
//! // in the same transaction as the state change, then sign the new head.
//! let key = NoteSigner::from_ed25519_seed("gate.example.com/log", &[1; 32])?;
//! let mut frontier = Frontier::new();
//! let mut stored_leaves = Vec::new();
//! for event in [&b"staged pkg 1.0"[..], b"approved pkg 1.0 by alice", b"released pkg 1.0"] {
//!     let leaf = leaf_hash(event);
//!     frontier.append(leaf)?;
//!     stored_leaves.push(leaf);
//! }
//! let note = Checkpoint::new("gate.example.com/log", frontier.size(), frontier.root()).sign(&key)?;
//!
//! // Client: verify the checkpoint with the gate's published verifier key...
//! let verifier = key.verifier().to_string(); // "gate.example.com/log+<id>+<key>"
//! let checkpoint = Checkpoint::open(note.as_bytes(), "gate.example.com/log", &verifier.parse()?)?;
//! // ...check that the release event is in it...
//! let proof = inclusion_proof(&stored_leaves, 2, checkpoint.size)?;
//! checkpoint.verify_inclusion(&leaf_hash(b"released pkg 1.0"), 2, &proof)?;
//! // ...and, later, that a newer checkpoint extends the one it saved.
//! let saved = Checkpoint::open(note.as_bytes(), "gate.example.com/log", &key.verifier())?;
//! let proof = consistency_proof(&stored_leaves, 1, 3)?;
//! let older = Checkpoint::new("gate.example.com/log", 1, stored_leaves[0]);
//! check_consistent(&older, &saved, &proof)?;
//! # Ok(())
//! # }
//! ```

pub mod add_checkpoint;
pub mod checkpoint;
pub mod cosignature;
pub mod frontier;
pub mod hash;
pub mod memory_tree;
pub mod note;
pub mod prove;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, ConsistencyError, check_consistent};
pub use cosignature::{CosignatureError, CosignatureSigner, CosignatureVerifier};
pub use frontier::{Frontier, FrontierError};
pub use hash::{Hash, HashParseError, leaf_hash, node_hash};
pub use memory_tree::MemoryTree;
pub use note::{KeyError, NoteError, NoteSigner, NoteVerifier, SignedNote};
pub use prove::{
    ProveError, consistency_proof, consistency_subtrees, inclusion_proof, inclusion_subtrees,
};
pub use tree::{Subtree, root};
pub use verify::{
    VerifyError, consistency_proof_len, inclusion_proof_len, root_from_inclusion_proof,
    verify_consistency, verify_inclusion,
};
