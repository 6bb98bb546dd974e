//! `unverified-artifact-handoff`: a credential job downloads an artifact
//! without the integrity that `actions/download-artifact` v4+ gives:
//! - `actions/download-artifact` before v4 (tag `v1`–`v3`, or a SHA pin whose
//!   version comment says so);
//! - `digest-mismatch:` set to anything but `error` (v8 checks the digest
//!   GitHub recorded at upload and fails by default);
//! - a download from another workflow run (`run-id:`) that is not the run
//!   that triggered this one (`github.event.workflow_run.id`), or from
//!   another `repository:`;
//! - `dawidd6/action-download-artifact`, which picks "the latest" artifact of
//!   another workflow unless `run_id` pins the triggering run.

use super::pin_without_version_comment::{comment_version, trailing_comment};
use crate::analysis::jobs_with_credential;
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Step, Uses, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "unverified-artifact-handoff",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A credential job downloads an artifact without digest verification or from an unpinned run.",
    risk: "The publish job trusts whatever the download step hands it. Without a digest check, or \
           when the artifact comes from another (or \"the latest\") workflow run, a tampered or \
           attacker-built artifact is published with the job's credentials.",
    fix: "Use `actions/download-artifact` v4 or later (v8 verifies the digest recorded at \
          upload and fails on a mismatch by default), leave `digest-mismatch` at `error`, and \
          download from this run, or from exactly the triggering run \
          (`run-id: ${{ github.event.workflow_run.id }}`).",
};

pub struct UnverifiedArtifactHandoff;

impl Rule for UnverifiedArtifactHandoff {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for (job, cred) in jobs_with_credential(wf) {
            for step in &job.steps {
                for (loc, message) in problems(step, cx) {
                    out.push(
                        Draft::new(
                            &META,
                            format!("job `{}` (holds {}): {message}", job.id, cred.what),
                            loc,
                            "unverified artifact",
                        )
                        .related(cred.loc.clone(), "credential"),
                    );
                }
            }
        }
        out
    }
}

fn problems(step: &Step<'_>, cx: &Context<'_>) -> Vec<(Loc, String)> {
    let mut out = Vec::new();
    let Some(uses) = &step.uses else { return out };
    let with = step.route.key("with");
    if uses.is("dawidd6/action-download-artifact") {
        let pinned = step
            .input("run_id")
            .is_some_and(|r| r.contains("github.event.workflow_run.id"));
        if !pinned {
            out.push((
                Loc::value(step.route.key("uses")),
                "`dawidd6/action-download-artifact` downloads the latest matching artifact of another workflow, not a pinned run".to_owned(),
            ));
        }
        return out;
    }
    if !uses.is("actions/download-artifact") {
        return out;
    }
    let major = uses.major_version().or_else(|| {
        let loc = Loc::value(step.route.key("uses"));
        let range = loc.resolve(cx.root, cx.source)?;
        let comment = trailing_comment(cx.source.text.get(range.end..)?)?;
        comment_version(comment)?.first().copied()
    });
    if let (Some(major), Some(Uses::Repository { .. })) = (major, &step.uses)
        && major < 4
    {
        out.push((
            Loc::value(step.route.key("uses")),
            format!("`actions/download-artifact` v{major} has no digest verification (v4+ does)"),
        ));
    }
    if let Some(mode) = step.input("digest-mismatch")
        && mode.trim() != "error"
    {
        out.push((
            Loc::value(with.key("digest-mismatch")),
            format!("`digest-mismatch: {mode}` turns the artifact digest check off"),
        ));
    }
    if let Some(run_id) = step.input("run-id")
        && !run_id.contains("github.event.workflow_run.id")
    {
        out.push((
                Loc::value(with.key("run-id")),
                format!("downloads from another workflow run chosen by `run-id: {run_id}`, not the run that triggered this one"),
            ));
    }
    if let Some(repo) = step.input("repository")
        && !repo.contains("github.repository")
    {
        out.push((
            Loc::value(with.key("repository")),
            format!("downloads an artifact from another repository (`{repo}`)"),
        ));
    }
    out
}
