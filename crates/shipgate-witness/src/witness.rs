//! The `add-checkpoint` decision (C2SP `tlog-witness`), independent of HTTP:
//! each refusal is an [`AddError`] whose [`AddError::status`] is the status
//! code the spec gives it.

use std::sync::Mutex;

use shipgate_log::add_checkpoint::{AddCheckpoint, AddCheckpointError};
use shipgate_log::note::SignedNote;
use shipgate_log::{
    Checkpoint, CheckpointError, CosignatureError, CosignatureSigner, CosignatureVerifier,
    NoteError, VerifyError, verify_consistency,
};

use crate::logs::LogKey;
use crate::state::{Latest, StateError, WitnessState};

/// Why a checkpoint was not cosigned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// The request body is malformed (400).
    #[error("malformed request: {0}")]
    Malformed(#[from] AddCheckpointError),
    /// The checkpoint note or its text is malformed (400).
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(CheckpointError),
    /// The witness does not follow this log (404).
    #[error("unknown log {0:?}")]
    UnknownOrigin(String),
    /// No valid signature by the log's key (403).
    #[error("the checkpoint is not signed by the key of log {origin:?}: {error}")]
    NotSignedByLog {
        /// The log.
        origin: String,
        /// Why.
        error: NoteError,
    },
    /// The old size is larger than the checkpoint's size (400).
    #[error("old size {old} is larger than the checkpoint's size {size}")]
    OldLargerThanNew {
        /// The old size sent.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size the witness cosigned last (409).
    #[error("old size {old} is not the size {size} this witness cosigned last")]
    WrongOldSize {
        /// The old size sent.
        old: u64,
        /// The witness's size.
        size: u64,
    },
    /// Same size as the witness's, another root hash: a fork (409).
    #[error(
        "the log signed another root hash for size {size} than the one this witness cosigned: a fork"
    )]
    Fork {
        /// The size.
        size: u64,
    },
    /// The consistency proof does not verify (422).
    #[error("the consistency proof from size {old} to {size} does not verify: {error}")]
    BadProof {
        /// The old size.
        old: u64,
        /// The new size.
        size: u64,
        /// Why.
        error: VerifyError,
    },
    /// The new state could not be saved; nothing was cosigned (500).
    #[error("saving the witness state failed: {0}")]
    State(#[from] StateError),
    /// Signing failed (500).
    #[error("cosigning failed: {0}")]
    Sign(#[from] CosignatureError),
}

impl AddError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            AddError::Malformed(_)
            | AddError::BadCheckpoint(_)
            | AddError::OldLargerThanNew { .. } => 400,
            AddError::UnknownOrigin(_) => 404,
            AddError::NotSignedByLog { .. } => 403,
            AddError::WrongOldSize { .. } | AddError::Fork { .. } => 409,
            AddError::BadProof { .. } => 422,
            AddError::State(_) | AddError::Sign(_) => 500,
        }
    }
}

/// A witness: its key, the logs it follows, and their state.
#[derive(Debug)]
pub struct Witness {
    signer: CosignatureSigner,
    logs: Vec<LogKey>,
    state: Mutex<WitnessState>,
}

impl Witness {
    /// A witness over an opened state.
    pub fn new(signer: CosignatureSigner, logs: Vec<LogKey>, state: WitnessState) -> Witness {
        Witness {
            signer,
            logs,
            state: Mutex::new(state),
        }
    }

    /// The witness's verifier key.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.signer.verifier()
    }

    /// The size this witness cosigned last for `origin` (0 if none), and
    /// whether it follows that log at all.
    pub fn size(&self, origin: &str) -> Option<u64> {
        self.logs.iter().find(|l| l.origin == origin)?;
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Some(state.latest(origin).map_or(0, |l| l.checkpoint.size))
    }

    /// The latest cosigned checkpoint note of `origin`, if any.
    pub fn latest_note(&self, origin: &str) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.latest(origin).map(|l| l.note.clone())
    }

    /// Handles one `add-checkpoint` body at time `now` (Unix seconds):
    /// the cosignature line(s) to answer with, or why not.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddError> {
        let request = AddCheckpoint::parse(body)?;
        let parsed = SignedNote::parse(&request.note)
            .map_err(|e| AddError::BadCheckpoint(CheckpointError::Note(e)))?;
        let checkpoint = Checkpoint::from_text(parsed.text()).map_err(AddError::BadCheckpoint)?;
        let log = self
            .logs
            .iter()
            .find(|l| l.origin == checkpoint.origin)
            .ok_or_else(|| AddError::UnknownOrigin(checkpoint.origin.clone()))?;
        parsed
            .verify(std::slice::from_ref(&log.verifier))
            .map_err(|error| AddError::NotSignedByLog {
                origin: log.origin.clone(),
                error,
            })?;
        let (old, size) = (request.old_size, checkpoint.size);
        if old > size {
            return Err(AddError::OldLargerThanNew { old, size });
        }
        // Checked and stored under one lock: two requests can never both
        // pass the check against the same old state (the spec's rollback race).
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let latest = state.latest(&log.origin);
        let ours = latest.map_or(0, |l| l.checkpoint.size);
        if old != ours {
            return Err(AddError::WrongOldSize { old, size: ours });
        }
        if let Some(latest) = latest {
            if old == size {
                if latest.checkpoint.root != checkpoint.root {
                    tracing::warn!(origin = %log.origin, size, "refused a fork: another root for a size already cosigned");
                    return Err(AddError::Fork { size });
                }
            } else {
                verify_consistency(old, size, &latest.checkpoint.root, &checkpoint.root, &request.proof)
                    .map_err(|error| {
                        tracing::warn!(origin = %log.origin, old, size, %error, "refused a checkpoint that does not extend the cosigned one");
                        AddError::BadProof { old, size, error }
                    })?;
            }
        }
        let line = self.signer.cosign(parsed.text(), now)?;
        let note = String::from_utf8_lossy(&request.note).into_owned();
        state.store(Latest { checkpoint, note })?;
        Ok(line)
    }
}

#[cfg(test)]
#[path = "witness_tests.rs"]
mod tests;
