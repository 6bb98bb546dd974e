//! Registry targets: `[[package.target]]` in gate.toml, their credentials
//! (loaded once at start, never shown), and `[publishing]` retry settings.
//!
//! A credential is read from a file only its owner can read (mode 0600) or
//! from an environment variable of the gate process. It lives in memory in a
//! [`Credential`], whose `Debug` and `Display` print `<redacted>`; nothing
//! here puts it in a message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use shipgate_registry::{Credential, CredentialError, Target, TargetKind};

use crate::config::GateConfig;

/// One `[[package.target]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `npm`, `pypi` or `cargo`.
    pub kind: TargetKind,
    /// The registry (npm registry URL, PyPI upload URL, cargo sparse index).
    pub registry: String,
    /// File holding the token (mode 0600), resolved against gate.toml's directory.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable of the gate process holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// npm only: the dist-tag (default `latest`).
    #[serde(default)]
    pub tag: Option<String>,
    /// PyPI only: the user name sent with the token (default `__token__`;
    /// pypiserver takes an htpasswd user).
    #[serde(default)]
    pub username: Option<String>,
    /// PyPI only: the simple index to look for existing files in.
    #[serde(default)]
    pub index: Option<String>,
    /// The name on the registry when it differs from the gate's package name
    /// (npm scoped packages: `@scope/name`, which the gate's name rules refuse
    /// in URL paths).
    #[serde(default)]
    pub name: Option<String>,
}

impl TargetConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        match (&self.token_file, &self.token_env) {
            (Some(_), Some(_)) => {
                return Err((
                    "token_file",
                    "give token_file or token_env, not both".into(),
                ));
            }
            (None, None) => {
                return Err((
                    "token_file",
                    "a target needs token_file (mode 0600) or token_env".into(),
                ));
            }
            _ => {}
        }
        if let Some(var) = &self.token_env
            && (var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err((
                "token_env",
                "must be an environment variable name (letters, digits, '_')".into(),
            ));
        }
        let url = self.registry.trim_start_matches("sparse+");
        let parsed = url::Url::parse(url)
            .map_err(|e| ("registry", format!("{:?} is not a URL: {e}", self.registry)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(("registry", "must be an http(s) URL".into()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err((
                "registry",
                "must not carry credentials; use token_file or token_env".into(),
            ));
        }
        if self.tag.is_some() && self.kind != TargetKind::Npm {
            return Err(("tag", "only npm targets have a dist-tag".into()));
        }
        if (self.username.is_some() || self.index.is_some()) && self.kind != TargetKind::Pypi {
            return Err((
                "username",
                "username and index are for pypi targets only".into(),
            ));
        }
        if let Some(name) = &self.name
            && (name.is_empty() || name.len() > 214 || name.chars().any(char::is_whitespace))
        {
            return Err(("name", "must be a registry package name".into()));
        }
        Ok(())
    }

    /// The protocol-level target.
    pub fn target(&self) -> Target {
        let mut target = Target::new(self.kind, self.registry.clone());
        if let Some(tag) = &self.tag {
            target = target.with_tag(tag.clone());
        }
        if let Some(index) = &self.index {
            target = target.with_index(index.clone());
        }
        target
    }
}

/// `[publishing]`: how publishing jobs are retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishingConfig {
    /// Attempts before a job is `failed` (default 5).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// First wait between attempts, in milliseconds (default 1000); doubles
    /// after each attempt.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Longest wait between attempts, in milliseconds (default 60000).
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// Connect timeout and longest silence of a registry, in seconds (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    1000
}
fn default_max_backoff() -> u64 {
    60_000
}
fn default_timeout() -> u64 {
    30
}

impl Default for PublishingConfig {
    fn default() -> Self {
        PublishingConfig {
            attempts: default_attempts(),
            backoff_ms: default_backoff(),
            max_backoff_ms: default_max_backoff(),
            timeout_seconds: default_timeout(),
        }
    }
}

