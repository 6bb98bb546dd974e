//! The kinds of registry a release can be published to.

use serde::{Deserialize, Serialize};

/// A registry protocol, and with it the artifact format it publishes.
///
/// Serialised as the lowercase strings used in `gate.toml`: `"npm"`, `"pypi"`, `"cargo"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An npm registry; the artifact is the tarball `npm pack` makes.
    Npm,
    /// A Python package index; the artifacts are wheels (`.whl`) and sdists (`.tar.gz`).
    Pypi,
    /// A cargo registry with a sparse index; the artifact is the `.crate` file.
    Cargo,
}

impl TargetKind {
    /// The name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Npm => "npm",
            TargetKind::Pypi => "pypi",
            TargetKind::Cargo => "cargo",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TargetKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "npm" => Ok(TargetKind::Npm),
            "pypi" => Ok(TargetKind::Pypi),
            "cargo" => Ok(TargetKind::Cargo),
            other => Err(format!(
                "unknown target kind {other:?} (expected npm, pypi or cargo)"
            )),
        }
    }
}
