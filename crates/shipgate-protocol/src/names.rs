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
    /// A staged file name: ASCII letters, digits and [`FILE_PUNCTUATION`],
    /// at most 255 bytes, not `.`, `..` or only dots.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    /// What kind of name it was.
    pub kind: NameKind,
    /// The refused name (debug-escaped when displayed, so control characters show).
    pub name: String,
    /// Why it was refused.
    pub reason: String,
}

/// The refused name is quoted debug-escaped, and what `Debug` leaves as is
/// but a terminal would hide (e.g. a Hangul filler) escaped too: the message
/// reaches the caller and the server log.
impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = crate::untrusted::escape_for_terminal(&format!("{:?}", self.name));
        write!(f, "invalid {} {quoted}: {}", self.kind, self.reason)
    }
}

impl std::error::Error for InvalidName {}

const MAX_SHORT: usize = 64;
/// Most file systems limit one path segment to 255 bytes.
const MAX_FILE: usize = 255;
/// Longest staged file name, in bytes.
pub const MAX_FILE_NAME: usize = MAX_FILE;

// The same rules as regular expressions, for the OpenAPI document (ECMA-262
// syntax that Rust's `regex` reads the same way; a test below checks each
// against the function it describes).

/// [`package`] as a pattern.
pub const PACKAGE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/// [`version`] as a pattern.
pub const VERSION_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$";
/// [`file`] as a pattern (with a length of 1 to [`MAX_FILE_NAME`] bytes):
/// allowed characters, at least one of them not a dot.
pub const FILE_PATTERN: &str = r"^\.*[A-Za-z0-9_+~@=,()\[\]-][A-Za-z0-9._+~@=,()\[\]-]*$";
/// A release id as the API reads it: a positive integer in plain digits.
pub const RELEASE_ID_PATTERN: &str = "^[1-9][0-9]{0,17}$";
/// A lowercase hex SHA-256.
pub const SHA256_HEX_PATTERN: &str = "^[0-9a-f]{64}$";
/// A TOTP code as the gate accepts it.
pub const TOTP_CODE_PATTERN: &str = "^[0-9]{8}$";
/// Longest rejection reason, in bytes (after trimming white space).
pub const MAX_REJECT_REASON: usize = 2000;
/// A rejection reason: no control or invisible formatting character but
/// line breaks (see [`crate::untrusted::is_deceptive`]), and something
/// besides white space. Stricter than [`reject_reason`] only at the ends,
/// where the gate trims white-space control characters (`\t`, `\r`).
pub const REJECT_REASON_PATTERN: &str = concat!(
    r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F\u00AD\u115F\u1160\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0]*",
    r"[^\s\x00-\x1F\x7F-\x9F\u00AD\u115F\u1160\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0]",
    r"[^\x00-\x09\x0B-\x1F\x7F-\x9F\u00AD\u115F\u1160\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0]*$",
);

/// Checks a rejection reason as the gate does: trimmed, not empty, at most
/// [`MAX_REJECT_REASON`] bytes, and no control or invisible formatting
/// character but line breaks (the first one found is returned).
pub fn reject_reason(reason: &str) -> Result<&str, RejectReasonError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(RejectReasonError::Empty);
    }
    if reason.len() > MAX_REJECT_REASON {
        return Err(RejectReasonError::TooLong);
    }
    match reason
        .chars()
        .find(|&c| c != '\n' && crate::untrusted::is_deceptive(c))
    {
        Some(c) => Err(RejectReasonError::Deceptive(c)),
        None => Ok(reason),
    }
}

/// Why a rejection reason was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReasonError {
    /// Empty or only white space.
    Empty,
    /// Longer than [`MAX_REJECT_REASON`] bytes.
    TooLong,
    /// Holds this control or invisible formatting character.
    Deceptive(char),
}

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
            reason: String::from(reason),
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

