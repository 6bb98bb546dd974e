//! Relative POSIX paths and symlink targets as they appear in a manifest,
//! and the escaping that keeps every manifest field free of spaces.

use std::fmt;

use crate::limits::MAX_PATH_BYTES;

/// Why a path or symlink target is not acceptable in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty.
    #[error("empty path")]
    Empty,
    /// Longer than [`MAX_PATH_BYTES`].
    #[error("path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    /// Starts with `/`.
    #[error("absolute path '{0}' (paths must be relative to the module)")]
    Absolute(String),
    /// Contains `\`.
    #[error("path '{0}' contains a backslash (paths use '/')")]
    Backslash(String),
    /// Contains NUL, a newline or another control character.
    #[error("path {0:?} contains a control character")]
    ControlChar(String),
    /// `a//b`, a leading or a trailing `/`.
    #[error("path '{0}' has an empty segment ('//' or a trailing '/')")]
    EmptySegment(String),
    /// A `.` segment: not canonical.
    #[error("path '{0}' has a '.' segment")]
    DotSegment(String),
    /// A `..` segment: the path could leave the module.
    #[error("path '{0}' has a '..' segment and could leave the module")]
    DotDotSegment(String),
    /// A `%` not followed by `20` or `25`.
    #[error("bad escape in '{0}' (only %20 for a space and %25 for '%' are allowed)")]
    BadEscape(String),
    /// A symlink whose target resolves outside the module root.
    #[error("symlink '{path}' points to '{target}', outside the module")]
    SymlinkEscapes {
        /// The symlink.
        path: String,
        /// Its target.
        target: String,
    },
}

/// A validated path relative to a module root: `/`-separated, no empty,
/// `.` or `..` segments, no backslash, no control characters, UTF-8, at most
/// [`MAX_PATH_BYTES`] bytes. Orders by bytes, which is the manifest order.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Validates `path`.
    pub fn new(path: impl Into<String>) -> Result<Self, PathError> {
        let path = path.into();
        check_common(&path)?;
        if path.starts_with('/') {
            return Err(PathError::Absolute(path));
        }
        for segment in path.split('/') {
            match segment {
                "" => return Err(PathError::EmptySegment(path)),
                "." => return Err(PathError::DotSegment(path)),
                ".." => return Err(PathError::DotDotSegment(path)),
                _ => {}
            }
        }
        Ok(Self(path))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every proper ancestor directory (`a/b/c` gives `a`, `a/b`).
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0
            .match_indices('/')
            .map(move |(index, _)| &self.0[..index])
    }

    /// The directory holding this path (`""` at the module root).
    pub fn parent(&self) -> &str {
        self.0.rfind('/').map_or("", |index| &self.0[..index])
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A symlink's target exactly as the link stores it: relative, no
/// backslash, no control characters. `..` is allowed; whether the target
/// stays inside the module is checked with [`LinkTarget::resolve_from`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LinkTarget(String);

impl LinkTarget {
    /// Validates `target`.
    pub fn new(target: impl Into<String>) -> Result<Self, PathError> {
        let target = target.into();
        check_common(&target)?;
        if target.starts_with('/') {
            return Err(PathError::Absolute(target));
        }
        Ok(Self(target))
    }

    /// The target as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Resolves this target lexically from the symlink at `link` and returns
    /// the module-relative path it names (`""` for the module root), or an
    /// error when it climbs above the module root.
    pub fn resolve_from(&self, link: &RelPath) -> Result<String, PathError> {
        let mut stack: Vec<&str> = link.parent().split('/').filter(|s| !s.is_empty()).collect();
        for segment in self.0.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    if stack.pop().is_none() {
                        return Err(PathError::SymlinkEscapes {
                            path: link.to_string(),
                            target: self.0.clone(),
                        });
                    }
                }
                name => stack.push(name),
            }
        }
        Ok(stack.join("/"))
    }
}

impl fmt::Display for LinkTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LinkTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

fn check_common(text: &str) -> Result<(), PathError> {
    if text.is_empty() {
        return Err(PathError::Empty);
    }
    if text.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(PathError::ControlChar(text.to_string()));
    }
    if text.contains('\\') {
        return Err(PathError::Backslash(text.to_string()));
    }
    Ok(())
}

/// Escapes a path or target for a manifest field: `%` becomes `%25` and a
/// space `%20`, so fields never contain a space. Nothing else is escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape`], refusing any other `%` sequence so that each path
/// has exactly one escaped form.
pub fn unescape(field: &str) -> Result<String, PathError> {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(index) = rest.find('%') {
        out.push_str(&rest[..index]);
        let escape = rest.get(index..index + 3);
        match escape {
            Some("%25") => out.push('%'),
            Some("%20") => out.push(' '),
            _ => return Err(PathError::BadEscape(field.to_string())),
        }
        rest = &rest[index + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_paths() {
        for ok in [
            "a",
            "a/b.txt",
            "with space/x",
            "ünïcode/ß",
            "a/.hidden",
            "...",
            "a%b",
        ] {
            assert!(RelPath::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_every_unsafe_form() {
        type Check = fn(&PathError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, PathError::Empty)),
            ("/etc/passwd", |e| matches!(e, PathError::Absolute(_))),
            ("../x", |e| matches!(e, PathError::DotDotSegment(_))),
            ("a/../../x", |e| matches!(e, PathError::DotDotSegment(_))),
            ("a/./b", |e| matches!(e, PathError::DotSegment(_))),
            ("a//b", |e| matches!(e, PathError::EmptySegment(_))),
            ("a/", |e| matches!(e, PathError::EmptySegment(_))),
            ("a\\b", |e| matches!(e, PathError::Backslash(_))),
            ("a\0b", |e| matches!(e, PathError::ControlChar(_))),
            ("a\nb", |e| matches!(e, PathError::ControlChar(_))),
            ("a\tb", |e| matches!(e, PathError::ControlChar(_))),
        ];
        for (path, check) in cases {
            let err = RelPath::new(*path).unwrap_err();
            assert!(check(&err), "{path:?} gave {err:?}");
        }
        assert_eq!(
            RelPath::new("a".repeat(MAX_PATH_BYTES + 1)),
            Err(PathError::TooLong)
        );
    }

    #[test]
    fn escaping_round_trips_and_is_canonical() {
        for text in ["plain", "a b", "100%", "% %20 %25", "  "] {
            let escaped = escape(text);
            assert!(!escaped.contains(' '));
            assert_eq!(unescape(&escaped).unwrap(), text);
        }
        for bad in ["%", "%2", "%41", "%2g", "a%"] {
            assert!(unescape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn symlink_targets_resolve_lexically_inside_the_module() {
        let link = RelPath::new("a/b/link").unwrap();
        let resolve = |t: &str| LinkTarget::new(t).unwrap().resolve_from(&link);
        assert_eq!(resolve("c").unwrap(), "a/b/c");
        assert_eq!(resolve("../c").unwrap(), "a/c");
        assert_eq!(resolve("../../c").unwrap(), "c");
        assert_eq!(resolve("../..").unwrap(), "");
        assert!(resolve("../../../c").is_err());
        assert!(resolve("x/../../../../c").is_err());
        assert!(LinkTarget::new("/etc/passwd").is_err());
    }
}
