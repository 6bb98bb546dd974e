//! Walks a module directory without following symlinks, applying the
//! exclusions in [`crate::exclude`] and refusing anything that cannot be
//! recorded safely (special files, symlinks out of the module, names that
//! are not UTF-8 or not valid manifest paths).

use std::io;
use std::path::{Path, PathBuf};

use crate::exclude::{is_excluded_dir, is_excluded_file};
use crate::limits::MAX_ENTRIES;
use crate::manifest::{LinkTarget, PathError, RelPath};

/// One file or symlink found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskEntry {
    /// Path relative to the module root.
    pub path: RelPath,
    /// What it is.
    pub kind: DiskKind,
}

/// What a [`DiskEntry`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskKind {
    /// A regular file and its size at walk time.
    File {
        /// Size from the directory walk (the hash reads the real size).
        size: u64,
    },
    /// A symlink and its target.
    Symlink {
        /// The stored target.
        target: LinkTarget,
    },
}

/// A module tree that cannot be walked: the path and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", shown(path))]
pub struct WalkError {
    /// The offending path on disk.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: WalkErrorKind,
}

/// A path from disk as an error shows it: control characters (a newline
/// that would forge a line, `ESC` that would drive the terminal) written as
/// escapes. The file names come from whoever wrote the directory.
fn shown(path: &Path) -> String {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What is wrong with a path in the tree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalkErrorKind {
    /// The module directory does not exist.
    #[error("module directory does not exist")]
    NoSuchDirectory,
    /// The module path is not a directory.
    #[error("not a directory")]
    NotADirectory,
    /// A directory or file that cannot be read.
    #[error("cannot read: {0}")]
    Unreadable(io::Error),
    /// A FIFO, socket or device.
    #[error("is a {0}, which a module may not contain")]
    SpecialFile(&'static str),
    /// A symlink whose target leaves the module (or is absolute).
    #[error("symlink points to '{0}', outside the module")]
    SymlinkEscapes(String),
    /// A name that is not UTF-8.
    #[error("file name is not valid UTF-8")]
    NotUtf8,
    /// A name or target that is not a valid manifest path.
    #[error("{0}")]
    BadPath(PathError),
    /// More than [`MAX_ENTRIES`] files.
    #[error("module has more than {MAX_ENTRIES} files")]
    TooManyFiles,
}

fn walk_error(path: impl Into<PathBuf>, kind: WalkErrorKind) -> WalkError {
    WalkError {
        path: path.into(),
        kind,
    }
}

/// Lists every file and symlink under `root`, sorted by path bytes.
pub fn walk_module(root: &Path) -> Result<Vec<DiskEntry>, WalkError> {
    walk_module_sorted(root)?.collect()
}

/// Orders directory entries so that a depth-first walk yields full paths
/// in byte order: a directory compares as its name followed by `/` (as git
/// orders tree entries), so `a-b` and `a.txt` come before `a/x`.
fn walk_order(a: &walkdir::DirEntry, b: &walkdir::DirEntry) -> std::cmp::Ordering {
    use std::os::unix::ffi::OsStrExt as _;
    fn key(e: &walkdir::DirEntry) -> (&[u8], Option<&'static u8>) {
        (
            e.file_name().as_bytes(),
            e.file_type().is_dir().then_some(&b'/'),
        )
    }
    let ((a_name, a_slash), (b_name, b_slash)) = (key(a), key(b));
    a_name
        .iter()
        .chain(a_slash)
        .cmp(b_name.iter().chain(b_slash))
}

/// Streams every file and symlink under `root` in path byte order (the
/// manifest order), so a tree can be compared with a manifest without
/// holding the whole listing in memory.
pub fn walk_module_sorted(
    root: &Path,
) -> Result<impl Iterator<Item = Result<DiskEntry, WalkError>> + '_, WalkError> {
    let meta = std::fs::metadata(root).map_err(|e| {
        let kind = if e.kind() == io::ErrorKind::NotFound {
            WalkErrorKind::NoSuchDirectory
        } else {
            WalkErrorKind::Unreadable(e)
        };
        walk_error(root, kind)
    })?;
    if !meta.is_dir() {
        return Err(walk_error(root, WalkErrorKind::NotADirectory));
    }
    let canonical_root =
        std::fs::canonicalize(root).map_err(|e| walk_error(root, WalkErrorKind::Unreadable(e)))?;

    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by(walk_order)
        .into_iter()
        .filter_entry(move |entry| {
            !(entry.file_type().is_dir()
                && relative(root, entry.path())
                    .is_some_and(|rel| is_excluded_dir(&rel, &entry.file_name().to_string_lossy())))
        });
    let mut count = 0usize;
    let mut failed = false;
    Ok(walker.filter_map(move |item| {
        if failed {
            return None;
        }
        let result = disk_entry(root, &canonical_root, item, &mut count).transpose();
        failed = matches!(result, Some(Err(_)));
        result
    }))
}

/// One walked item as a [`DiskEntry`]; `Ok(None)` for directories and
/// excluded files.
fn disk_entry(
    root: &Path,
    canonical_root: &Path,
    item: walkdir::Result<walkdir::DirEntry>,
    count: &mut usize,
) -> Result<Option<DiskEntry>, WalkError> {
    let entry = item.map_err(|e| {
        let path = e
            .path()
            .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
        let io = e
            .into_io_error()
            .unwrap_or_else(|| io::Error::other("filesystem loop"));
        walk_error(path, WalkErrorKind::Unreadable(io))
    })?;
    let file_type = entry.file_type();
    if file_type.is_dir() {
        return Ok(None);
    }
    let disk_path = entry.path();
    let rel =
        relative(root, disk_path).ok_or_else(|| walk_error(disk_path, WalkErrorKind::NotUtf8))?;
    let name = entry
        .file_name()
        .to_str()
        .ok_or_else(|| walk_error(disk_path, WalkErrorKind::NotUtf8))?;
    if is_excluded_file(&rel, name) {
        return Ok(None);
    }
    let path = RelPath::new(rel).map_err(|e| walk_error(disk_path, WalkErrorKind::BadPath(e)))?;
    let kind = if file_type.is_file() {
        let meta = entry
            .metadata()
            .map_err(|e| walk_error(disk_path, WalkErrorKind::Unreadable(io::Error::other(e))))?;
        DiskKind::File { size: meta.len() }
    } else if file_type.is_symlink() {
        let target = read_link_inside(canonical_root, disk_path, &path)?;
        DiskKind::Symlink { target }
    } else {
        return Err(walk_error(
            disk_path,
            WalkErrorKind::SpecialFile(special_kind(&file_type)),
        ));
    };
    *count += 1;
    if *count > MAX_ENTRIES {
        return Err(walk_error(root, WalkErrorKind::TooManyFiles));
    }
    Ok(Some(DiskEntry { path, kind }))
}

/// `path` relative to `root` as a `/`-joined UTF-8 string.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Reads a symlink's target and checks it stays inside the module, both
/// lexically and, when the target exists, after resolving every link on the
/// way (a chain like `l -> d/..` with `d -> .` escapes only physically).
fn read_link_inside(
    canonical_root: &Path,
    disk_path: &Path,
    path: &RelPath,
) -> Result<LinkTarget, WalkError> {
    let raw = std::fs::read_link(disk_path)
        .map_err(|e| walk_error(disk_path, WalkErrorKind::Unreadable(e)))?;
    let text = raw
        .to_str()
        .ok_or_else(|| walk_error(disk_path, WalkErrorKind::NotUtf8))?;
    let target = LinkTarget::new(text).map_err(|e| match e {
        PathError::Absolute(t) => walk_error(disk_path, WalkErrorKind::SymlinkEscapes(t)),
        other => walk_error(disk_path, WalkErrorKind::BadPath(other)),
    })?;
    target
        .resolve_from(path)
        .map_err(|_| walk_error(disk_path, WalkErrorKind::SymlinkEscapes(text.to_string())))?;
    match std::fs::canonicalize(disk_path) {
        Ok(resolved) if !resolved.starts_with(canonical_root) => Err(walk_error(
            disk_path,
            WalkErrorKind::SymlinkEscapes(text.to_string()),
        )),
        // A dangling link is recorded as it is; it cannot reach anything.
        _ => Ok(target),
    }
}

fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn paths(entries: &[DiskEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn lists_files_and_inside_symlinks_sorted_and_skips_exclusions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/__pycache__")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("node_modules/.cache")).unwrap();
        std::fs::write(root.join("a/__pycache__/x.pyc"), b"x").unwrap();
        std::fs::write(root.join(".git/HEAD"), b"x").unwrap();
        std::fs::write(root.join("node_modules/.cache/c"), b"x").unwrap();
        std::fs::write(root.join("node_modules/kept.js"), b"x").unwrap();
        std::fs::write(root.join("a.txt"), b"hello").unwrap();
        std::fs::write(root.join("a/b.txt"), b"b").unwrap();
        std::fs::write(root.join("shipgate.manifest"), b"m").unwrap();
        std::fs::write(root.join("a/shipgate.manifest"), b"nested").unwrap();
        symlink("../a.txt", root.join("a/link")).unwrap();
        let entries = walk_module(root).unwrap();
        assert_eq!(
            paths(&entries),
            [
                "a.txt",
                "a/b.txt",
                "a/link",
                "a/shipgate.manifest",
                "node_modules/kept.js"
            ]
        );
        assert_eq!(entries[0].kind, DiskKind::File { size: 5 });
    }

    #[test]
    fn walks_in_manifest_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "a/x", "a-b", "a.txt", "a b", "ab", "a/y/z", "a/y.z", "A", "_", "a0",
        ] {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let walked: Vec<String> = walk_module_sorted(root)
            .unwrap()
            .map(|e| e.unwrap().path.to_string())
            .collect();
        let mut sorted = walked.clone();
        sorted.sort();
        assert_eq!(walked, sorted);
        assert_eq!(walked.len(), 10);
    }

    #[test]
    fn refuses_symlinks_that_leave_the_module() {
        for target in ["../outside", "/etc/passwd", "d/.."] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("m");
            std::fs::create_dir(&root).unwrap();
            symlink(".", root.join("d")).unwrap();
            symlink(target, root.join("l")).unwrap();
            let err = walk_module(&root).unwrap_err();
            assert!(
                matches!(err.kind, WalkErrorKind::SymlinkEscapes(_)),
                "{target}: {err}"
            );
            assert!(err.path.ends_with("l"), "{target}: {err}");
        }
    }

    #[test]
    fn refuses_fifos_and_missing_roots() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = walk_module(dir.path()).unwrap_err();
        assert!(
            matches!(err.kind, WalkErrorKind::SpecialFile("FIFO")),
            "{err}"
        );
        let err = walk_module(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err.kind, WalkErrorKind::NoSuchDirectory));
    }
}
