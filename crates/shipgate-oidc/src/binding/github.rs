//! GitHub Actions trusted publishers.
//!
//! Claims used (all documented by GitHub): `repository` (compared without
//! case: GitHub names are case-insensitive), `repository_owner_id` and,
//! when pinned, `repository_id` (numbers that survive renames, so a deleted
//! and re-created owner or repository of the same name does not inherit the
//! binding), `workflow_ref` — or `job_workflow_ref` when the publishing job
//! is a reusable workflow in another repository — `environment` (without
//! case, like GitHub), `ref`, `event_name`.
//!
//! Whatever the binding says, a token is refused when its `ref` is a pull
//! request's (`refs/pull/...`: code proposed, not merged) or its event is
//! one of [`REFUSED_GITHUB_EVENTS`]; other events than the ones a release
//! runs on ([`DEFAULT_GITHUB_EVENTS`]) are refused unless the binding lists
//! them.

use super::{
    BindingError, Provenance, check_environment, check_issuer, check_ref, mismatch,
    starts_with_ignore_case, string_claim,
};
use crate::claims::Claims;

/// The issuer of GitHub.com's Actions tokens.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Events refused whatever the binding says: both run with the base
/// repository's privileges on behalf of code or artifacts from a fork.
pub const REFUSED_GITHUB_EVENTS: [&str; 2] = ["pull_request_target", "workflow_run"];

/// The events a release runs on, accepted when a binding lists none.
pub const DEFAULT_GITHUB_EVENTS: [&str; 4] = ["push", "release", "workflow_dispatch", "schedule"];

/// Refs refused whatever the binding says: a pull request's merge or head
/// ref is code someone proposed, not code the repository accepted.
pub const REFUSED_REF_PREFIX: &str = "refs/pull/";

/// Which claim names the workflow file that must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowSource {
    /// `workflow_ref`: the top-level workflow of the run, in the bound repository.
    Caller,
    /// `job_workflow_ref`: a reusable workflow, kept in `repository` (which
    /// may be the bound repository or a shared one, e.g. `org/workflows`).
    Reusable {
        /// `owner/repo` holding the reusable workflow (any case).
        repository: String,
    },
}

/// A GitHub Actions identity allowed to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubBinding {
    /// Token issuer (GitHub Enterprise Server has its own).
    pub issuer: String,
    /// `owner/repo`.
    pub repository: String,
    /// The owner's numeric id (`repository_owner_id`).
    pub repository_owner_id: String,
    /// The repository's numeric id (`repository_id`), when pinned: refuses a
    /// repository deleted and re-created under the same name.
    pub repository_id: Option<String>,
    /// The workflow file name under `.github/workflows/`, e.g. `release.yml`.
    pub workflow: String,
    /// Which claim carries the workflow.
    pub workflow_source: WorkflowSource,
    /// The deployment environment the job must run in; `None` accepts any
    /// (or none). The gate's config only gives `None` for an explicit `"*"`.
    pub environment: Option<String>,
    /// A glob the `ref` must match, e.g. `refs/tags/v*`; `None` accepts any
    /// ref except a pull request's. The gate's config only gives `None` for
    /// an explicit `"*"`.
    pub ref_pattern: Option<String>,
    /// The `event_name`s accepted (never one of [`REFUSED_GITHUB_EVENTS`]).
    pub events: Vec<String>,
}

impl GitHubBinding {
    /// A binding on GitHub.com for `repository`/`owner_id`/`workflow`, caller
    /// workflow, any environment, any ref (but a pull request's), the
    /// [`DEFAULT_GITHUB_EVENTS`], no `repository_id` pin.
    pub fn new(repository: &str, owner_id: &str, workflow: &str) -> GitHubBinding {
        GitHubBinding {
            issuer: GITHUB_ISSUER.to_owned(),
            repository: repository.to_owned(),
            repository_owner_id: owner_id.to_owned(),
            repository_id: None,
            workflow: workflow.to_owned(),
            workflow_source: WorkflowSource::Caller,
            environment: None,
            ref_pattern: None,
            events: DEFAULT_GITHUB_EVENTS.map(str::to_owned).to_vec(),
        }
    }

    /// Matches verified claims.
    pub fn check(&self, claims: &Claims) -> Result<Provenance, BindingError> {
        check_issuer(claims, &self.issuer)?;
        let event = string_claim(claims, "event_name")?;
        if REFUSED_GITHUB_EVENTS.contains(&event) {
            return Err(BindingError::RefusedEvent(event.to_owned()));
        }
        if !self.events.iter().any(|allowed| allowed == event) {
            return Err(BindingError::EventNotAllowed {
                event: event.to_owned(),
                allowed: self.events.join(", "),
            });
        }
        let repository = string_claim(claims, "repository")?;
        if !repository.eq_ignore_ascii_case(&self.repository) {
            return Err(mismatch(
                "repository",
                repository,
                format!("{:?} (any case)", self.repository),
            ));
        }
        let owner_id = string_claim(claims, "repository_owner_id")?;
        if owner_id != self.repository_owner_id {
            return Err(mismatch(
                "repository_owner_id",
                owner_id,
                format!("{:?}", self.repository_owner_id),
            ));
        }
        if let Some(expected) = &self.repository_id {
            let id = string_claim(claims, "repository_id")?;
            if id != expected {
                return Err(mismatch("repository_id", id, format!("{expected:?}")));
            }
        }
        let (claim, workflow_repo) = match &self.workflow_source {
            WorkflowSource::Caller => ("workflow_ref", self.repository.as_str()),
            WorkflowSource::Reusable { repository } => ("job_workflow_ref", repository.as_str()),
        };
        let workflow_ref = string_claim(claims, claim)?;
        // `<owner>/<repo>/.github/workflows/<file>@<ref>`: the repository
        // part without case, the path exactly.
        let path = format!("/.github/workflows/{}@", self.workflow);
        let matches = starts_with_ignore_case(workflow_ref, workflow_repo)
            && workflow_ref
                .get(workflow_repo.len()..)
                .is_some_and(|rest| rest.starts_with(&path));
        if !matches {
            return Err(mismatch(
                claim,
                workflow_ref,
                format!("{workflow_repo}{path}<ref>"),
            ));
        }
        let environment = check_environment(claims, self.environment.as_deref())?;
        let git_ref = string_claim(claims, "ref")?;
        if git_ref.starts_with(REFUSED_REF_PREFIX) {
            return Err(BindingError::PullRequestRef(git_ref.to_owned()));
        }
        check_ref(git_ref, self.ref_pattern.as_deref())?;
        Ok(Provenance {
            provider: "github",
            issuer: self.issuer.clone(),
            repository: repository.to_owned(),
            workflow: workflow_ref.to_owned(),
            git_ref: git_ref.to_owned(),
            commit_sha: string_claim(claims, "sha")?.to_owned(),
            run_id: string_claim(claims, "run_id")?.to_owned(),
            environment,
        })
    }
}
