//! Strict reader of the canonical manifest form. Anything that
//! [`Manifest::to_bytes`] would not have written is refused with the file,
//! the line and what is wrong.

use std::fmt;

use super::{
    Entry, FORMAT_NAME, FORMAT_VERSION, LabelError, LinkTarget, Manifest, ManifestError,
    ModuleName, ModuleVersion, PathError, RelPath, unescape,
};
use crate::digest::Sha256Digest;
use crate::limits::{MAX_ENTRIES, MAX_MANIFEST_BYTES};

/// A manifest that could not be read: `origin:line: kind`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The manifest file (or other origin) as given.
    pub origin: String,
    /// 1-based line number; 0 when the problem is the whole file.
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.kind)
        } else {
            write!(f, "{}:{}: {}", self.origin, self.line, self.kind)
        }
    }
}

/// What is wrong with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The file is larger than [`MAX_MANIFEST_BYTES`].
    #[error("manifest is larger than {MAX_MANIFEST_BYTES} bytes")]
    TooLarge,
    /// The file is empty.
    #[error("manifest is empty")]
    Empty,
    /// Not UTF-8.
    #[error("manifest is not valid UTF-8")]
    NotUtf8,
    /// The last line has no newline (a truncated file).
    #[error("last line has no newline (truncated manifest?)")]
    MissingFinalNewline,
    /// A CR (`\r`) character: manifests use LF only.
    #[error("carriage return found (manifests use LF line endings only)")]
    CarriageReturn,
    /// An empty line.
    #[error("empty line")]
    EmptyLine,
    /// The first line is not a `shipgate-manifest` header.
    #[error("not a shipgate manifest (first line must be '{FORMAT_NAME} {FORMAT_VERSION}')")]
    NotAManifest,
    /// A header with another format version.
    #[error("unsupported manifest format version '{0}' (this shipgate reads {FORMAT_VERSION})")]
    UnsupportedVersion(String),
    /// A required field is missing at this line.
    #[error("expected '{expected}' here")]
    Expected {
        /// The field that must come here.
        expected: &'static str,
    },
    /// A field given twice.
    #[error("duplicate field '{0}'")]
    DuplicateField(String),
    /// A field or entry kind this version does not know.
    #[error("unknown field '{0}'")]
    UnknownField(String),
    /// An entry with the wrong number of fields (or extra spaces).
    #[error("'{kind}' line must be '{form}' with single spaces")]
    FieldCount {
        /// `file`, `symlink`, `name`, ...
        kind: &'static str,
        /// The expected form.
        form: &'static str,
    },
    /// A bad module name.
    #[error("name {0}")]
    BadName(LabelError),
    /// A bad module version.
    #[error("version {0}")]
    BadVersion(LabelError),
    /// A bad path or symlink target.
    #[error(transparent)]
    BadPath(PathError),
    /// Not 64 lowercase hex digits.
    #[error("'{0}' is not a SHA-256 digest (64 lowercase hex digits)")]
    BadDigest(String),
    /// Not a canonical decimal size.
    #[error("'{0}' is not a size in bytes (decimal, no leading zeros)")]
    BadSize(String),
    /// Entries out of order.
    #[error(
        "entry '{path}' is out of order (after '{previous}'; entries are sorted by path bytes)"
    )]
    NotSorted {
        /// This entry.
        path: String,
        /// The entry before it.
        previous: String,
    },
    /// The same path twice.
    #[error("duplicate entry '{0}'")]
    DuplicateEntry(String),
    /// A structural problem across entries (nested under a file, symlink escape).
    #[error(transparent)]
    Structure(ManifestError),
    /// More than [`MAX_ENTRIES`] entries.
    #[error("more than {MAX_ENTRIES} entries")]
    TooManyEntries,
}

