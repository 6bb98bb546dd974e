//! Validation of the names that reach the gate from outside: package names,
//! versions, maintainer names and staged file names. Every one of them ends up
//! in a URL path, a database row or a file name on a user's disk, so each is
//! checked against a small allowlist instead of trying to list what is bad.

use std::fmt;

/// Which kind of name was refused (for the error message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameKind {
    /// A package name (`[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 bytes).
    Package,
    /// A version (`[A-Za-z0-9][A-Za-z0-9.+_-]*`, at most 64 bytes).
    Version,
    /// A maintainer's user name (`[A-Za-z0-9][A-Za-z0-9.-]*`, at most 64 bytes).
    Maintainer,
    /// A staged file name: one path segment, no separators, no control characters.
    File,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Package => "package name",
            Self::Version => "version",
            Self::Maintainer => "maintainer name",
            Self::File => "file name",
        })
    }
}

/// A name that failed validation, with the reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {name:?}: {reason}")]
pub struct InvalidName {
    /// What kind of name it was.
    pub kind: NameKind,
    /// The refused name (debug-escaped when displayed, so control characters show).
    pub name: String,
    /// Why it was refused.
    pub reason: &'static str,
}

const MAX_SHORT: usize = 64;
/// Most file systems limit one path segment to 255 bytes.
const MAX_FILE: usize = 255;

fn check_simple(
    kind: NameKind,
    name: &str,
    extra: &[char],
    allowed_desc: &'static str,
) -> Result<(), InvalidName> {
    let refuse = |reason| {
        Err(InvalidName {
            kind,
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.len() > MAX_SHORT {
        return refuse("it is longer than 64 bytes");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return refuse("it must start with a letter or digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    {
        return refuse(allowed_desc);
    }
    Ok(())
}

/// Checks a package name.
pub fn package(name: &str) -> Result<(), InvalidName> {
    check_simple(
        NameKind::Package,
        name,
        &['.', '_', '-'],
        "only letters, digits, '.', '_' and '-' are allowed",
    )
}

/// Checks a version string.
pub fn version(name: &str) -> Result<(), InvalidName> {
    check_simple(
        NameKind::Version,
        name,
        &['.', '_', '-', '+'],
        "only letters, digits, '.', '_', '-' and '+' are allowed",
    )
}

/// Checks a maintainer's user name. No `_`: it separates the name from the
/// secret inside a maintainer token (`sgm_NAME_SECRET`).
pub fn maintainer(name: &str) -> Result<(), InvalidName> {
    check_simple(
        NameKind::Maintainer,
        name,
        &['.', '-'],
        "only letters, digits, '.' and '-' are allowed",
    )
}

/// Checks a staged file name: exactly one path segment that is safe to create
/// inside any output directory (no `/` or `\`, not `.` or `..`, no control
/// characters, no leading or trailing whitespace).
pub fn file(name: &str) -> Result<(), InvalidName> {
    let refuse = |reason| {
        Err(InvalidName {
            kind: NameKind::File,
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.len() > MAX_FILE {
        return refuse("it is longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return refuse("it names a directory");
    }
    if name.contains(['/', '\\']) {
        return refuse("it contains a path separator; files are staged by base name");
    }
    if name.chars().any(char::is_control) {
        return refuse("it contains a control character");
    }
    if name.trim() != name {
        return refuse("it starts or ends with whitespace");
    }
    if name.contains(':') {
        return refuse("it contains ':' (a drive or stream separator on Windows)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["hello", "my-pkg", "a.b_c", "X9"] {
            assert_eq!(package(name), Ok(()), "{name}");
        }
        for v in ["1.2.3", "1.0.0-rc.1+build.5", "v2"] {
            assert_eq!(version(v), Ok(()), "{v}");
        }
        for m in ["alice", "bob.smith", "dev-1"] {
            assert_eq!(maintainer(m), Ok(()), "{m}");
        }
        for f in [
            "hello-1.0.tar.gz",
            "SHA256SUMS",
            "a b.txt",
            ".hidden",
            "ünïcode.bin",
        ] {
            assert_eq!(file(f), Ok(()), "{f}");
        }
    }

    #[test]
    fn refuses_hostile_file_names() {
        let long = "a".repeat(256);
        for f in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "C:evil",
            "nul\0byte",
            "new\nline",
            "esc\x1b[31m",
            " lead",
            "trail ",
            long.as_str(),
        ] {
            let err = file(f).unwrap_err();
            assert_eq!(err.kind, NameKind::File);
        }
    }

    #[test]
    fn refuses_bad_short_names() {
        assert!(package("").is_err());
        assert!(package("-x").is_err());
        assert!(package("..").is_err());
        assert!(package("a/b").is_err());
        assert!(package(&"a".repeat(65)).is_err());
        assert!(version("1.0 beta").is_err());
        assert!(version("../1").is_err());
        assert!(maintainer("has_underscore").is_err());
        let err = maintainer("bad name").unwrap_err();
        assert!(err.to_string().contains("maintainer name"), "{err}");
    }
}
