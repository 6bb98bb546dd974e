//! GitLab CI trusted publishers.
//!
//! Claims used: `project_path` (without case), `project_id` (a number that
//! survives renames, so a project deleted and re-created under the same path
//! does not inherit the binding; required), `ci_config_ref_uri`
//! (`<host>/<project_path>//<config path>@<ref>`: which pipeline definition
//! ran), `environment` (without case), and the ref: `ref_path` when present
//! (`refs/heads/main`), else built from `ref_type` and `ref`.

use super::{
    BindingError, Provenance, check_environment, check_issuer, check_ref, mismatch,
    starts_with_ignore_case, string_claim,
};
use crate::claims::Claims;

/// The issuer of GitLab.com's ID tokens.
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

/// A GitLab CI identity allowed to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLabBinding {
    /// Token issuer: the GitLab instance URL.
    pub issuer: String,
    /// `group/subgroup/project`.
    pub project_path: String,
    /// The project's numeric id.
    pub project_id: String,
    /// The pipeline definition's path in the repository, e.g. `.gitlab-ci.yml`.
    pub ci_config_path: String,
    /// The deployment environment the job must run in.
    pub environment: Option<String>,
    /// A glob the full ref must match, e.g. `refs/tags/v*`.
    pub ref_pattern: Option<String>,
}

impl GitLabBinding {
    /// A binding on GitLab.com for `project_path` (numeric id `project_id`)
    /// and `.gitlab-ci.yml`, any environment, any ref.
    pub fn new(project_path: &str, project_id: &str) -> GitLabBinding {
        GitLabBinding {
            issuer: GITLAB_ISSUER.to_owned(),
            project_path: project_path.to_owned(),
            project_id: project_id.to_owned(),
            ci_config_path: ".gitlab-ci.yml".to_owned(),
            environment: None,
            ref_pattern: None,
        }
    }

    /// Matches verified claims.
    pub fn check(&self, claims: &Claims) -> Result<Provenance, BindingError> {
        check_issuer(claims, &self.issuer)?;
        let project = string_claim(claims, "project_path")?;
        if !project.eq_ignore_ascii_case(&self.project_path) {
            return Err(mismatch(
                "project_path",
                project,
                format!("{:?} (any case)", self.project_path),
            ));
        }
        let id = string_claim(claims, "project_id")?;
        if id != self.project_id {
            return Err(mismatch("project_id", id, format!("{:?}", self.project_id)));
        }
        let host = url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_default();
        let config_uri = string_claim(claims, "ci_config_ref_uri")?;
        let site = format!("{host}/{}", self.project_path);
        let path = format!("//{}@", self.ci_config_path);
        let matches = starts_with_ignore_case(config_uri, &site)
            && config_uri
                .get(site.len()..)
                .is_some_and(|rest| rest.starts_with(&path));
        if !matches {
            return Err(mismatch(
                "ci_config_ref_uri",
                config_uri,
                format!("{site}{path}<ref>"),
            ));
        }
        let environment = check_environment(claims, self.environment.as_deref())?;
        let git_ref = full_ref(claims)?;
        check_ref(&git_ref, self.ref_pattern.as_deref())?;
        Ok(Provenance {
            provider: "gitlab",
            issuer: self.issuer.clone(),
            repository: project.to_owned(),
            workflow: config_uri.to_owned(),
            git_ref,
            commit_sha: string_claim(claims, "sha")?.to_owned(),
            run_id: string_claim(claims, "pipeline_id")?.to_owned(),
            environment,
        })
    }
}

fn full_ref(claims: &Claims) -> Result<String, BindingError> {
    if let Some(path) = claims.get_str("ref_path").filter(|p| !p.is_empty()) {
        return Ok(path.to_owned());
    }
    let name = string_claim(claims, "ref")?;
    match string_claim(claims, "ref_type")? {
        "branch" => Ok(format!("refs/heads/{name}")),
        "tag" => Ok(format!("refs/tags/{name}")),
        other => Err(mismatch("ref_type", other, "\"branch\" or \"tag\"")),
    }
}
