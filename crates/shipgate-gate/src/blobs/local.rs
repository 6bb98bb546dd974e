//! A blob as a file on this machine.

use std::path::{Path, PathBuf};

/// A blob as a local file. For a directory store it is the stored file
/// itself; for a remote store it is a downloaded copy that is deleted when
/// this value is dropped.
#[derive(Debug)]
pub struct LocalBlob {
    path: PathBuf,
    temporary: bool,
}

impl LocalBlob {
    /// The stored file itself (never deleted by this value).
    pub fn stored(path: PathBuf) -> Self {
        Self {
            path,
            temporary: false,
        }
    }

    /// A copy that this value deletes when dropped.
    pub fn temporary(path: PathBuf) -> Self {
        Self {
            path,
            temporary: true,
        }
    }

    /// Where the bytes are.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalBlob {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