/// The punctuation a staged file name may use besides ASCII letters and
/// digits. Enough for the artifact names release tools produce
/// (`tool-1.2.3-x86_64-unknown-linux-gnu.tar.gz`, `app_v2.0+build.7.whl`,
/// `pkg~rc1.deb`, `lib@2.0.jar`, `name=value,v(1)[2].zip`); nothing that is a
/// path separator, a shell or URL metacharacter that changes meaning (`/`,
/// `\`, `:`, `*`, `?`, `%`, `#`, quotes), or a space.
pub const FILE_PUNCTUATION: &str = "._-+~@=,()[]";

/// Names a release's files may not have: `shipgate fetch` writes the signed
/// manifest and its signature beside the files under these names, so such a
/// file would be replaced by (or replace) them. Compared ignoring ASCII
/// case, because macOS and Windows file systems do.
pub const RESERVED_FILES: [&str; 2] = [
    shipgate_manifest::MANIFEST_FILE,
    shipgate_manifest::SIGNATURE_FILE,
];

/// Checks a staged file name: exactly one path segment, made only of ASCII
/// letters, digits and [`FILE_PUNCTUATION`], and not one of
/// [`RESERVED_FILES`].
///
/// An allowlist of printable ASCII, because a reviewer approves what the file
/// names look like: outside it lie right-to-left overrides (`x.txt` U+202E
/// `gpj.exe` displays as `x.txtexe.jpg`), zero-width and invisible characters
/// (`a.txt` and `a.txt` U+200B look like one file twice), two encodings of
/// the same accented name (NFC and NFD `café`), look-alike slashes (U+2215)
/// and line separators. Artifact names never need them.
pub fn file(name: &str) -> Result<(), InvalidName> {
    let refuse = |reason: String| {
        Err(InvalidName {
            kind: NameKind::File,
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty".into());
    }
    if name.len() > MAX_FILE {
        return refuse("it is longer than 255 bytes".into());
    }
    // `.` and `..` name directories; Windows also strips trailing dots, so
    // `...` would become the directory too.
    if name.chars().all(|c| c == '.') {
        return refuse("it names a directory".into());
    }
    if let Some(reserved) = RESERVED_FILES.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        return refuse(format!(
            "`shipgate fetch` writes its own {reserved} next to the release's files; rename the file"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || FILE_PUNCTUATION.contains(c);
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        let what = match bad {
            '/' | '\\' => " (a path separator; files are staged by base name)",
            ' ' => " (a space)",
            _ => "",
        };
        return refuse(format!(
            "it contains {}{what}; a file name may use only ASCII letters, digits and {}",
            crate::untrusted::code_point(bad),
            spaced(FILE_PUNCTUATION)
        ));
    }
    Ok(())
}

/// `._-` as `. _ -`, so each allowed character reads on its own.
fn spaced(chars: &str) -> String {
    chars
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
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
            "shipgate-1.2.3-x86_64-unknown-linux-gnu.tar.gz",
            "app_v2.0+build.7.whl",
            "SHA256SUMS",
            "SHA256SUMS.minisig",
            ".hidden",
            "pkg~rc1.deb",
            "lib@2.0.jar",
            "name=value,v(1)[2].zip",
        ] {
            assert_eq!(file(f), Ok(()), "{f}");
        }
        assert_eq!(file(&"a".repeat(255)), Ok(()));
    }

    #[test]
    fn refuses_hostile_file_names() {
        let long = "a".repeat(256);
        for f in [
            "",
            ".",
            "..",
            "...",
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
            "a b.txt",
            "star*.txt",
            "q?.txt",
            "pct%2f.txt",
            "hash#.txt",
            "quote\".txt",
            "ünïcode.bin",
            long.as_str(),
        ] {
            let err = file(f).unwrap_err();
            assert_eq!(err.kind, NameKind::File);
        }
    }

    /// Names that look like something else to the reviewer: each is refused
    /// and the reason names the first offending character by code point.
    #[test]
    fn refuses_deceptive_file_names_naming_the_character() {
        for (name, first) in [
            ("x.txt\u{202E}gpj.exe", "U+202E"),
            ("a.txt\u{200B}", "U+200B"),
            ("caf\u{E9}", "U+00E9"),
            ("cafe\u{301}", "U+0301"),
            ("..\u{2215}etc\u{2215}passwd", "U+2215"),
            ("line\u{2028}break", "U+2028"),
            ("\u{115F}", "U+115F"),
            ("bom\u{FEFF}", "U+FEFF"),
            ("a b", "U+0020"),
            ("a/b", "U+002F"),
        ] {
            let err = file(name).unwrap_err();
            assert!(err.reason.contains(first), "{name:?}: {err}");
            // The whole message is safe to print: the name is debug-escaped.
            assert!(
                crate::untrusted::first_deceptive(&err.to_string()).is_none(),
                "{err}"
            );
        }
        let err = file("a b.txt").unwrap_err();
        assert!(err.reason.contains("a space"), "{err}");
        assert!(err.reason.contains("( ) [ ]"), "{err}");
    }

    /// Each pattern the OpenAPI document carries accepts exactly what its
    /// check accepts, on ordinary, edge and hostile samples.
    #[test]
    fn patterns_agree_with_the_checks() {
        let samples: Vec<String> = [
            "",
            "a",
            "A9",
            "hello",
            "my-pkg",
            "a.b_c",
            "1.0.0-rc.1+build.5",
            "-x",
            ".x",
            "_x",
            "+x",
            "x+",
            "a b",
            "a/b",
            "a\\b",
            "..",
            ".",
            "...",
            ".hidden",
            "..a",
            "a..",
            "a\nb",
            "a\u{202E}b",
            "caf\u{E9}",
            "name=value,v(1)[2].zip",
            "lib@2.0.jar",
            "pkg~rc1.deb",
            "x%2f",
            "x#",
            "x?",
            "x:y",
            "\u{FF11}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            "a".repeat(63),
            "a".repeat(64),
            "a".repeat(65),
            "a".repeat(255),
            "a".repeat(256),
            format!("{}b", ".".repeat(254)),
        ])
        .collect();
        type Check = fn(&str) -> bool;
        let checks: [(&str, Check); 3] = [
            (PACKAGE_PATTERN, |s| package(s).is_ok()),
            (VERSION_PATTERN, |s| version(s).is_ok()),
            (FILE_PATTERN, |s| file(s).is_ok()),
        ];
        for (pattern, check) in checks {
            let re = regex::Regex::new(pattern).unwrap();
            for s in &samples {
                let by_pattern =
                    re.is_match(s) && (pattern != FILE_PATTERN || s.len() <= MAX_FILE_NAME);
                assert_eq!(by_pattern, check(s), "{pattern} on {s:?}");
            }
        }
        let reason = regex::Regex::new(REJECT_REASON_PATTERN).unwrap();
        for s in [
            "",
            " ",
            "\n",
            " \n\t",
            "bad",
            " bad ",
            "line\nbreak",
            "tab\there",
            "\u{202E}x",
            "x\u{200B}",
            "x\u{7}",
            "x\u{85}y",
            "caf\u{E9}",
            "\u{3000}x",
        ] {
            let by_pattern = reason.is_match(s) && s.trim().len() <= MAX_REJECT_REASON;
            assert_eq!(by_pattern, reject_reason(s).is_ok(), "reason {s:?}");
        }
        let id = regex::Regex::new(RELEASE_ID_PATTERN).unwrap();
        for (s, ok) in [
            ("1", true),
            ("42", true),
            ("0", false),
            ("01", false),
            ("+1", false),
            ("-1", false),
            ("1e3", false),
        ] {
            assert_eq!(id.is_match(s), ok, "{s}");
        }
    }

    #[test]
    fn refuses_the_names_fetch_writes_itself() {
        for name in [
            "shipgate.manifest",
            "shipgate.manifest.minisig",
            "SHIPGATE.MANIFEST",
            "Shipgate.Manifest.Minisig",
        ] {
            let err = file(name).unwrap_err();
            assert!(err.reason.contains("shipgate fetch"), "{name}: {err}");
        }
        for name in ["shipgate.manifest.txt", "my-shipgate.manifest", ".x.part"] {
            assert_eq!(file(name), Ok(()), "{name}");
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
