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
//! - [`note`] and [`checkpoint`]: C2SP signed notes with Ed25519 keys, and
//!   C2SP `tlog-checkpoint` tree heads, with [`check_consistent`] for clients
//!   that keep the last checkpoint they saw.
//!
//! The log takes opaque bytes: what a leaf means is the caller's business.

pub mod checkpoint;
pub mod frontier;
pub mod hash;
pub mod memory_tree;
pub mod note;
pub mod prove;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, ConsistencyError, check_consistent};
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
