//! A module tree against a manifest: build a manifest from disk, and diff
//! a tree against a manifest file by file.

use std::io;
use std::path::{Path, PathBuf};

use crate::hash::{FileHash, Progress, hash_indexed, hash_while_producing};
use crate::manifest::{
    Entry, EntryKind, Manifest, ManifestError, ModuleName, ModuleVersion, RelPath,
};
use crate::walk::{DiskEntry, DiskKind, WalkError, walk_module, walk_module_sorted};

/// A tree that could not be turned into a manifest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// Walking failed (missing directory, special file, symlink escape, ...).
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A file could not be read while hashing.
    #[error("{}: cannot read: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The entries do not form a valid manifest.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// Hashes the regular files among `entries`, largest first for balance.
/// Returns one result per entry index (None for symlinks).
fn hash_disk_files(
    root: &Path,
    entries: &[&DiskEntry],
    progress: Option<Progress<'_>>,
) -> Vec<Option<io::Result<FileHash>>> {
    let mut order: Vec<(usize, u64)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.kind {
            DiskKind::File { size } => Some((i, size)),
            DiskKind::Symlink { .. } => None,
        })
        .collect();
    order.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
    let hashed = hash_indexed(
        order.len(),
        |k| root.join(entries[order[k].0].path.as_str()),
        progress,
    );
    let mut results: Vec<Option<io::Result<FileHash>>> = Vec::with_capacity(entries.len());
    results.resize_with(entries.len(), || None);
    for ((index, _), result) in order.into_iter().zip(hashed) {
        results[index] = Some(result);
    }
    results
}

/// Total bytes of regular files in a walk (for progress bars).
pub fn total_file_bytes(entries: &[DiskEntry]) -> u64 {
    entries
        .iter()
        .map(|e| match e.kind {
            DiskKind::File { size } => size,
            DiskKind::Symlink { .. } => 0,
        })
        .sum()
}

/// Walks and hashes `root` and returns its manifest.
pub fn manifest_for_dir(
    root: &Path,
    name: ModuleName,
    version: ModuleVersion,
    progress: Option<Progress<'_>>,
) -> Result<Manifest, TreeError> {
    let disk = walk_module(root)?;
    let refs: Vec<&DiskEntry> = disk.iter().collect();
    let hashes = hash_disk_files(root, &refs, progress);
    let mut entries = Vec::with_capacity(disk.len());
    for (entry, hash) in disk.into_iter().zip(hashes) {
        let kind = match (entry.kind, hash) {
            (DiskKind::Symlink { target }, _) => EntryKind::Symlink { target },
            (DiskKind::File { .. }, Some(Ok(hash))) => EntryKind::File {
                size: hash.size,
                sha256: hash.sha256,
            },
            (DiskKind::File { .. }, Some(Err(source))) => {
                return Err(TreeError::Unreadable {
                    path: root.join(entry.path.as_str()),
                    source,
                });
            }
            (DiskKind::File { .. }, None) => {
                return Err(TreeError::Unreadable {
                    path: root.join(entry.path.as_str()),
                    source: io::Error::other("not hashed"),
                });
            }
        };
        entries.push(Entry {
            path: entry.path,
            kind,
        });
    }
    Ok(Manifest::new(name, version, entries)?)
}

/// How a file differs from its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Same size, different SHA-256.
    Content,
    /// Different size.
    Size {
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// A file became a symlink or the reverse.
    Kind {
        /// `file` or `symlink` in the manifest.
        expected: &'static str,
        /// On disk.
        actual: &'static str,
    },
    /// A symlink points elsewhere.
    Target {
        /// Target in the manifest.
        expected: String,
        /// Target on disk.
        actual: String,
    },
    /// The file could not be read.
    Unreadable(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Content => f.write_str("content differs (SHA-256)"),
            Change::Size { expected, actual } => {
                write!(f, "size {actual}, manifest says {expected}")
            }
            Change::Kind { expected, actual } => {
                write!(f, "is a {actual}, manifest says {expected}")
            }
            Change::Target { expected, actual } => {
                write!(
                    f,
                    "symlink points to '{actual}', manifest says '{expected}'"
                )
            }
            Change::Unreadable(error) => write!(f, "cannot read: {error}"),
        }
    }
}

/// Every difference between a tree and its manifest, each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeDiff {
    /// On disk, not in the manifest.
    pub added: Vec<RelPath>,
    /// In the manifest, not on disk.
    pub missing: Vec<RelPath>,
    /// In both, different (or unreadable).
    pub changed: Vec<(RelPath, Change)>,
    /// Entries checked (files and symlinks in the manifest).
    pub checked: usize,
}

impl TreeDiff {
    /// True when the tree matches the manifest exactly.
    pub fn is_clean(&self) -> bool {
        self.added.is_empty() && self.missing.is_empty() && self.changed.is_empty()
    }
}

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::File { .. } => "file",
        EntryKind::Symlink { .. } => "symlink",
    }
}

fn disk_kind_name(kind: &DiskKind) -> &'static str {
    match kind {
        DiskKind::File { .. } => "file",
        DiskKind::Symlink { .. } => "symlink",
    }
}

