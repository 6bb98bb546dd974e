//! Checkpoints a client keeps, so the next look at a gate's log can check
//! that it only grew: per gate in `log_checkpoints.toml` in the user config
//! directory (beside `known_gates.toml`), or in a file the user names
//! (`shipgate log verify --checkpoint FILE`, the raw signed note).
//!
//! ```toml
//! [[gate]]
//! url = "https://gate.example.com"
//! checkpoint = """
//! gate.example.com
//! 42
//! <base64 root>
//!
//! — gate.example.com <base64 signature>
//! """
//! ```
//!
//! Files are replaced atomically and durably (`shipgate_fs`), so a crash
//! never leaves half a checkpoint, and never with an older one: updates take
//! an exclusive lock on the directory, re-read the file under it and keep
//! the larger checkpoint, so two concurrent fetches cannot move it back. A saved checkpoint is verified again with the gate key every
//! time it is read: editing the file cannot make a client accept a fork.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::user_config::{UserConfigError, normalize_url};

/// File name of the remembered checkpoints, in the user config directory.
pub const SAVED_CHECKPOINTS_FILE: &str = "log_checkpoints.toml";

/// Largest checkpoint file read (a note is at most 128 KiB; the per-gate
/// file holds one per gate).
const MAX_FILE_BYTES: u64 = 16 << 20;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedFile {
    #[serde(default)]
    gate: Vec<SavedGate>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedGate {
    url: String,
    checkpoint: String,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> UserConfigError + '_ {
    move |source| UserConfigError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a file of at most [`MAX_FILE_BYTES`]; `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, UserConfigError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(path)(err)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(UserConfigError::Invalid {
            path: path.to_owned(),
            message: format!("larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| UserConfigError::Invalid {
            path: path.to_owned(),
            message: "not UTF-8 text".into(),
        })
}

/// Replaces `path` with `text` atomically and durably (see `shipgate_fs`).
fn replace(path: &Path, text: &str) -> Result<(), UserConfigError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(path))?;
    }
    shipgate_fs::write_atomic(path, text.as_bytes()).map_err(io_error(path))
}

/// An exclusive lock on the directory holding `path`, held until dropped.
/// Two clients updating the same checkpoint take turns: each re-reads the
/// file under the lock, so neither replaces a newer checkpoint with the
/// older one it fetched first. The directory, not the file, is locked,
/// because the file is replaced by a rename (a new inode) on every write.
fn lock_dir_of(path: &Path) -> Result<std::fs::File, UserConfigError> {
    let dir = shipgate_fs::parent(path);
    std::fs::create_dir_all(dir).map_err(io_error(path))?;
    let handle = std::fs::File::open(dir).map_err(io_error(dir))?;
    handle.lock().map_err(io_error(dir))?;
    Ok(handle)
}

/// The tree size a checkpoint note states (its second line), if readable.
/// Only used to order two notes; both are verified with the gate key
/// whenever they are relied on.
fn note_size(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

/// True when `new` may replace `old`: it states a larger tree, or `old` is
/// unreadable. A same-size or smaller note never replaces a saved one.
fn moves_forward(old: Option<&str>, new: &str) -> bool {
    match (old.map(note_size), note_size(new)) {
        (None, _) | (Some(None), _) => true,
        (Some(Some(old)), Some(new)) => new > old,
        (Some(Some(_)), None) => false,
    }
}

fn read_saved(path: &Path) -> Result<SavedFile, UserConfigError> {
    match read_optional(path)? {
        None => Ok(SavedFile::default()),
        Some(text) => toml::from_str(&text).map_err(|e| UserConfigError::Invalid {
            path: path.to_owned(),
            message: e.message().to_owned(),
        }),
    }
}

/// The checkpoint note remembered for `gate_url` in `dir`, if any.
pub fn remembered(dir: &Path, gate_url: &str) -> Result<Option<String>, UserConfigError> {
    let wanted = normalize_url(gate_url);
    Ok(read_saved(&dir.join(SAVED_CHECKPOINTS_FILE))?
        .gate
        .into_iter()
        .find(|g| normalize_url(&g.url) == wanted)
        .map(|g| g.checkpoint))
}

/// Remembers `note` as the latest checkpoint of `gate_url`; returns the
/// file. A checkpoint is never moved backwards: when the file already holds
/// one of the same or a larger size (another client fetched a newer one
/// meanwhile), that one is kept.
pub fn remember(dir: &Path, gate_url: &str, note: &str) -> Result<PathBuf, UserConfigError> {
    let path = dir.join(SAVED_CHECKPOINTS_FILE);
    let url = normalize_url(gate_url);
    let _lock = lock_dir_of(&path)?;
    let mut file = read_saved(&path)?;
    let old = file.gate.iter().find(|g| normalize_url(&g.url) == url);
    if !moves_forward(old.map(|g| g.checkpoint.as_str()), note) {
        return Ok(path);
    }
    file.gate.retain(|g| normalize_url(&g.url) != url);
    file.gate.push(SavedGate {
        url,
        checkpoint: note.to_owned(),
    });
    let text = toml::to_string(&file).map_err(|e| UserConfigError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    replace(&path, &text)?;
    Ok(path)
}

/// A checkpoint note saved in its own file; `None` when the file does not
/// exist yet (the first `log verify --checkpoint FILE`).
pub fn read_note_file(path: &Path) -> Result<Option<String>, UserConfigError> {
    read_optional(path)
}

/// Saves a checkpoint note to its own file, unless the file already holds
/// one of the same or a larger size (never moved backwards, as above).
pub fn write_note_file(path: &Path, note: &str) -> Result<(), UserConfigError> {
    let _lock = lock_dir_of(path)?;
    if moves_forward(read_optional(path)?.as_deref(), note) {
        replace(path, note)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "gate.example.com\n3\nAAAA\n\n\u{2014} gate.example.com abcd\n";

    fn note(size: u64) -> String {
        format!("gate.example.com\n{size}\nAAAA\n\n\u{2014} gate.example.com abcd\n")
    }

    #[test]
    fn remembers_one_checkpoint_per_gate() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(remembered(dir.path(), "http://a").unwrap(), None);
        remember(dir.path(), "http://a/", NOTE).unwrap();
        remember(dir.path(), "http://b", "other\n").unwrap();
        // Unreadable notes are replaced by readable ones.
        remember(dir.path(), "http://b", "other\n").unwrap();
        assert_eq!(
            remembered(dir.path(), "http://a").unwrap().as_deref(),
            Some(NOTE)
        );
        remember(dir.path(), "http://a", &note(4)).unwrap();
        assert_eq!(
            remembered(dir.path(), "http://a").unwrap().as_deref(),
            Some(note(4).as_str())
        );
        assert_eq!(
            remembered(dir.path(), "http://b").unwrap().as_deref(),
            Some("other\n")
        );
        std::fs::write(dir.path().join(SAVED_CHECKPOINTS_FILE), "gate = 5").unwrap();
        assert!(matches!(
            remembered(dir.path(), "http://a"),
            Err(UserConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn a_remembered_checkpoint_never_moves_backwards() {
        let dir = tempfile::tempdir().unwrap();
        remember(dir.path(), "http://a", &note(10)).unwrap();
        remember(dir.path(), "http://a", &note(7)).unwrap();
        assert_eq!(
            remembered(dir.path(), "http://a").unwrap(),
            Some(note(10)),
            "an older checkpoint must not replace a newer one"
        );
        let file = dir.path().join("cp.txt");
        write_note_file(&file, &note(10)).unwrap();
        write_note_file(&file, &note(9)).unwrap();
        assert_eq!(read_note_file(&file).unwrap(), Some(note(10)));
        write_note_file(&file, &note(11)).unwrap();
        assert_eq!(read_note_file(&file).unwrap(), Some(note(11)));
    }

    /// Many clients remember checkpoints of one gate at once, each with its
    /// own size, in whatever order the threads run: the largest survives,
    /// and every other gate's entry too.
    #[test]
    fn concurrent_updates_keep_the_largest_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        remember(dir.path(), "http://other", &note(1)).unwrap();
        let sizes: Vec<u64> = (1..=24).map(|i| (i * 7919) % 101).collect();
        let largest = *sizes.iter().max().unwrap();
        std::thread::scope(|scope| {
            for &size in &sizes {
                let dir = dir.path();
                scope.spawn(move || remember(dir, "http://a", &note(size)).unwrap());
                scope.spawn(move || remember(dir, "http://b/", &note(size)).unwrap());
            }
        });
        for gate in ["http://a", "http://b"] {
            assert_eq!(remembered(dir.path(), gate).unwrap(), Some(note(largest)));
        }
        assert_eq!(
            remembered(dir.path(), "http://other").unwrap(),
            Some(note(1))
        );
    }

    #[test]
    fn note_files_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cp.txt");
        assert_eq!(read_note_file(&path).unwrap(), None);
        write_note_file(&path, NOTE).unwrap();
        assert_eq!(read_note_file(&path).unwrap().as_deref(), Some(NOTE));
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(read_note_file(&path).is_err());
    }
}
