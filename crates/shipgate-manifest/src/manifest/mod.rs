//! The manifest model and its canonical text form.
//!
//! ```text
//! shipgate-manifest v1
//! name hello
//! version 1.2.0
//! file 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 5 hello.txt
//! symlink hello.txt latest.txt
//! ```
//!
//! One header line, `name`, `version`, then one line per entry sorted by
//! the bytes of its path: `file SHA256 SIZE PATH` or `symlink TARGET PATH`.
//! Fields are separated by one space; paths and targets escape `%` as `%25`
//! and a space as `%20`. LF line endings, a final newline, nothing else: one
//! content has exactly one byte form, so its SHA-256 is stable.

mod label;
mod parse;
mod path;

use std::collections::HashSet;
use std::fmt::Write as _;

pub use label::{LabelError, ModuleName, ModuleVersion};
pub use parse::{ParseError, ParseErrorKind};
pub use path::RelPath;
pub use path::{LinkTarget, PathError, escape, unescape};

use crate::digest::Sha256Digest;
use crate::limits::MAX_ENTRIES;

/// The first line of every manifest of this format version.
pub const FORMAT_HEADER: &str = "shipgate-manifest v1";
/// The format identifier (first word of the header).
pub const FORMAT_NAME: &str = "shipgate-manifest";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: &str = "v1";

/// One file or symlink of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the module root.
    pub path: RelPath,
    /// What is at that path.
    pub kind: EntryKind,
}

/// What a manifest entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file: its size in bytes and its SHA-256.
    File {
        /// Size in bytes.
        size: u64,
        /// SHA-256 of the content.
        sha256: Sha256Digest,
    },
    /// A symlink, recorded (never followed) with its target.
    Symlink {
        /// The link's target as stored in the link.
        target: LinkTarget,
    },
}

impl Entry {
    /// A regular file entry.
    pub fn file(path: RelPath, size: u64, sha256: Sha256Digest) -> Self {
        Self {
            path,
            kind: EntryKind::File { size, sha256 },
        }
    }

    /// A symlink entry.
    pub fn symlink(path: RelPath, target: LinkTarget) -> Self {
        Self {
            path,
            kind: EntryKind::Symlink { target },
        }
    }
}

/// Why a set of entries does not make a valid manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The same path twice.
    #[error("duplicate entry '{0}'")]
    Duplicate(RelPath),
    /// `a` is a file or symlink and `a/b` is listed too.
    #[error("entry '{path}' is inside '{parent}', which is a file or symlink")]
    InsideAFile {
        /// The nested entry.
        path: RelPath,
        /// The entry that is not a directory.
        parent: String,
    },
    /// A symlink that resolves outside the module.
    #[error(transparent)]
    SymlinkEscapes(PathError),
    /// More than [`MAX_ENTRIES`] entries.
    #[error("more than {MAX_ENTRIES} entries")]
    TooManyEntries,
}

/// A module manifest: name, version and entries sorted by path bytes.
/// Construct it with [`Manifest::new`] (validates and sorts) or
/// [`Manifest::parse`] (strict reader of the canonical form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    name: ModuleName,
    version: ModuleVersion,
    entries: Vec<Entry>,
}

impl Manifest {
    /// Builds a manifest, sorting the entries by path and refusing
    /// duplicates, entries nested under a file and symlinks that leave the
    /// module.
    pub fn new(
        name: ModuleName,
        version: ModuleVersion,
        mut entries: Vec<Entry>,
    ) -> Result<Self, ManifestError> {
        if entries.len() > MAX_ENTRIES {
            return Err(ManifestError::TooManyEntries);
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        for pair in entries.windows(2) {
            if pair[0].path == pair[1].path {
                return Err(ManifestError::Duplicate(pair[0].path.clone()));
            }
        }
        check_structure(&entries)?;
        Ok(Self {
            name,
            version,
            entries,
        })
    }

    /// Builds a manifest of regular files from an explicit list of
    /// `(path, size, sha256)`, with no directory on disk (a release
    /// manifest for uploaded artifacts).
    pub fn from_files(
        name: ModuleName,
        version: ModuleVersion,
        files: impl IntoIterator<Item = (RelPath, u64, Sha256Digest)>,
    ) -> Result<Self, ManifestError> {
        let entries = files
            .into_iter()
            .map(|(path, size, sha256)| Entry::file(path, size, sha256))
            .collect();
        Self::new(name, version, entries)
    }

    /// The module name.
    pub fn name(&self) -> &ModuleName {
        &self.name
    }

    /// The module version.
    pub fn version(&self) -> &ModuleVersion {
        &self.version
    }

    /// Entries, sorted by path bytes.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The same manifest with another version.
    pub fn with_version(mut self, version: ModuleVersion) -> Self {
        self.version = version;
        self
    }

    /// The same manifest with another name.
    pub fn with_name(mut self, name: ModuleName) -> Self {
        self.name = name;
        self
    }

    /// The canonical bytes (see the module documentation for the format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(64 + self.entries.len() * 100);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{FORMAT_HEADER}");
        let _ = writeln!(out, "name {}", self.name);
        let _ = writeln!(out, "version {}", self.version);
        for entry in &self.entries {
            let path = escape(entry.path.as_str());
            let _ = match &entry.kind {
                EntryKind::File { size, sha256 } => writeln!(out, "file {sha256} {size} {path}"),
                EntryKind::Symlink { target } => {
                    writeln!(out, "symlink {} {path}", escape(target.as_str()))
                }
            };
        }
        out.into_bytes()
    }

    /// SHA-256 of [`Manifest::to_bytes`].
    pub fn sha256(&self) -> Sha256Digest {
        Sha256Digest::of(&self.to_bytes())
    }

    /// Parses the canonical form strictly. `origin` names the file in
    /// errors (`origin:line: what is wrong`).
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, ParseError> {
        parse::parse(bytes, origin)
    }

    /// Number of regular files and their total size.
    pub fn file_totals(&self) -> (usize, u64) {
        self.entries
            .iter()
            .filter_map(|e| match e.kind {
                EntryKind::File { size, .. } => Some(size),
                EntryKind::Symlink { .. } => None,
            })
            .fold((0, 0), |(count, total), size| {
                (count + 1, total.saturating_add(size))
            })
    }
}

/// Entries must form a tree: nothing is listed inside a file or symlink,
/// and every symlink resolves inside the module. `entries` is sorted.
fn check_structure(entries: &[Entry]) -> Result<(), ManifestError> {
    let leaves: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    for entry in entries {
        if let Some(parent) = entry.path.ancestors().find(|a| leaves.contains(a)) {
            return Err(ManifestError::InsideAFile {
                path: entry.path.clone(),
                parent: parent.to_string(),
            });
        }
        if let EntryKind::Symlink { target } = &entry.kind {
            target
                .resolve_from(&entry.path)
                .map_err(ManifestError::SymlinkEscapes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