impl PublishingConfig {
    /// The wait after failed attempt number `attempt` (1-based): the backoff
    /// doubled per earlier attempt, capped.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(20);
        Duration::from_millis(
            self.backoff_ms
                .saturating_mul(factor)
                .min(self.max_backoff_ms),
        )
    }

    /// At least one attempt, whatever the config says.
    pub fn attempts(&self) -> u32 {
        self.attempts.max(1)
    }
}

/// Why a target's credential could not be loaded at start.
#[derive(Debug, thiserror::Error)]
#[error("package {package:?} target {index} ({kind}): {source}")]
pub struct TargetError {
    /// The package.
    pub package: String,
    /// The target's position in the package's list.
    pub index: usize,
    /// The target's kind.
    pub kind: TargetKind,
    /// What was wrong (names the file or variable, never its content).
    #[source]
    pub source: CredentialError,
}

/// Every target's credential, loaded once at start.
#[derive(Clone, Default)]
pub struct Credentials {
    by_target: BTreeMap<(String, usize), Credential>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials({} targets, <redacted>)",
            self.by_target.len()
        )
    }
}

impl Credentials {
    /// Reads every target's token: files must be mode 0600, variables set.
    pub fn load(config: &GateConfig) -> Result<Self, TargetError> {
        let mut by_target = BTreeMap::new();
        for package in &config.packages {
            for (index, target) in package.targets.iter().enumerate() {
                let error = |source| TargetError {
                    package: package.name.clone(),
                    index,
                    kind: target.kind,
                    source,
                };
                let token = match (&target.token_file, &target.token_env) {
                    (Some(file), _) => Credential::from_file(&config.base_dir.join(file)),
                    (None, Some(var)) => Credential::from_env(var),
                    (None, None) => Credential::from_env(""),
                }
                .map_err(error)?;
                let credential = match &target.username {
                    Some(user) => token.with_username(user.clone()),
                    None => token,
                };
                by_target.insert((package.name.clone(), index), credential);
            }
        }
        Ok(Credentials { by_target })
    }

    /// The credential of `package`'s target number `index`.
    pub fn get(&self, package: &str, index: usize) -> Option<&Credential> {
        self.by_target.get(&(package.to_owned(), index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = PublishingConfig {
            attempts: 5,
            backoff_ms: 1000,
            max_backoff_ms: 5000,
            timeout_seconds: 1,
        };
        assert_eq!(c.backoff_after(1), Duration::from_millis(1000));
        assert_eq!(c.backoff_after(2), Duration::from_millis(2000));
        assert_eq!(c.backoff_after(3), Duration::from_millis(4000));
        assert_eq!(c.backoff_after(4), Duration::from_millis(5000));
        assert_eq!(c.backoff_after(99), Duration::from_millis(5000));
    }

    fn target(extra: &str) -> Result<(), (&'static str, String)> {
        let t: TargetConfig = toml::from_str(&format!(
            "kind = \"npm\"\nregistry = \"http://127.0.0.1:1/\"\n{extra}"
        ))
        .unwrap();
        t.validate()
    }

    #[test]
    fn targets_are_checked() {
        assert!(target("token_env = \"NPM_TOKEN\"").is_ok());
        assert!(target("token_file = \"t\"\ntag = \"next\"").is_ok());
        assert_eq!(target("").unwrap_err().0, "token_file");
        assert_eq!(
            target("token_file = \"t\"\ntoken_env = \"X\"")
                .unwrap_err()
                .0,
            "token_file"
        );
        assert_eq!(target("token_env = \"A B\"").unwrap_err().0, "token_env");
        assert_eq!(
            target("token_env = \"X\"\nusername = \"u\"").unwrap_err().0,
            "username"
        );
        let with_userinfo: TargetConfig = toml::from_str(
            "kind = \"npm\"\nregistry = \"https://u:p@example.org/\"\ntoken_env = \"X\"",
        )
        .unwrap();
        assert_eq!(with_userinfo.validate().unwrap_err().0, "registry");
    }
}
