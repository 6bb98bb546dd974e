//! Files only the gate's user may read: the data directory (the database
//! holds hashed tokens and sealed TOTP secrets, the blob store holds staged
//! artifacts that are private to maintainers), the gate key, the secrets key,
//! OIDC key directories and registry credentials.
//!
//! The gate creates what it owns private (directories 0700, files 0600) and
//! refuses to start on anything secret that other users can read or write,
//! naming the file and the `chmod` that fixes it: a silently loaded 0644 key
//! is a key every local user holds.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode bits that give group or other users any access.
const SHARED_BITS: u32 = 0o077;

/// A secret file or directory is open to other users, or unreadable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateFileError {
    /// Group or other users have access.
    #[error(
        "{what} {path} is accessible to other users (mode {mode:04o}); fix with `chmod {fix} {path}`"
    )]
    TooOpen {
        /// What the file is (e.g. `gate key`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode to set (`600` or `700`).
        fix: &'static str,
    },
    /// The file could not be inspected or created.
    #[error("{what} {path}: {source}")]
    Io {
        /// What the file is.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PrivateFileError {
    let path = path.to_owned();
    move |source| PrivateFileError::Io { what, path, source }
}

/// Refuses a secret file (followed through symlinks) that group or other
/// users may access.
pub fn check_private_file(path: &Path, what: &'static str) -> Result<(), PrivateFileError> {
    check(path, what, "600")
}

/// Refuses a directory of secrets that group or other users may access.
pub fn check_private_dir(path: &Path, what: &'static str) -> Result<(), PrivateFileError> {
    check(path, what, "700")
}

fn check(path: &Path, what: &'static str, fix: &'static str) -> Result<(), PrivateFileError> {
    let meta = std::fs::metadata(path).map_err(io(what, path))?;
    let mode = meta.mode() & 0o7777;
    if mode & SHARED_BITS != 0 {
        return Err(PrivateFileError::TooOpen {
            what,
            path: path.to_owned(),
            mode,
            fix,
        });
    }
    Ok(())
}

/// Refuses a key directory, or any file in it, that group or other users
/// may access. A directory that does not exist passes (the caller creates
/// it private).
pub fn check_private_key_dir(dir: &Path, what: &'static str) -> Result<(), PrivateFileError> {
    if !dir.exists() {
        return Ok(());
    }
    check_private_dir(dir, what)?;
    for entry in std::fs::read_dir(dir).map_err(io(what, dir))? {
        let path = entry.map_err(io(what, dir))?.path();
        if path.is_file() {
            check_private_file(&path, what)?;
        }
    }
    Ok(())
}

/// Creates `path` (and missing parents) with mode 0700 when it does not
/// exist; then refuses it when other users may access it.
pub fn ensure_private_dir(path: &Path, what: &'static str) -> Result<(), PrivateFileError> {
    if !path.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(io(what, path))?;
    }
    check_private_dir(path, what)
}

/// Creates a new file with mode 0600; fails when it exists (never follows
/// or replaces what is there).
pub fn create_new_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Makes an existing file that the gate itself created (the database and
/// its `-wal`/`-shm` companions) mode 0600; creates an empty 0600 file when
/// `create` and it does not exist, so that SQLite, which gives its journal
/// files the database file's mode, never makes a readable one. Returns true
/// when an existing file was tightened.
pub fn make_private(
    path: &Path,
    create: bool,
    what: &'static str,
) -> Result<bool, PrivateFileError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if meta.file_type().is_symlink() {
                return Err(PrivateFileError::Io {
                    what,
                    path: path.to_owned(),
                    source: std::io::Error::other("is a symbolic link; refusing to follow it"),
                });
            }
            if meta.mode() & SHARED_BITS == 0 {
                return Ok(false);
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(io(what, path))?;
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if create {
                match create_new_private(path) {
                    Ok(_) => {}
                    // Created by a racing process: check it like any other.
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                        return make_private(path, false, what);
                    }
                    Err(err) => return Err(io(what, path)(err)),
                }
            }
            Ok(false)
        }
        Err(err) => Err(io(what, path)(err)),
    }
}

/// Flushes a directory's entries (after creating a file in it) with
/// [`shipgate_fs::sync_dir`]; errors are ignored because some filesystems
/// refuse to sync directories.
pub fn sync_dir(dir: &Path) {
    let _ = shipgate_fs::sync_dir(dir);
}

/// A temporary directory only this user may enter, as a data directory must
/// be (tests).
#[cfg(test)]
pub(crate) fn private_tempdir() -> tempfile::TempDir {
    let mut builder = tempfile::Builder::new();
    builder.permissions(std::fs::Permissions::from_mode(0o700));
    match builder.tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("cannot create a temporary directory: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_are_created_0700_and_open_ones_refused() {
        let root = crate::private_files::private_tempdir();
        let data = root.path().join("a/data");
        ensure_private_dir(&data, "data directory").unwrap();
        assert_eq!(mode(&data), 0o700);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&data, "data directory")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data directory"), "{err}");
        assert!(
            err.contains(&format!("chmod 700 {}", data.display())),
            "{err}"
        );
    }

    #[test]
    fn files_readable_by_others_are_refused_with_the_fix() {
        let dir = crate::private_files::private_tempdir();
        let key = dir.path().join("gate.key");
        std::fs::write(&key, "k").unwrap();
        for open in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(open)).unwrap();
            let err = check_private_file(&key, "gate key")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("chmod 600 {}", key.display())),
                "{err}"
            );
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_private_file(&key, "gate key").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        check_private_file(&key, "gate key").unwrap();
    }

    #[test]
    fn gate_owned_files_are_tightened_or_created_private() {
        let dir = crate::private_files::private_tempdir();
        let db = dir.path().join("gate.db");
        assert!(!make_private(&db, true, "database").unwrap());
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(make_private(&db, true, "database").unwrap());
        assert_eq!(mode(&db), 0o600);
        assert!(!make_private(&dir.path().join("absent"), false, "x").unwrap());
        assert!(!dir.path().join("absent").exists());
        std::os::unix::fs::symlink(&db, dir.path().join("link")).unwrap();
        assert!(make_private(&dir.path().join("link"), true, "x").is_err());
    }
}
