//! Replacing a file so that a crash, a concurrent reader or a planted link
//! can never see or cause anything but the old file or the complete new one.
//!
//! Every shipgate file that is written (saved checkpoints, known gates,
//! keys, manifests and signatures, fetched releases' manifests, dev gate
//! files) goes through [`write_atomic`] or [`write_atomic_with`]:
//!
//! 1. a temporary file with a random name is created *exclusively*
//!    (`O_CREAT | O_EXCL`) in the target's own directory, so a symlink
//!    planted under a guessable temporary name is never followed, and the
//!    final rename stays on one file system;
//! 2. the contents are written and the file is `fsync`ed;
//! 3. it is renamed over the target (a rename replaces a directory entry;
//!    it never writes through a link), and the directory is `fsync`ed so
//!    the rename itself survives a crash.
//!
//! A target that is a symbolic link is refused: replacing the link would
//! silently detach whatever it pointed at, and writing through it would
//! write somewhere the caller never named.

use std::fs::{File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// Mode of a new file written by [`write_atomic`]: readable by everyone
/// (what `std::fs::write` gives under the usual umask).
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of a file holding a secret or a user's private state.
pub const PRIVATE_MODE: u32 = 0o600;

/// The mode a replaced file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exactly this mode (set before the file appears under its name).
    Exact(u32),
    /// The existing file's mode, or this one for a new file.
    KeepOr(u32),
}

/// Writes `bytes` to `path` atomically and durably (see the crate docs).
/// A new file gets mode 0644, an existing one keeps its mode.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, Mode::KeepOr(PUBLIC_MODE), |file| {
        file.write_all(bytes)
    })
}

/// Writes `bytes` to `path` atomically and durably with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, Mode::Exact(PRIVATE_MODE), |file| {
        file.write_all(bytes)
    })
}

/// Replaces `path` with what `fill` writes into a fresh temporary file in
/// the same directory. The error names no path: callers add the target's.
pub fn write_atomic_with(
    path: &Path,
    mode: Mode,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let existing = refuse_symlink(path)?;
    let dir = parent(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "names no file"))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        // Owner-only until the final mode is set below, so a secret is
        // never readable by others, not even for a moment.
        .permissions(Permissions::from_mode(PRIVATE_MODE))
        .tempfile_in(dir)
        // tempfile's error names its random temporary file, which means
        // nothing to the user: say what is wrong with the directory.
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => io::Error::new(
                io::ErrorKind::NotFound,
                format!("the directory {} does not exist", dir.display()),
            ),
            kind => io::Error::new(
                kind,
                format!("cannot create a file in {}: {kind}", dir.display()),
            ),
        })?;
    fill(temp.as_file_mut())?;
    let mode = match (mode, existing) {
        (Mode::Exact(mode), _) => mode,
        (Mode::KeepOr(_), Some(mode)) => mode,
        (Mode::KeepOr(mode), None) => mode,
    };
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    // Checked again right before the rename: a link planted meanwhile is
    // refused too (the rename itself would replace it, not follow it).
    refuse_symlink(path)?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// `fsync`s a directory, so entries created or renamed in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory a path's entry lives in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Errors when `path` is a symbolic link; else the existing file's mode.
fn refuse_symlink(path: &Path) -> io::Result<Option<u32>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a symbolic link; refusing to replace it (remove the link, or name the file it points to)",
        )),
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory",
        )),
        Ok(meta) => Ok(Some(meta.permissions().mode() & 0o7777)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o640, "an existing file keeps its mode");
        write_private(&path, b"secret").unwrap();
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.toml"]);
    }

    #[test]
    fn a_symlink_at_the_target_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = dir.path().join("known_gates.toml");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = write_atomic(&link, b"evil").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // A dangling link (to a file an attacker wants created) too.
        let dangling = dir.path().join("cp.txt");
        let elsewhere = dir.path().join("created-elsewhere");
        std::os::unix::fs::symlink(&elsewhere, &dangling).unwrap();
        assert!(write_private(&dangling, b"evil").is_err());
        assert!(!elsewhere.exists());
    }

    #[test]
    fn symlinks_planted_at_temporary_names_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        // Every name the old code used, and a spread of names shaped like
        // the new one: none is written through.
        let path = dir.path().join("log_checkpoints.toml");
        for name in [
            "log_checkpoints.toml.tmp",
            ".log_checkpoints.toml.tmp",
            ".log_checkpoints.toml..tmp",
            ".shipgate-tmp",
        ] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        for _ in 0..20 {
            write_atomic(&path, b"new").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, Mode::KeepOr(PUBLIC_MODE), |_| {
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_directory_or_a_missing_parent_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(dir.path(), b"x").is_err());
        assert!(write_atomic(&dir.path().join("no/such/dir/f"), b"x").is_err());
    }
}
