//! The `[audit]` table of `shipgate.toml`:
//!
//! ```toml
//! [audit]
//! disable = ["pin-without-version-comment"]
//!
//! [audit.severity]
//! unpinned-action = "low"
//!
//! [audit.ignore]
//! template-injection = [".github/workflows/triage.yml", ".github/workflows/ci.yml:42"]
//! ```
//!
//! Other top-level tables (`[policy]`, ...) belong to other commands and are
//! ignored. Unknown keys inside `[audit]` and unknown rule ids are errors.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::finding::Severity;
use crate::rules;

/// One `[audit.ignore]` entry: a path (matched as a suffix at a `/`
/// boundary, so `.github/workflows/ci.yml` matches `repo/.github/workflows/ci.yml`)
/// and optionally a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub path: String,
    pub line: Option<usize>,
}

impl IgnoreEntry {
    fn parse(text: &str) -> Self {
        if let Some((path, line)) = text.rsplit_once(':')
            && let Ok(line) = line.parse()
        {
            return Self {
                path: normalize(path),
                line: Some(line),
            };
        }
        Self {
            path: normalize(text),
            line: None,
        }
    }

    pub fn matches(&self, file: &str, line: usize) -> bool {
        let file = normalize(file);
        let path_ok = file == self.path || file.ends_with(&format!("/{}", self.path));
        path_ok && self.line.is_none_or(|l| l == line)
    }
}

fn normalize(path: &str) -> String {
    let p = path.replace('\\', "/");
    let mut p = p.as_str();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_owned()
}

/// The audit configuration (empty by default).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from, if anywhere.
    pub source: Option<PathBuf>,
    pub disable: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
    pub ignore: BTreeMap<String, Vec<IgnoreEntry>>,
}

impl Config {
    /// Reads and checks a `shipgate.toml`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let bad = |field: &str, message: String| ConfigError::BadValue {
            path: path.to_owned(),
            field: field.to_owned(),
            message,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Toml {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?;
        let mut config = Config {
            source: Some(path.to_owned()),
            ..Config::default()
        };
        let Some(audit) = table.get("audit") else {
            return Ok(config);
        };
        let audit = audit
            .as_table()
            .ok_or_else(|| bad("audit", "must be a table".to_owned()))?;
        let known_rule = |field: &str, rule: &str| -> Result<(), ConfigError> {
            if rules::find(rule).is_some() {
                Ok(())
            } else {
                Err(ConfigError::UnknownRule {
                    path: path.to_owned(),
                    field: field.to_owned(),
                    rule: rule.to_owned(),
                })
            }
        };
        for (key, value) in audit {
            match key.as_str() {
                "disable" => {
                    let list = value.as_array().ok_or_else(|| {
                        bad("audit.disable", "must be a list of rule ids".to_owned())
                    })?;
                    for item in list {
                        let rule = item.as_str().ok_or_else(|| {
                            bad("audit.disable", "must be a list of rule ids".to_owned())
                        })?;
                        known_rule("audit.disable", rule)?;
                        config.disable.insert(rule.to_owned());
                    }
                }
                "severity" => {
                    let map = value.as_table().ok_or_else(|| {
                        bad(
                            "audit.severity",
                            "must be a table of rule id = \"low|medium|high\"".to_owned(),
                        )
                    })?;
                    for (rule, sev) in map {
                        let field = format!("audit.severity.{rule}");
                        known_rule(&field, rule)?;
                        let sev = sev
                            .as_str()
                            .ok_or_else(|| {
                                bad(&field, "must be \"low\", \"medium\" or \"high\"".to_owned())
                            })?
                            .parse::<Severity>()
                            .map_err(|m| bad(&field, m))?;
                        config.severity.insert(rule.clone(), sev);
                    }
                }
                "ignore" => {
                    let map = value.as_table().ok_or_else(|| {
                        bad(
                            "audit.ignore",
                            "must be a table of rule id = [\"path\", \"path:line\"]".to_owned(),
                        )
                    })?;
                    for (rule, entries) in map {
                        let field = format!("audit.ignore.{rule}");
                        known_rule(&field, rule)?;
                        let list = entries.as_array().ok_or_else(|| {
                            bad(
                                &field,
                                "must be a list of \"path\" or \"path:line\"".to_owned(),
                            )
                        })?;
                        let mut parsed = Vec::new();
                        for e in list {
                            let s = e.as_str().ok_or_else(|| {
                                bad(
                                    &field,
                                    "must be a list of \"path\" or \"path:line\"".to_owned(),
                                )
                            })?;
                            parsed.push(IgnoreEntry::parse(s));
                        }
                        config.ignore.insert(rule.clone(), parsed);
                    }
                }
                other => {
                    return Err(ConfigError::UnknownKey {
                        path: path.to_owned(),
                        key: other.to_owned(),
                    });
                }
            }
        }
        Ok(config)
    }

    /// Whether `[audit.ignore]` suppresses this rule at this place.
    pub fn ignores(&self, rule: &str, file: &str, line: usize) -> bool {
        self.ignore
            .get(rule)
            .is_some_and(|entries| entries.iter().any(|e| e.matches(file, line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("shipgate.toml"))
    }

    #[test]
    fn reads_every_key() {
        let c = parse(
            "[policy]\nanything = 1\n[audit]\ndisable = [\"pin-without-version-comment\"]\n[audit.severity]\nunpinned-action = \"low\"\n[audit.ignore]\ntemplate-injection = [\".github/workflows/a.yml\", \"./b.yml:12\"]\n",
        )
        .unwrap();
        assert!(c.disable.contains("pin-without-version-comment"));
        assert_eq!(c.severity["unpinned-action"], Severity::Low);
        assert!(c.ignores("template-injection", "repo/.github/workflows/a.yml", 3));
        assert!(c.ignores("template-injection", "b.yml", 12));
        assert!(!c.ignores("template-injection", "b.yml", 13));
        assert!(!c.ignores("template-injection", "xb.yml", 12));
    }

    #[test]
    fn refuses_unknown_keys_rules_and_values() {
        let e = parse("[audit]\ndisabled = []\n").unwrap_err();
        assert!(e.to_string().contains("unknown key `disabled`"), "{e}");
        let e = parse("[audit]\ndisable = [\"no-such-rule\"]\n").unwrap_err();
        assert!(e.to_string().contains("no-such-rule"), "{e}");
        let e = parse("[audit.severity]\nunpinned-action = \"critical\"\n").unwrap_err();
        assert!(e.to_string().contains("critical"), "{e}");
        assert!(parse("[audit\n").is_err());
        assert!(parse("audit = 3\n").is_err());
    }
}
