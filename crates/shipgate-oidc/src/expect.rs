//! Expected claims (`--expect KEY=VALUE`, `--expect-glob KEY=PATTERN`).
//!
//! The claim must be present and non-empty. A string compares as is; a
//! number or boolean by its JSON text (`42`, `true`); null, arrays and
//! objects never match. The expected value always comes from the caller,
//! never from the token. Globs use `globset` syntax with `*` and `?` not
//! crossing `/` (use `**` for that), so `refs/heads/*` does not match
//! `refs/heads/a/b`.

use globset::{GlobBuilder, GlobMatcher};
use serde_json::Value;

use crate::claims::Claims;
use crate::error::Rejection;

/// One expected claim.
#[derive(Debug, Clone)]
pub struct Expectation {
    claim: String,
    rule: Rule,
}

#[derive(Debug, Clone)]
enum Rule {
    Exact(String),
    Glob {
        pattern: String,
        matcher: GlobMatcher,
    },
}

/// A malformed expectation (a usage error, not a token problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpectationError {
    /// Not `KEY=VALUE`.
    #[error("{0:?} is not KEY=VALUE")]
    NoEquals(String),
    /// Empty claim name.
    #[error("{0:?} has an empty claim name")]
    EmptyName(String),
    /// Empty value: it would otherwise look like "the claim may be missing".
    #[error("{0:?} has an empty value; an expected claim must be present and non-empty")]
    EmptyValue(String),
    /// The glob does not compile.
    #[error("{text:?}: bad glob pattern: {reason}")]
    BadGlob { text: String, reason: String },
}

impl Expectation {
    /// `claim` must equal `value` exactly.
    pub fn exact(claim: &str, value: &str) -> Result<Expectation, ExpectationError> {
        let text = format!("{claim}={value}");
        check_parts(&text, claim, value)?;
        Ok(Expectation {
            claim: claim.to_owned(),
            rule: Rule::Exact(value.to_owned()),
        })
    }

    /// `claim` must match the glob `pattern`.
    pub fn glob(claim: &str, pattern: &str) -> Result<Expectation, ExpectationError> {
        let text = format!("{claim}={pattern}");
        check_parts(&text, claim, pattern)?;
        let matcher = GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|err| ExpectationError::BadGlob {
                text: text.clone(),
                reason: err.kind().to_string(),
            })?
            .compile_matcher();
        Ok(Expectation {
            claim: claim.to_owned(),
            rule: Rule::Glob {
                pattern: pattern.to_owned(),
                matcher,
            },
        })
    }

    /// Parses `KEY=VALUE` (exact). The value may contain `=`.
    pub fn parse_exact(text: &str) -> Result<Expectation, ExpectationError> {
        let (claim, value) = split(text)?;
        Expectation::exact(claim, value)
    }

    /// Parses `KEY=PATTERN` (glob).
    pub fn parse_glob(text: &str) -> Result<Expectation, ExpectationError> {
        let (claim, pattern) = split(text)?;
        Expectation::glob(claim, pattern)
    }

    /// The claim name.
    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// Checks the claim in verified `claims`.
    pub fn check(&self, claims: &Claims) -> Result<(), Rejection> {
        let missing = || Rejection::ExpectedClaimMissing(self.claim.clone());
        let text = match claims.get(&self.claim) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => return Err(missing()),
        };
        if text.is_empty() {
            return Err(missing());
        }
        let (matches, expected) = match &self.rule {
            Rule::Exact(value) => (text == *value, format!("value {value:?}")),
            Rule::Glob { pattern, matcher } => {
                (matcher.is_match(&text), format!("pattern {pattern:?}"))
            }
        };
        if matches {
            Ok(())
        } else {
            Err(Rejection::ExpectedClaimMismatch {
                claim: self.claim.clone(),
                expected,
            })
        }
    }
}

fn split(text: &str) -> Result<(&str, &str), ExpectationError> {
    text.split_once('=')
        .ok_or_else(|| ExpectationError::NoEquals(text.to_owned()))
}

fn check_parts(text: &str, claim: &str, value: &str) -> Result<(), ExpectationError> {
    if claim.is_empty() {
        return Err(ExpectationError::EmptyName(text.to_owned()));
    }
    if value.is_empty() {
        return Err(ExpectationError::EmptyValue(text.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Expectation, ExpectationError};
    use crate::claims::Claims;
    use crate::error::Rejection;

    fn claims() -> Claims {
        Claims::new(
            json!({
                "node_id": "deploy-prod", "n": 42, "f": 1.5, "ok": true, "empty": "",
                "nul": null, "arr": ["deploy-prod"], "obj": {"a": 1},
                "pipeline_file": ".semaphore/deploy.yml", "ref": "refs/heads/a/b",
            })
            .as_object()
            .unwrap()
            .clone(),
        )
    }

    fn check(e: &str) -> Result<(), Rejection> {
        Expectation::parse_exact(e).unwrap().check(&claims())
    }

    fn check_glob(e: &str) -> Result<(), Rejection> {
        Expectation::parse_glob(e).unwrap().check(&claims())
    }

    #[test]
    fn exact_matches() {
        assert_eq!(check("node_id=deploy-prod"), Ok(()));
        assert_eq!(check("n=42"), Ok(()));
        assert_eq!(check("f=1.5"), Ok(()));
        assert_eq!(check("ok=true"), Ok(()));
        for bad in [
            "node_id=deploy",
            "node_id=Deploy-prod",
            "n=42.0",
            "n=042",
            "ok=True",
        ] {
            assert!(
                matches!(check(bad), Err(Rejection::ExpectedClaimMismatch { .. })),
                "{bad}"
            );
        }
        for missing in [
            "absent=x",
            "empty=x",
            "nul=null",
            "arr=deploy-prod",
            "obj=x",
        ] {
            assert!(
                matches!(check(missing), Err(Rejection::ExpectedClaimMissing(_))),
                "{missing}"
            );
        }
    }

    #[test]
    fn globs_do_not_cross_slashes_unless_asked() {
        assert_eq!(check_glob("pipeline_file=.semaphore/*.yml"), Ok(()));
        assert_eq!(check_glob("ref=refs/heads/**"), Ok(()));
        assert!(check_glob("ref=refs/heads/*").is_err());
        assert!(check_glob("node_id=prod-*").is_err());
        assert!(matches!(
            check_glob("empty=*"),
            Err(Rejection::ExpectedClaimMissing(_))
        ));
    }

    #[test]
    fn malformed_expectations_are_usage_errors() {
        assert!(matches!(
            Expectation::parse_exact("k="),
            Err(ExpectationError::EmptyValue(_))
        ));
        assert!(matches!(
            Expectation::parse_exact("=v"),
            Err(ExpectationError::EmptyName(_))
        ));
        assert!(matches!(
            Expectation::parse_exact("kv"),
            Err(ExpectationError::NoEquals(_))
        ));
        assert!(matches!(
            Expectation::parse_glob("k=[a"),
            Err(ExpectationError::BadGlob { .. })
        ));
        // A value may itself contain `=`.
        let e = Expectation::parse_exact("k=a=b").unwrap();
        let c = Claims::new(json!({"k": "a=b"}).as_object().unwrap().clone());
        assert_eq!(e.check(&c), Ok(()));
    }
}
