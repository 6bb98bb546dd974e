//! Trusted-publisher bindings: which CI identity may act for a package, the
//! way PyPI and npm trusted publishing do it.
//!
//! A binding is matched claim by claim against a token whose signature,
//! issuer, audience and times were already verified (by [`crate::Verifier`]),
//! never by comparing `sub` as one string (its format is configurable by
//! repository owners on both GitHub and GitLab). On success it returns the
//! [`Provenance`] the gate records with a staged release.

mod github;
mod gitlab;

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

pub use github::{
    DEFAULT_GITHUB_EVENTS, GITHUB_ISSUER, GitHubBinding, REFUSED_GITHUB_EVENTS, REFUSED_REF_PREFIX,
    WorkflowSource,
};
pub use gitlab::{GITLAB_ISSUER, GitLabBinding};

use crate::claims::Claims;

/// Where a verified token says it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// `github` or `gitlab`.
    pub provider: &'static str,
    /// The issuer.
    pub issuer: String,
    /// `owner/repo` (GitHub) or the project path (GitLab), as the token spells it.
    pub repository: String,
    /// The workflow that ran: `workflow_ref`/`job_workflow_ref` (GitHub) or
    /// `ci_config_ref_uri` (GitLab).
    pub workflow: String,
    /// The git ref (`refs/heads/main`, `refs/tags/v1.2.3`).
    pub git_ref: String,
    /// The commit.
    pub commit_sha: String,
    /// The run: `run_id` (GitHub) or `pipeline_id` (GitLab).
    pub run_id: String,
    /// The deployment environment, when the job had one.
    pub environment: Option<String>,
}

/// Why a token does not match a binding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// The token's issuer is not the binding's.
    #[error("issuer {0:?} is not the binding's issuer")]
    Issuer(String),
    /// A claim the binding needs is absent or not a string.
    #[error("claim `{0}` is missing or not a string")]
    MissingClaim(&'static str),
    /// A claim has another value than the binding requires.
    #[error("claim `{claim}` is {found:?}, the binding requires {expected}")]
    Mismatch {
        claim: &'static str,
        found: String,
        expected: String,
    },
    /// The workflow was triggered by an event that can run untrusted code
    /// with the repository's privileges.
    #[error("event {0:?} is refused for publishing whatever the binding says")]
    RefusedEvent(String),
    /// The workflow was triggered by an event the binding does not list
    /// (by default: push, release, workflow_dispatch, schedule).
    #[error(
        "event {event:?} is not one the binding accepts ({allowed}); hint: if this workflow really releases on it, add it to the binding's events = [...]"
    )]
    EventNotAllowed {
        /// The token's `event_name`.
        event: String,
        /// The events the binding accepts, comma-separated.
        allowed: String,
    },
    /// The token was minted for a pull request's ref (`refs/pull/...`).
    #[error("ref {0:?} is a pull request's; releases are never staged from one")]
    PullRequestRef(String),
    /// The binding's ref pattern does not compile.
    #[error("bad ref pattern {0:?}")]
    BadPattern(String),
}

/// A binding for either provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// GitHub Actions.
    GitHub(GitHubBinding),
    /// GitLab CI.
    GitLab(GitLabBinding),
}

impl Binding {
    /// The issuer whose tokens this binding accepts.
    pub fn issuer(&self) -> &str {
        match self {
            Binding::GitHub(b) => &b.issuer,
            Binding::GitLab(b) => &b.issuer,
        }
    }

    /// Matches verified claims against the binding.
    pub fn check(&self, claims: &Claims) -> Result<Provenance, BindingError> {
        match self {
            Binding::GitHub(b) => b.check(claims),
            Binding::GitLab(b) => b.check(claims),
        }
    }
}

fn string_claim<'a>(claims: &'a Claims, name: &'static str) -> Result<&'a str, BindingError> {
    claims
        .get_str(name)
        .filter(|v| !v.is_empty())
        .ok_or(BindingError::MissingClaim(name))
}

fn check_issuer(claims: &Claims, issuer: &str) -> Result<(), BindingError> {
    if claims.issuer() == issuer {
        Ok(())
    } else {
        Err(BindingError::Issuer(claims.issuer().to_owned()))
    }
}

fn mismatch(claim: &'static str, found: &str, expected: impl Into<String>) -> BindingError {
    BindingError::Mismatch {
        claim,
        found: found.to_owned(),
        expected: expected.into(),
    }
}

/// `true` when `value` starts with `prefix`, ASCII case-insensitively.
fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    value
        .as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Checks that `pattern` compiles as a ref glob (so a configuration can be
/// refused at load rather than every token at staging).
pub fn check_ref_pattern(pattern: &str) -> Result<(), BindingError> {
    ref_matcher(pattern).map(|_| ())
}

fn ref_matcher(pattern: &str) -> Result<GlobMatcher, BindingError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|_| BindingError::BadPattern(pattern.to_owned()))
}

fn check_environment(
    claims: &Claims,
    expected: Option<&str>,
) -> Result<Option<String>, BindingError> {
    let found = claims.get_str("environment").filter(|e| !e.is_empty());
    if let Some(expected) = expected {
        let env = found.ok_or(BindingError::MissingClaim("environment"))?;
        if !env.eq_ignore_ascii_case(expected) {
            return Err(mismatch(
                "environment",
                env,
                format!("{expected:?} (any case)"),
            ));
        }
    }
    Ok(found.map(str::to_owned))
}

fn check_ref(git_ref: &str, pattern: Option<&str>) -> Result<(), BindingError> {
    if let Some(pattern) = pattern
        && !ref_matcher(pattern)?.is_match(git_ref)
    {
        return Err(mismatch("ref", git_ref, format!("pattern {pattern:?}")));
    }
    Ok(())
}
