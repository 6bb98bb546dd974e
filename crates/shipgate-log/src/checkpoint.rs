//! C2SP `tlog-checkpoint` tree heads inside signed notes, and the check a
//! client runs between the checkpoint it saved and a new one.
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, standard base64>
//! [<extension line>...]
//!
//! — <key name> <base64(key ID || Ed25519 signature)>
//! ```

use crate::hash::{Hash, HashParseError};
use crate::note::{self, NoteError, NoteSigner, NoteVerifier};
use crate::verify::{VerifyError, verify_consistency, verify_inclusion};

/// A log's signed statement of its size and root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `gate.example.com/log`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// The tree head (MTH) at that size.
    pub root: Hash,
    /// Optional extension lines (opaque, not recommended by the spec).
    pub extensions: Vec<String>,
}

/// A checkpoint could not be written, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed or not signed by the key.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note text has fewer than the three lines origin, size, root hash.
    #[error("a checkpoint has at least 3 lines (origin, tree size, root hash), this one has {0}")]
    TooFewLines(usize),
    /// The origin line is empty.
    #[error("the checkpoint's origin line is empty")]
    EmptyOrigin,
    /// The origin is not the log's.
    #[error("the checkpoint is for log {found:?}, not {expected:?}")]
    OriginMismatch {
        /// The origin the caller trusts.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// The tree size line is not a canonical decimal number that fits in 64 bits.
    #[error("the checkpoint's tree size {0:?} is not a decimal number without leading zeros")]
    InvalidSize(String),
    /// The root hash line is not the base64 of 32 bytes.
    #[error("the checkpoint's root hash is invalid: {0}")]
    InvalidRootHash(HashParseError),
    /// An extension line is empty.
    #[error("extension line {line} of the checkpoint is empty")]
    EmptyExtensionLine {
        /// 1-based line number in the note.
        line: usize,
    },
    /// A field to be signed would break the format (a newline or a control character).
    #[error("the checkpoint's {field} contains a newline or control character")]
    InvalidField {
        /// Which field.
        field: &'static str,
    },
}

/// A new checkpoint does not extend the old one: the log rewrote, dropped or
/// forked its history, or the proof is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsistencyError {
    /// The two checkpoints are for different logs.
    #[error("the checkpoints are for different logs ({old:?} and {new:?})")]
    OriginMismatch {
        /// The saved checkpoint's origin.
        old: String,
        /// The new checkpoint's origin.
        new: String,
    },
    /// The log shrank: leaves were dropped, or this is a rollback to an older view.
    #[error(
        "the log shrank from {old_size} to {new_size} leaves: history was dropped or rolled back"
    )]
    Shrunk {
        /// The saved size.
        old_size: u64,
        /// The new, smaller size.
        new_size: u64,
    },
    /// Two different roots signed for the same size: a fork.
    #[error("the log signed two different root hashes for size {size}: a forked history")]
    Fork {
        /// The common size.
        size: u64,
    },
    /// The consistency proof does not show that the new tree extends the old one.
    #[error("the new checkpoint does not extend the saved one (rewritten history?): {0}")]
    NotAnExtension(VerifyError),
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, size, base64 root, extension lines, each ending in a newline.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(&self.origin, "origin")?;
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for (i, line) in self.extensions.iter().enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine { line: 4 + i });
            }
            check_line(line, "extension line")?;
            text.push_str(line);
            text.push('\n');
        }
        Ok(text)
    }

    /// Reads a checkpoint from verified note text (see [`Checkpoint::open`]).
    pub fn from_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines(lines.len()));
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        for (i, line) in extensions.iter().enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine { line: 4 + i });
            }
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size: parse_size(size)?,
            root: Hash::from_base64(root).map_err(CheckpointError::InvalidRootHash)?,
            extensions: extensions.iter().map(|line| (*line).to_owned()).collect(),
        })
    }

    /// The signed note for this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(note::sign(&self.to_text()?, &[signer])?)
    }

    /// Verifies a signed checkpoint: the note is well-formed and signed by
    /// `verifier` (other signatures, e.g. witnesses', are ignored), its text
    /// is a checkpoint, and the origin is `origin`.
    pub fn open(
        note: &[u8],
        origin: &str,
        verifier: &NoteVerifier,
    ) -> Result<Checkpoint, CheckpointError> {
        let text = note::open(note, std::slice::from_ref(verifier))?;
        let checkpoint = Checkpoint::from_text(&text)?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin,
            });
        }
        Ok(checkpoint)
    }
}

impl Checkpoint {
    /// Verifies that `leaf` (a [`crate::leaf_hash`]) is leaf `index` of the
    /// tree this checkpoint signs, given the log's inclusion proof.
    pub fn verify_inclusion(
        &self,
        leaf: &Hash,
        index: u64,
        proof: &[Hash],
    ) -> Result<(), VerifyError> {
        verify_inclusion(leaf, index, self.size, proof, &self.root)
    }
}

/// Checks that `new` extends `old` (both already verified with
/// [`Checkpoint::open`]), given the log's consistency proof from `old.size`
/// to `new.size`. This is what catches a log that rewrote its history (a
/// proof cannot be made), dropped leaves (a smaller size) or showed two
/// clients different trees (two roots for one size).
pub fn check_consistent(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), ConsistencyError> {
    if old.origin != new.origin {
        return Err(ConsistencyError::OriginMismatch {
            old: old.origin.clone(),
            new: new.origin.clone(),
        });
    }
    if new.size < old.size {
        return Err(ConsistencyError::Shrunk {
            old_size: old.size,
            new_size: new.size,
        });
    }
    verify_consistency(old.size, new.size, &old.root, &new.root, proof).map_err(|error| match error
    {
        VerifyError::DifferentRootsForSameSize { size } => ConsistencyError::Fork { size },
        other => ConsistencyError::NotAnExtension(other),
    })
}

fn check_line(value: &str, field: &'static str) -> Result<(), CheckpointError> {
    if value.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidField { field });
    }
    Ok(())
}

/// ASCII decimal, no sign, no leading zeros (except "0" itself), fits in u64.
pub(crate) fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let invalid = || CheckpointError::InvalidSize(text.chars().take(40).collect());
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    text.parse::<u64>().map_err(|_| invalid())
}