/// Recomputes `root` and compares it with `manifest`: added, missing and
/// changed files by name. The walk is streamed in manifest order and merged
/// with the manifest; files whose listing matches (same kind and size) are
/// hashed on all cores while the walk goes on, and files whose size already
/// differs are not hashed. Memory holds the manifest and the differences.
pub fn diff_tree(
    root: &Path,
    manifest: &Manifest,
    progress: Option<Progress<'_>>,
) -> Result<TreeDiff, WalkError> {
    let started = std::time::Instant::now();
    let entries = manifest.entries();
    let check = |index: usize, hash: io::Result<FileHash>| {
        let EntryKind::File { size, sha256 } = &entries[index].kind else {
            return None;
        };
        let change = match hash {
            Ok(hash) if hash.size != *size => Change::Size {
                expected: *size,
                actual: hash.size,
            },
            Ok(hash) if hash.sha256 != *sha256 => Change::Content,
            Ok(_) => return None,
            Err(e) => Change::Unreadable(e.to_string()),
        };
        Some((entries[index].path.clone(), change))
    };
    let (walked, hashed) =
        hash_while_producing(|send| merge_walk(root, entries, send), check, progress);
    let mut diff = walked?;
    let hashed_count = diff.checked;
    diff.checked = entries.len();
    diff.changed.extend(hashed);
    diff.changed.sort_by(|a, b| a.0.cmp(&b.0));
    tracing::debug!(
        "{}: compared {} entries and hashed {hashed_count} files in {:?}",
        root.display(),
        entries.len(),
        started.elapsed()
    );
    Ok(diff)
}

/// Walks `root` in manifest order, merging with `entries`: records added,
/// missing and listing-level changes, and sends every file that needs
/// hashing. `checked` counts the files sent.
fn merge_walk(
    root: &Path,
    entries: &[Entry],
    send: &mut dyn FnMut(usize, PathBuf),
) -> Result<TreeDiff, WalkError> {
    let mut diff = TreeDiff::default();
    let mut next = 0usize;
    for disk_entry in walk_module_sorted(root)? {
        let disk_entry = disk_entry?;
        while next < entries.len() && entries[next].path < disk_entry.path {
            diff.missing.push(entries[next].path.clone());
            next += 1;
        }
        let Some(entry) = entries.get(next).filter(|e| e.path == disk_entry.path) else {
            diff.added.push(disk_entry.path);
            continue;
        };
        next += 1;
        if let Some(change) = compare_listing(&disk_entry.kind, &entry.kind) {
            diff.changed.push((entry.path.clone(), change));
        } else if matches!(entry.kind, EntryKind::File { .. }) {
            send(next - 1, root.join(entry.path.as_str()));
            diff.checked += 1;
        }
    }
    diff.missing
        .extend(entries[next..].iter().map(|e| e.path.clone()));
    Ok(diff)
}

/// Differences visible without hashing: kind, size, symlink target.
fn compare_listing(disk: &DiskKind, entry: &EntryKind) -> Option<Change> {
    match (disk, entry) {
        (DiskKind::File { size: actual }, EntryKind::File { size: expected, .. }) => {
            (actual != expected).then_some(Change::Size {
                expected: *expected,
                actual: *actual,
            })
        }
        (DiskKind::Symlink { target: actual }, EntryKind::Symlink { target: expected }) => {
            (actual != expected).then(|| Change::Target {
                expected: expected.to_string(),
                actual: actual.to_string(),
            })
        }
        (disk, entry) => Some(Change::Kind {
            expected: kind_name(entry),
            actual: disk_kind_name(disk),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.py"), b"print('a')\n").unwrap();
        std::fs::write(dir.path().join("README"), b"readme").unwrap();
        std::fs::write(dir.path().join("big"), vec![7u8; 3 * 1024 * 1024 + 17]).unwrap();
        std::os::unix::fs::symlink("README", dir.path().join("link")).unwrap();
        dir
    }

    fn build(root: &Path) -> Manifest {
        manifest_for_dir(
            root,
            ModuleName::new("m").unwrap(),
            ModuleVersion::new("1.0.0").unwrap(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn manifest_records_sizes_digests_and_links() {
        let dir = module();
        let manifest = build(dir.path());
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        assert!(text.contains(&format!(
            "file {} 6 README\n",
            crate::Sha256Digest::of(b"readme")
        )));
        assert!(text.contains("symlink README link\n"));
        assert!(text.contains(&format!(" {} big\n", 3 * 1024 * 1024 + 17)));
        assert_eq!(build(dir.path()).to_bytes(), manifest.to_bytes());
    }

    #[test]
    fn diff_names_added_missing_and_changed_files() {
        let dir = module();
        let manifest = build(dir.path());
        assert!(diff_tree(dir.path(), &manifest, None).unwrap().is_clean());

        std::fs::write(dir.path().join("src/a.py"), b"print('A')\n").unwrap(); // same size
        std::fs::write(dir.path().join("README"), b"longer readme").unwrap();
        std::fs::remove_file(dir.path().join("big")).unwrap();
        std::fs::write(dir.path().join("new.txt"), b"n").unwrap();
        std::fs::remove_file(dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink("src/a.py", dir.path().join("link")).unwrap();

        let diff = diff_tree(dir.path(), &manifest, None).unwrap();
        assert_eq!(diff.added, [RelPath::new("new.txt").unwrap()]);
        assert_eq!(diff.missing, [RelPath::new("big").unwrap()]);
        let changed: Vec<(&str, &Change)> =
            diff.changed.iter().map(|(p, c)| (p.as_str(), c)).collect();
        assert_eq!(
            changed,
            [
                (
                    "README",
                    &Change::Size {
                        expected: 6,
                        actual: 13
                    }
                ),
                (
                    "link",
                    &Change::Target {
                        expected: "README".into(),
                        actual: "src/a.py".into()
                    }
                ),
                ("src/a.py", &Change::Content),
            ]
        );
    }
}
