//! The branch-aware trust policy: which verification [`Mode`] applies in
//! which [`Context`].
//!
//! Built-in default (the table of seed 000):
//!
//! | context                              | mode                |
//! |--------------------------------------|---------------------|
//! | `local`                              | `checksum-only`     |
//! | `push:<branch>` (branch is not main) | `checksum-only`     |
//! | `pr:<base>` (base is not main)       | `checksum-only`     |
//! | `push:main`, `pr:main`               | `require-signature` |
//! | `install`                            | `require-signature` |
//! | no context found                     | `require-signature` |

mod config;
mod context;
mod resolve;

use std::fmt;
use std::str::FromStr;

pub use config::{POLICY_FILE, PolicyConfig, PolicyError, PolicySource};
pub use context::{ContextError, ContextSource, Detected, detect_context};
pub use resolve::{ModeSource, Request, Resolution, ResolveError, resolve};

/// How strictly a module is verified. Ordered: `ChecksumOnly` < `RequireSignature`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Checksums must match; a signature that is present is still checked.
    ChecksumOnly,
    /// Checksums must match and a valid shipgate signature must be present.
    RequireSignature,
}

impl Mode {
    /// The name users type.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ChecksumOnly => "checksum-only",
            Mode::RequireSignature => "require-signature",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not `checksum-only` or `require-signature`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode '{0}' (expected checksum-only or require-signature)")]
pub struct BadMode(pub String);

impl FromStr for Mode {
    type Err = BadMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "checksum-only" => Ok(Mode::ChecksumOnly),
            "require-signature" => Ok(Mode::RequireSignature),
            other => Err(BadMode(other.to_string())),
        }
    }
}

/// Where verification runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    /// A developer's machine, outside CI.
    Local,
    /// CI on a push to a branch.
    Push(String),
    /// CI on a pull request into a base branch.
    Pr(String),
    /// An end user installing a module: always `require-signature`.
    Install,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Local => f.write_str("local"),
            Context::Push(branch) => write!(f, "push:{branch}"),
            Context::Pr(base) => write!(f, "pr:{base}"),
            Context::Install => f.write_str("install"),
        }
    }
}

impl FromStr for Context {
    type Err = ContextError;

    /// `local`, `install`, `push:<branch>` or `pr:<base-branch>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let branch = |b: &str| {
            if b.is_empty() || b.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(ContextError(s.to_string()))
            } else {
                Ok(b.to_string())
            }
        };
        match s {
            "local" => Ok(Context::Local),
            "install" => Ok(Context::Install),
            _ => match s.split_once(':') {
                Some(("push", b)) => Ok(Context::Push(branch(b)?)),
                Some(("pr", b)) => Ok(Context::Pr(branch(b)?)),
                _ => Err(ContextError(s.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests;
