//! Typed errors. Problems with one audited file are findings
//! (`invalid-workflow`), not errors: these are the failures that stop the
//! whole run (exit 2 in the binary).

use std::path::PathBuf;

/// The audit could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A path given to audit does not exist.
    #[error("`{}` does not exist", path.display())]
    PathNotFound { path: PathBuf },
    /// A directory could not be listed.
    #[error("cannot list `{}`: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The paths hold no workflow or action file.
    #[error("no workflow files found in {paths}")]
    NoWorkflows { paths: String },
    /// A fixed file could not be written back.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file to fix is a symbolic link: `--fix` never writes through one.
    #[error("`{}` is a symbolic link; `--fix` does not write through links", path.display())]
    SymlinkTarget { path: PathBuf },
}

/// `shipgate.toml` could not be used. Every variant names the file and the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("`{}` is not valid TOML: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    /// A key in `[audit]` that shipgate does not know (typos must not fail open).
    #[error("`{}`: unknown key `{key}` in [audit] (expected `disable`, `severity` or `ignore`)", path.display())]
    UnknownKey { path: PathBuf, key: String },
    /// A rule id that does not exist.
    #[error("`{}`: `{field}` names unknown rule `{rule}`", path.display())]
    UnknownRule {
        path: PathBuf,
        field: String,
        rule: String,
    },
    /// A value of the wrong type or form.
    #[error("`{}`: `{field}`: {message}", path.display())]
    BadValue {
        path: PathBuf,
        field: String,
        message: String,
    },
}
