//! `missing-root-permissions`: no workflow-level `permissions`, or write
//! grants there. The goal is `permissions: {}` at the root and grants per job.
//! `id-token: write` at the root is left to `workflow-level-id-token`.
//!
//! The `--fix=all` rewrite lives here too (shared with
//! `workflow-level-id-token`): root `permissions: {}` plus, for each job
//! without its own `permissions`, the grants it appears to need — see
//! [`needed_grants`] for the heuristics. It needs review, hence `all`.

use crate::analysis::publish_steps;
use crate::finding::{Confidence, Draft, FixPlan, FixSafety, Severity, SymbolicEdit};
use crate::model::{Job, Permissions, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};
use crate::shell;

pub static META: RuleMeta = RuleMeta {
    id: "missing-root-permissions",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The workflow has no root `permissions: {}`: jobs inherit the default token or root write grants.",
    risk: "Without a root `permissions` block every job gets the repository's default \
           `GITHUB_TOKEN` permissions, which are read-write on many repositories; write grants \
           at the root reach every job, including the ones that run untrusted dependency code. \
           A job added later silently inherits them too.",
    fix: "Put `permissions: {}` at the workflow root and grant each job exactly what it needs \
          (`contents: read` to check out, `id-token: write` only for the publish job). \
          `shipgate audit --fix=all` writes a proposal for review.",
};

pub struct MissingRootPermissions;

