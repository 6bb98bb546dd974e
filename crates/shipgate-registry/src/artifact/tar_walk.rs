//! Streaming walk over a gzip-compressed tar archive (npm tarballs, sdists, `.crate`
//! files), with the limits and path rules applied to every entry.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use super::limits::{CappedReader, is_budget_exceeded, read_at_most};
use super::{ArtifactError, Limits, paths};

const FORMAT: &str = "gzip-compressed tar archive";

/// One entry handed to the visitor.
pub(crate) struct Entry<'a> {
    /// The cleaned path (see [`paths::clean`]).
    pub(crate) path: String,
    /// A directory rather than a regular file.
    pub(crate) is_dir: bool,
    reader: &'a mut dyn Read,
    file: &'a str,
    limits: &'a Limits,
}

impl Entry<'_> {
    /// Reads the whole entry as a metadata file, within the metadata limit.
    pub(crate) fn read_metadata(&mut self) -> Result<Vec<u8>, ArtifactError> {
        match read_at_most(self.reader, self.limits.max_metadata_bytes) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(ArtifactError::MetadataTooLarge {
                file: self.file.to_owned(),
                entry: self.path.clone(),
                limit: self.limits.max_metadata_bytes,
            }),
            Err(error) => Err(io_error(self.file, self.limits, error)),
        }
    }

    /// SHA-256 (lowercase hex) of the entry's content, streamed.
    pub(crate) fn sha256(&mut self) -> Result<String, ArtifactError> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = self
                .reader
                .read(&mut buf)
                .map_err(|e| io_error(self.file, self.limits, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// Maps an I/O error met while decompressing to "too large" or "malformed".
pub(crate) fn io_error(file: &str, limits: &Limits, error: io::Error) -> ArtifactError {
    if is_budget_exceeded(&error) {
        ArtifactError::TooLarge {
            file: file.to_owned(),
            limit: limits.max_expanded_bytes,
        }
    } else {
        ArtifactError::Malformed {
            file: file.to_owned(),
            format: FORMAT,
            detail: error.to_string(),
        }
    }
}

/// Calls `visit` for every file and directory entry, in archive order.
///
/// Refuses links, devices and FIFOs, unsafe paths, a file path seen twice, more than
/// `max_entries` entries and more than `max_expanded_bytes` of tar stream; reads the gzip
/// stream to its end so that a truncated or corrupted trailer is caught too.
pub(crate) fn walk(
    file: &str,
    path: &Path,
    limits: &Limits,
    mut visit: impl FnMut(&mut Entry<'_>) -> Result<(), ArtifactError>,
) -> Result<(), ArtifactError> {
    let opened = File::open(path).map_err(|source| ArtifactError::Io {
        file: file.to_owned(),
        source,
    })?;
    let decoder = GzDecoder::new(BufReader::new(opened));
    let mut archive = tar::Archive::new(CappedReader::new(decoder, limits.max_expanded_bytes));
    let mut seen: HashSet<String> = HashSet::new();
    let entries = archive.entries().map_err(|e| io_error(file, limits, e))?;
    let mut count: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| io_error(file, limits, e))?;
        count += 1;
        if count > limits.max_entries {
            return Err(ArtifactError::TooManyEntries {
                file: file.to_owned(),
                limit: limits.max_entries,
            });
        }
        let raw_path = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        let is_dir = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => false,
            tar::EntryType::Directory => true,
            // Metadata records (pax global headers from `git archive`) carry no file.
            tar::EntryType::XGlobalHeader => continue,
            other => {
                return Err(ArtifactError::NotRegular {
                    file: file.to_owned(),
                    entry: String::from_utf8_lossy(&raw_path).into_owned(),
                    what: match other {
                        tar::EntryType::Symlink => "symbolic link",
                        tar::EntryType::Link => "hard link",
                        tar::EntryType::Char | tar::EntryType::Block => "device",
                        tar::EntryType::Fifo => "FIFO",
                        _ => "special entry",
                    },
                });
            }
        };
        let clean = paths::clean(file, &raw_path)?;
        if !is_dir && !seen.insert(clean.clone()) {
            return Err(ArtifactError::DuplicateEntry {
                file: file.to_owned(),
                entry: clean,
            });
        }
        let mut handed = Entry {
            path: clean,
            is_dir,
            reader: &mut entry,
            file,
            limits,
        };
        visit(&mut handed)?;
    }
    // The tar end marker may come before the end of the gzip stream: read the rest so a
    // truncated or corrupt stream (bad CRC, missing trailer) is refused, not ignored.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| io_error(file, limits, e))?;
    Ok(())
}
