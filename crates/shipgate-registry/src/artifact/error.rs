//! Why an artifact was refused: one variant per reason, each rendering as one line that
//! names the file and, where there is one, the entry and field.

/// An artifact could not be read, or is not what it claims to be.
///
/// Names of archive entries come from the archive, so they are shown `{:?}`-quoted: a
/// hostile name cannot break the line or pretend to be something else.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The file could not be opened or read from disk.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The artifact's file name.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file name does not fit the target kind (for example a `.zip` for PyPI).
    #[error("{file}: not {expected}")]
    UnsupportedFile {
        /// The artifact's file name.
        file: String,
        /// What the kind accepts, in words.
        expected: &'static str,
    },
    /// The archive is corrupt or truncated (bad gzip, tar or zip structure).
    #[error("{file}: not a valid {format}: {detail}")]
    Malformed {
        /// The artifact's file name.
        file: String,
        /// `"gzip-compressed tar archive"` or `"zip archive"`.
        format: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// The archive expands to more bytes than allowed (a decompression bomb, or simply too
    /// large).
    #[error("{file}: expands to more than {limit} bytes; refused as a decompression bomb")]
    TooLarge {
        /// The artifact's file name.
        file: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The archive holds more entries than allowed.
    #[error("{file}: holds more than {limit} entries; refused")]
    TooManyEntries {
        /// The artifact's file name.
        file: String,
        /// The limit.
        limit: u64,
    },
    /// An entry's path is absolute, climbs out with `..`, is not UTF-8, or lies outside the
    /// directory the format puts everything in.
    #[error("{file}: entry {entry:?} {why}; refused")]
    UnsafePath {
        /// The artifact's file name.
        file: String,
        /// The entry's path as stored (lossily decoded).
        entry: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An entry is a symbolic or hard link, a device or a FIFO: only regular files and
    /// directories are accepted.
    #[error("{file}: entry {entry:?} is a {what}; only regular files and directories are accepted")]
    NotRegular {
        /// The artifact's file name.
        file: String,
        /// The entry's path.
        entry: String,
        /// `"symbolic link"`, `"hard link"`, ...
        what: &'static str,
    },
    /// The same path appears twice (extractors disagree on which copy wins).
    #[error("{file}: entry {entry:?} appears more than once")]
    DuplicateEntry {
        /// The artifact's file name.
        file: String,
        /// The repeated path.
        entry: String,
    },
    /// A metadata file is larger than allowed.
    #[error("{file}: {entry} is larger than {limit} bytes")]
    MetadataTooLarge {
        /// The artifact's file name.
        file: String,
        /// The metadata file's path.
        entry: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A metadata file is not UTF-8.
    #[error("{file}: {entry} is not valid UTF-8")]
    NotUtf8 {
        /// The artifact's file name.
        file: String,
        /// The metadata file's path.
        entry: String,
    },
    /// A metadata file the format requires is absent.
    #[error("{file}: no {entry} in the archive")]
    MissingMetadata {
        /// The artifact's file name.
        file: String,
        /// The expected path or file name.
        entry: String,
    },
    /// A metadata file is present but a field in it is missing or invalid.
    #[error("{file}: {entry}: {field} {detail}")]
    InvalidField {
        /// The artifact's file name.
        file: String,
        /// The metadata file's path.
        entry: String,
        /// The field (`name`, `Version`, `[package] name`, ...).
        field: String,
        /// What is wrong, starting with a verb ("is missing", "is not a string", ...).
        detail: String,
    },
    /// The file name is not valid for its format (wheel tags, sdist or crate naming).
    #[error("{file}: file name {detail}")]
    FileName {
        /// The artifact's file name.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Two statements about the package disagree: the archive with the staged name or
    /// version, or the file name with the archive.
    #[error("{file}: {field} says {found:?}, expected {expected:?}")]
    Mismatch {
        /// The artifact's file name.
        file: String,
        /// Where the value was read (`package/package.json name`, `METADATA Version`, ...).
        field: String,
        /// What the artifact says.
        found: String,
        /// What it should say.
        expected: String,
    },
    /// The set of files staged for a target is not what the target publishes (npm: one
    /// tarball; cargo: one `.crate`; PyPI: wheels and sdists of one version, none twice).
    #[error("{detail}")]
    WrongFiles {
        /// What is wrong with the set, naming the files.
        detail: String,
    },
}