pub(super) fn parse(bytes: &[u8], origin: &str) -> Result<Manifest, ParseError> {
    let fail = |line: usize, kind: ParseErrorKind| ParseError {
        origin: origin.to_string(),
        line,
        kind,
    };
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(fail(0, ParseErrorKind::TooLarge));
    }
    if bytes.is_empty() {
        return Err(fail(0, ParseErrorKind::Empty));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| fail(0, ParseErrorKind::NotUtf8))?;
    let Some(body) = text.strip_suffix('\n') else {
        let line = text.split('\n').count();
        return Err(fail(line, ParseErrorKind::MissingFinalNewline));
    };

    let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    let mut next_line = |expected: &'static str| {
        lines.next().ok_or_else(|| {
            fail(
                text.split('\n').count(),
                ParseErrorKind::Expected { expected },
            )
        })
    };

    let (n, header) = next_line(FORMAT_NAME)?;
    check_line(header).map_err(|k| fail(n, k))?;
    parse_header(header).map_err(|k| fail(n, k))?;

    let (n, line) = next_line("name")?;
    check_line(line).map_err(|k| fail(n, k))?;
    let name = parse_field(line, "name")
        .and_then(|v| ModuleName::new(v).map_err(ParseErrorKind::BadName))
        .map_err(|k| fail(n, k))?;

    let (n, line) = next_line("version")?;
    check_line(line).map_err(|k| fail(n, k))?;
    let version = parse_field(line, "version")
        .and_then(|v| ModuleVersion::new(v).map_err(ParseErrorKind::BadVersion))
        .map_err(|k| fail(n, k))?;

    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in lines {
        check_line(line).map_err(|k| fail(n, k))?;
        if entries.len() >= MAX_ENTRIES {
            return Err(fail(n, ParseErrorKind::TooManyEntries));
        }
        let entry = parse_entry(line).map_err(|k| fail(n, k))?;
        if let Some(previous) = entries.last() {
            if previous.path == entry.path {
                return Err(fail(
                    n,
                    ParseErrorKind::DuplicateEntry(entry.path.to_string()),
                ));
            }
            if previous.path > entry.path {
                return Err(fail(
                    n,
                    ParseErrorKind::NotSorted {
                        path: entry.path.to_string(),
                        previous: previous.path.to_string(),
                    },
                ));
            }
        }
        entries.push(entry);
    }
    super::check_structure(&entries).map_err(|e| {
        // Point at the offending entry's line: header, name, version come first.
        let path = match &e {
            ManifestError::InsideAFile { path, .. } => Some(path.as_str()),
            ManifestError::SymlinkEscapes(PathError::SymlinkEscapes { path, .. }) => {
                Some(path.as_str())
            }
            _ => None,
        };
        let line = path
            .and_then(|p| entries.iter().position(|entry| entry.path.as_str() == p))
            .map_or(0, |index| index + 4);
        fail(line, ParseErrorKind::Structure(e))
    })?;
    Ok(Manifest {
        name,
        version,
        entries,
    })
}

fn check_line(line: &str) -> Result<(), ParseErrorKind> {
    if line.is_empty() {
        return Err(ParseErrorKind::EmptyLine);
    }
    if line.contains('\r') {
        return Err(ParseErrorKind::CarriageReturn);
    }
    Ok(())
}

fn parse_header(line: &str) -> Result<(), ParseErrorKind> {
    match line.split_once(' ') {
        Some((FORMAT_NAME, FORMAT_VERSION)) => Ok(()),
        Some((FORMAT_NAME, other)) => Err(ParseErrorKind::UnsupportedVersion(other.to_string())),
        _ => Err(ParseErrorKind::NotAManifest),
    }
}

/// `KEY VALUE` where KEY must be `key`.
fn parse_field<'a>(line: &'a str, key: &'static str) -> Result<&'a str, ParseErrorKind> {
    let (found, value) = line.split_once(' ').unwrap_or((line, ""));
    if found != key {
        return Err(match found {
            "name" | "version" | FORMAT_NAME => ParseErrorKind::DuplicateField(found.to_string()),
            "file" | "symlink" => ParseErrorKind::Expected { expected: key },
            other => ParseErrorKind::UnknownField(other.to_string()),
        });
    }
    if value.is_empty() || value.contains(' ') {
        return Err(ParseErrorKind::FieldCount {
            kind: key,
            form: if key == "name" {
                "name NAME"
            } else {
                "version VERSION"
            },
        });
    }
    Ok(value)
}

fn parse_entry(line: &str) -> Result<Entry, ParseErrorKind> {
    let fields: Vec<&str> = line.split(' ').collect();
    match fields[0] {
        "file" => {
            let [_, digest, size, path] = fields[..] else {
                return Err(ParseErrorKind::FieldCount {
                    kind: "file",
                    form: "file SHA256 SIZE PATH",
                });
            };
            let sha256: Sha256Digest = digest
                .parse()
                .map_err(|_| ParseErrorKind::BadDigest(digest.to_string()))?;
            let size = parse_size(size)?;
            Ok(Entry::file(parse_path(path)?, size, sha256))
        }
        "symlink" => {
            let [_, target, path] = fields[..] else {
                return Err(ParseErrorKind::FieldCount {
                    kind: "symlink",
                    form: "symlink TARGET PATH",
                });
            };
            let target = unescape(target)
                .and_then(LinkTarget::new)
                .map_err(ParseErrorKind::BadPath)?;
            Ok(Entry::symlink(parse_path(path)?, target))
        }
        "name" | "version" | FORMAT_NAME => {
            Err(ParseErrorKind::DuplicateField(fields[0].to_string()))
        }
        other => Err(ParseErrorKind::UnknownField(other.to_string())),
    }
}

fn parse_path(field: &str) -> Result<RelPath, ParseErrorKind> {
    unescape(field)
        .and_then(RelPath::new)
        .map_err(ParseErrorKind::BadPath)
}

/// Canonical decimal: `0` or no leading zero, fits in a u64.
fn parse_size(field: &str) -> Result<u64, ParseErrorKind> {
    let canonical = !field.is_empty()
        && field.bytes().all(|b| b.is_ascii_digit())
        && (field == "0" || !field.starts_with('0'));
    if !canonical {
        return Err(ParseErrorKind::BadSize(field.to_string()));
    }
    field
        .parse()
        .map_err(|_| ParseErrorKind::BadSize(field.to_string()))
}
