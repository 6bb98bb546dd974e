//! The witness's memory: for each followed log, the latest checkpoint it
//! cosigned, as the signed note the log sent. One file per log under
//! `<state dir>/logs/` (named by the SHA-256 of the origin, so no origin can
//! name a path), replaced atomically and fsynced before the witness answers
//! (`shipgate_fs::write_atomic`), so a cosignature is never given for a state
//! a crash could forget. A lock file keeps a second witness process off the
//! same directory: two processes would each check against their own memory.
//!
//! On start every file is verified again with the log's key; a file that
//! does not verify stops the witness (it must never restart from zero and
//! cosign a fork because its memory was damaged).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use shipgate_log::{Checkpoint, CheckpointError};

use crate::logs::LogKey;

/// Largest state file read (a note is at most 128 KiB).
const MAX_STATE_FILE_BYTES: u64 = 256 << 10;

/// The state directory could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Another witness process holds the state directory.
    #[error("{0} is locked by another running witness")]
    Locked(PathBuf),
    /// A stored checkpoint no longer verifies with the log's key.
    #[error("{path}: the stored checkpoint of {origin:?} does not verify: {error}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The log.
        origin: String,
        /// Why.
        error: CheckpointError,
    },
}

/// The latest cosigned checkpoint of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The note the log signed it in (as received).
    pub note: String,
}

/// The per-log state, in memory and on disk.
#[derive(Debug)]
pub struct WitnessState {
    dir: PathBuf,
    latest: HashMap<String, Latest>,
    _lock: File,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

impl WitnessState {
    /// Opens (creating) `dir`, locks it and loads the state of `logs`.
    pub fn open(dir: &Path, logs: &[LogKey]) -> Result<WitnessState, StateError> {
        let logs_dir = dir.join("logs");
        std::fs::create_dir_all(&logs_dir).map_err(io_err(&logs_dir))?;
        let lock_path = dir.join("witness.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        lock.try_lock()
            .map_err(|_| StateError::Locked(dir.to_owned()))?;
        let mut latest = HashMap::new();
        for log in logs {
            let path = file_for(dir, &log.origin);
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let mut note = String::new();
            file.take(MAX_STATE_FILE_BYTES)
                .read_to_string(&mut note)
                .map_err(io_err(&path))?;
            let checkpoint = Checkpoint::open(note.as_bytes(), &log.origin, &log.verifier)
                .map_err(|error| StateError::Corrupt {
                    path: path.clone(),
                    origin: log.origin.clone(),
                    error,
                })?;
            latest.insert(log.origin.clone(), Latest { checkpoint, note });
        }
        Ok(WitnessState {
            dir: dir.to_owned(),
            latest,
            _lock: lock,
        })
    }

    /// The latest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Option<&Latest> {
        self.latest.get(origin)
    }

    /// Records `latest` for its origin: on disk first (durably), then in memory.
    pub fn store(&mut self, latest: Latest) -> Result<(), StateError> {
        let path = file_for(&self.dir, &latest.checkpoint.origin);
        shipgate_fs::write_atomic(&path, latest.note.as_bytes()).map_err(io_err(&path))?;
        self.latest.insert(latest.checkpoint.origin.clone(), latest);
        Ok(())
    }
}

/// `<dir>/logs/<hex SHA-256 of the origin>.checkpoint`.
fn file_for(dir: &Path, origin: &str) -> PathBuf {
    let name = hex::encode(Sha256::digest(origin.as_bytes()));
    dir.join("logs").join(format!("{name}.checkpoint"))
}

#[cfg(test)]
mod tests {
    use shipgate_log::{Hash, NoteSigner};

    use super::*;

    #[test]
    fn survives_reopening_refuses_a_second_process_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let signer = NoteSigner::from_ed25519_seed("gate.test", &[1; 32]).unwrap();
        let log = LogKey {
            origin: "gate.test".into(),
            verifier: signer.verifier(),
        };
        let checkpoint = Checkpoint::new("gate.test", 3, Hash([5; 32]));
        let note = checkpoint.sign(&signer).unwrap();
        {
            let mut state = WitnessState::open(dir.path(), std::slice::from_ref(&log)).unwrap();
            assert!(state.latest("gate.test").is_none());
            assert!(matches!(
                WitnessState::open(dir.path(), std::slice::from_ref(&log)),
                Err(StateError::Locked(_))
            ));
            state
                .store(Latest {
                    checkpoint: checkpoint.clone(),
                    note: note.clone(),
                })
                .unwrap();
        }
        let state = WitnessState::open(dir.path(), std::slice::from_ref(&log)).unwrap();
        assert_eq!(state.latest("gate.test").unwrap().checkpoint, checkpoint);
        drop(state);
        // A damaged file stops the witness instead of starting from zero.
        let path = file_for(dir.path(), "gate.test");
        std::fs::write(&path, note.replace('3', "4")).unwrap();
        assert!(matches!(
            WitnessState::open(dir.path(), std::slice::from_ref(&log)),
            Err(StateError::Corrupt { .. })
        ));
    }
}