impl Rule for MissingRootPermissions {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let draft = match &wf.permissions {
            None => {
                let inheriting: Vec<&str> = wf
                    .jobs
                    .iter()
                    .filter(|j| j.permissions.is_none())
                    .map(|j| j.id)
                    .collect();
                let message = match inheriting.as_slice() {
                    [] => "no workflow-level `permissions: {}`: every job sets its own today, but a job added later gets the repository's default token permissions".to_owned(),
                    jobs if jobs.len() == wf.jobs.len() => "no workflow-level `permissions`: every job gets the repository's default token permissions".to_owned(),
                    [job] => format!(
                        "no workflow-level `permissions`: job `{job}` gets the repository's default token permissions"
                    ),
                    [rest @ .., last] => format!(
                        "no workflow-level `permissions`: jobs {} and `{last}` get the repository's default token permissions",
                        rest.iter().map(|j| format!("`{j}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                Draft::new(
                    &META,
                    message,
                    Loc::key(wf.jobs_route.clone()),
                    "jobs start here without a root `permissions: {}`",
                )
            }
            Some(perms) => {
                let writes: Vec<String> = perms
                    .writes()
                    .into_iter()
                    .filter(|(scope, _)| scope != "id-token")
                    .map(|(scope, _)| scope)
                    .collect();
                if writes.is_empty() {
                    return Vec::new();
                }
                let list = writes
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                Draft::new(
                    &META,
                    format!(
                        "workflow-level `permissions` grants write access ({list}) to every job"
                    ),
                    Loc::entry(perms.route().clone()),
                    "write grants inherited by every job",
                )
            }
        };
        match root_permissions_fix(wf) {
            Some(fix) => vec![draft.fix(fix)],
            None => vec![draft],
        }
    }
}

/// Root `permissions: {}` and per-job grants, as a fix for review.
pub(crate) fn root_permissions_fix(wf: &Workflow<'_>) -> Option<FixPlan> {
    let mut edits = Vec::new();
    match &wf.permissions {
        None => edits.push(SymbolicEdit::InsertLinesBefore {
            at: Loc::key(wf.jobs_route.clone()),
            lines: "permissions: {}\n\n".to_owned(),
        }),
        Some(perms) => edits.push(SymbolicEdit::Replace {
            at: Loc::entry(perms.route().clone()),
            text: "permissions: {}".to_owned(),
        }),
    }
    let mut granted = Vec::new();
    for job in wf.jobs.iter().filter(|j| j.permissions.is_none()) {
        let first_key = job.node.as_map()?.first()?.key.as_str()?;
        let grants = needed_grants(wf, job, wf.permissions.as_ref());
        let lines = if grants.is_empty() {
            "permissions: {}\n".to_owned()
        } else {
            let mut s = "permissions:\n".to_owned();
            for (scope, level) in &grants {
                s.push_str(&format!("  {scope}: {level}\n"));
            }
            s
        };
        granted.push(format!(
            "`{}`: {}",
            job.id,
            if grants.is_empty() {
                "none".to_owned()
            } else {
                grants
                    .iter()
                    .map(|(s, l)| format!("{s}: {l}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        edits.push(SymbolicEdit::InsertLinesBefore {
            at: Loc::key(job.route.key(first_key)),
            lines,
        });
    }
    let mut description = "set root `permissions: {}`".to_owned();
    if !granted.is_empty() {
        description.push_str(&format!(
            "; per-job grants (review them): {}",
            granted.join("; ")
        ));
    }
    Some(FixPlan {
        safety: FixSafety::All,
        description,
        edits,
    })
}

/// Actions that exchange the OIDC token for a credential.
const OIDC_ACTIONS: &[&str] = &[
    "pypa/gh-action-pypi-publish",
    "rust-lang/crates-io-auth-action",
    "rubygems/release-gem",
    "rubygems/configure-rubygems-credentials",
    "aws-actions/configure-aws-credentials",
    "google-github-actions/auth",
    "azure/login",
    "sigstore/gh-action-sigstore-python",
    "sigstore/cosign-installer",
    "actions/attest-build-provenance",
    "actions/attest",
    "actions/attest-sbom",
    "nuget/login",
];

/// Actions that need `contents: write` (they push commits, tags or releases).
const CONTENTS_WRITE_ACTIONS: &[&str] = &[
    "softprops/action-gh-release",
    "ncipollo/release-action",
    "changesets/action",
    "peter-evans/create-pull-request",
    "stefanzweifel/git-auto-commit-action",
    "endbug/add-and-commit",
    "googleapis/release-please-action",
    "goreleaser/goreleaser-action",
];

/// The grants a job appears to need, bounded by what it had before.
///
/// - `contents: read` for every job with steps (checkout and the API need it);
///   `write` when it pushes (`git push`, `gh release`, release actions) and
///   had write before.
/// - `id-token: write` only when it had it before and uses OIDC (trusted
///   publishing, cloud login, signing, attestations).
/// - `pull-requests`/`issues`/`packages`/`attestations: write` when its steps
///   use `gh pr`, `gh issue`, `docker push`/ghcr.io or attestations, and it
///   had write before (the default token counts as write).
/// - Any other scope the root granted is kept as it was.
pub(crate) fn needed_grants(
    wf: &Workflow<'_>,
    job: &Job<'_>,
    old: Option<&Permissions>,
) -> Vec<(String, String)> {
    let had = |scope: &str| -> Option<&str> {
        match old {
            // Default token: assume the permissive default (write), except id-token.
            None => (scope != "id-token").then_some("write"),
            Some(Permissions::All { write: true, .. }) => Some("write"),
            Some(Permissions::All { write: false, .. }) => (scope != "id-token").then_some("read"),
            Some(Permissions::Scopes { scopes, .. }) => scopes
                .iter()
                .find(|g| g.scope == scope)
                .map(|g| g.level.as_str())
                .filter(|l| *l == "read" || *l == "write"),
        }
    };
    let mut grants: Vec<(String, String)> = Vec::new();
    let mut grant = |scope: &str, level: &str| {
        if !grants.iter().any(|(s, _)| s == scope) {
            grants.push((scope.to_owned(), level.to_owned()));
        }
    };
    if job.uses.is_some() {
        // A reusable-workflow call: its needs are in the other file; keep the old grants.
        if let Some(Permissions::Scopes { scopes, .. }) = old {
            for g in scopes {
                grant(&g.scope, &g.level);
            }
        } else {
            grant("contents", "read");
        }
        return grants;
    }
    let runs: Vec<shell::Command<'_>> = job
        .steps
        .iter()
        .filter_map(|s| s.run)
        .flat_map(shell::commands)
        .collect();
    let runs_has = |program: &str, sub: &str| {
        runs.iter()
            .any(|c| c.program() == program && c.subcommand() == Some(sub))
    };
    let uses_any = |list: &[&str]| {
        job.steps.iter().any(|s| {
            s.uses.as_ref().and_then(|u| u.slug()).is_some_and(|slug| {
                list.iter()
                    .any(|a| slug == *a || slug.starts_with(&format!("{a}/")))
            })
        })
    };
    // `actions/github-script` calls the REST API from JavaScript: the
    // namespaces its scripts use say which scopes they write to.
    let scripts: Vec<&str> = job
        .steps
        .iter()
        .filter(|s| s.uses_action("actions/github-script"))
        .filter_map(|s| s.input("script"))
        .collect();
    let script_calls = |namespaces: &[&str]| {
        scripts
            .iter()
            .any(|text| namespaces.iter().any(|n| text.contains(n)))
    };
    let pushes = runs_has("git", "push")
        || runs_has("gh", "release")
        || uses_any(CONTENTS_WRITE_ACTIONS)
        || script_calls(&[
            ".git.",
            ".repos.create",
            ".repos.update",
            ".repos.upload",
            ".repos.delete",
        ]);
    if pushes && had("contents") == Some("write") {
        grant("contents", "write");
    } else if !job.steps.is_empty() {
        grant("contents", "read");
    }
    let uses_oidc = uses_any(OIDC_ACTIONS)
        || publish_steps(wf, job)
            .iter()
            .any(|p| p.registry.has_trusted_publishing())
        || job
            .steps
            .iter()
            .filter_map(|s| s.run)
            .any(|r| r.contains("ACTIONS_ID_TOKEN_REQUEST"));
    if uses_oidc && had("id-token") == Some("write") {
        grant("id-token", "write");
    }
    let wants_write = [
        (
            "pull-requests",
            runs_has("gh", "pr")
                || uses_any(&[
                    "peter-evans/create-pull-request",
                    "changesets/action",
                    "googleapis/release-please-action",
                ])
                || script_calls(&[".pulls."]),
        ),
        (
            "issues",
            runs_has("gh", "issue") || uses_any(&["actions/stale"]) || script_calls(&[".issues."]),
        ),
        (
            "packages",
            runs.iter()
                .any(|c| c.program() == "docker" && c.raw.contains("ghcr.io"))
                || job.steps.iter().any(|s| {
                    s.uses_action("docker/login-action") && s.input("registry") == Some("ghcr.io")
                }),
        ),
        (
            "attestations",
            uses_any(&[
                "actions/attest-build-provenance",
                "actions/attest",
                "actions/attest-sbom",
            ]),
        ),
    ];
    for (scope, wanted) in wants_write {
        if wanted && had(scope) == Some("write") {
            grant(scope, "write");
        }
    }
    if let Some(Permissions::Scopes { scopes, .. }) = old {
        for g in scopes {
            let known = matches!(
                g.scope.as_str(),
                "contents" | "id-token" | "pull-requests" | "issues" | "packages" | "attestations"
            );
            if !known {
                grant(&g.scope, &g.level);
            }
        }
    }
    grants
}
