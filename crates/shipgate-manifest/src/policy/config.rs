//! `shipgate.toml`'s `[policy]` table.
//!
//! ```toml
//! [policy]
//! protected-branches = ["main", "release/*"]  # push and PRs into these: require-signature
//! local = "checksum-only"                     # a developer's machine
//! push = "checksum-only"                      # pushes to other branches
//! pull-request = "checksum-only"              # PRs into other branches
//! ```
//!
//! Every key is optional (the defaults are shown). Unknown keys are
//! refused, and so is `install`: installs always require a signature.
//! Globs: `*` matches within one `/`-separated segment, `**` across them.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::{Context, Mode};
use crate::limits::MAX_POLICY_FILE_BYTES;

/// The policy file looked for in the working directory.
pub const POLICY_FILE: &str = "shipgate.toml";

/// A policy file that cannot be used: one line naming the file and line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The policy file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Invalid TOML, an unknown key, a bad mode or glob.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The policy file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// Where the policy came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// No policy file: the built-in default.
    BuiltIn,
    /// A `shipgate.toml`.
    File(PathBuf),
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::BuiltIn => f.write_str("built-in default policy"),
            PolicySource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    protected_branches: Option<Vec<String>>,
    local: Option<String>,
    push: Option<String>,
    pull_request: Option<String>,
    install: Option<toml::Value>,
}

/// The trust policy: protected branches and the mode of other contexts.
#[derive(Clone, Debug)]
pub struct PolicyConfig {
    protected: Vec<String>,
    matcher: GlobSet,
    local: Mode,
    push: Mode,
    pull_request: Mode,
    source: PolicySource,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self::built_in()
    }
}

fn glob_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("protected-branches: bad glob '{pattern}': {}", e.kind()))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| e.to_string())
}

impl PolicyConfig {
    /// The built-in default: `main` is protected, everything else
    /// `checksum-only`.
    pub fn built_in() -> Self {
        let protected = vec!["main".to_string()];
        Self {
            matcher: glob_set(&protected).unwrap_or_else(|_| GlobSet::empty()),
            protected,
            local: Mode::ChecksumOnly,
            push: Mode::ChecksumOnly,
            pull_request: Mode::ChecksumOnly,
            source: PolicySource::BuiltIn,
        }
    }

    /// Parses a `shipgate.toml`'s text. Tables other than `[policy]` belong
    /// to other parts of shipgate and are left alone.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PolicyError> {
        let invalid = |line: Option<usize>, message: String| PolicyError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let line_of = |span: Option<std::ops::Range<usize>>| {
            span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        };
        // Other top-level tables belong to other parts of shipgate: ignored.
        #[derive(Deserialize)]
        struct PolicyFile {
            policy: Option<RawPolicy>,
        }
        let file: PolicyFile = toml::from_str(text)
            .map_err(|e| invalid(line_of(e.span()), e.message().to_string()))?;
        let mut config = Self::built_in();
        config.source = PolicySource::File(path.to_path_buf());
        let Some(raw) = file.policy else {
            return Ok(config);
        };
        if raw.install.is_some() {
            return Err(invalid(
                find_key_line(text, "install"),
                "install cannot be configured: end-user installs always require a signature"
                    .to_string(),
            ));
        }
        let mode = |value: Option<String>, key: &str, default: Mode| match value {
            None => Ok(default),
            Some(v) => v
                .parse::<Mode>()
                .map_err(|e| invalid(find_key_line(text, key), format!("{key}: {e}"))),
        };
        config.local = mode(raw.local, "local", config.local)?;
        config.push = mode(raw.push, "push", config.push)?;
        config.pull_request = mode(raw.pull_request, "pull-request", config.pull_request)?;
        if let Some(protected) = raw.protected_branches {
            config.matcher = glob_set(&protected)
                .map_err(|m| invalid(find_key_line(text, "protected-branches"), m))?;
            config.protected = protected;
        }
        Ok(config)
    }

    /// Reads `path` (capped size).
    pub fn from_file(path: &Path) -> Result<Self, PolicyError> {
        let read = |source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = crate::keys::read_capped(path, MAX_POLICY_FILE_BYTES).map_err(read)?;
        let bytes = bytes.ok_or_else(|| PolicyError::Invalid {
            path: path.to_path_buf(),
            line: None,
            message: format!("larger than {MAX_POLICY_FILE_BYTES} bytes"),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::Invalid {
            path: path.to_path_buf(),
            line: None,
            message: "not UTF-8 text".to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// `--policy FILE` when given; otherwise `shipgate.toml` in `cwd` when
    /// it exists; otherwise the built-in default.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Self, PolicyError> {
        if let Some(path) = explicit {
            return Self::from_file(path);
        }
        let candidate = cwd.join(POLICY_FILE);
        if candidate.is_file() {
            Self::from_file(&candidate)
        } else {
            Ok(Self::built_in())
        }
    }

    /// Where this policy came from.
    pub fn source(&self) -> &PolicySource {
        &self.source
    }

    /// The protected branch globs.
    pub fn protected_branches(&self) -> &[String] {
        &self.protected
    }

    /// The first protected-branch glob matching `branch`.
    fn protected_match(&self, branch: &str) -> Option<&str> {
        self.matcher
            .matches(branch)
            .first()
            .and_then(|&i| self.protected.get(i))
            .map(String::as_str)
    }

    /// The mode this policy gives `context` (`None`: undetermined), and
    /// the rule that chose it.
    pub fn mode_for(&self, context: Option<&Context>) -> (Mode, String) {
        let source = &self.source;
        let configured = |key: &str, mode: Mode| match source {
            PolicySource::BuiltIn => format!("built-in default: {key} = \"{mode}\""),
            PolicySource::File(path) => format!(
                "{}: [policy] {key} = \"{mode}\" (or its default)",
                path.display()
            ),
        };
        match context {
            None => (
                Mode::RequireSignature,
                "no context could be determined: fail closed to require-signature".to_string(),
            ),
            Some(Context::Install) => (
                Mode::RequireSignature,
                "install always requires a signature (cannot be configured or lowered)".to_string(),
            ),
            Some(Context::Local) => (self.local, configured("local", self.local)),
            Some(Context::Push(branch) | Context::Pr(branch)) => {
                let is_push = matches!(context, Some(Context::Push(_)));
                if let Some(glob) = self.protected_match(branch) {
                    let what = if is_push {
                        "push to"
                    } else {
                        "pull request into"
                    };
                    return (
                        Mode::RequireSignature,
                        format!(
                            "{what} protected branch '{branch}' (matches '{glob}' in {source}): require-signature"
                        ),
                    );
                }
                if is_push {
                    (self.push, configured("push", self.push))
                } else {
                    (
                        self.pull_request,
                        configured("pull-request", self.pull_request),
                    )
                }
            }
        }
    }
}

/// Line of the first `key =` assignment, for error messages.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}
