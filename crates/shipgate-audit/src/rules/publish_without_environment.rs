//! `publish-without-environment`: a job that publishes — it holds
//! `id-token: write`, or runs a known publish action or command (see
//! `analysis::publish_steps`) — without a deployment `environment:`.
//! Reusable-workflow calls are skipped (they cannot set `environment`).

use crate::analysis::publishes;
use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "publish-without-environment",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A job that publishes has no deployment `environment`.",
    risk: "An environment is what lets the registry's trusted-publisher binding and GitHub's \
           deployment rules (allowed branches, required reviewers, wait timers) pin publishing \
           to one job on one ref. Without it, any branch or any edited workflow that reaches \
           this job can publish.",
    fix: "Add `environment: <name>` (e.g. `pypi-production`, `release`) to the publish job, \
          restrict that environment to the release branch or tags in the repository settings, \
          and require the same environment name in the registry's trusted-publisher binding.",
};

pub struct PublishWithoutEnvironment;

impl Rule for PublishWithoutEnvironment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            if job.environment.is_some_and(|e| !e.is_null()) {
                continue;
            }
            let Some(p) = publishes(wf, job) else {
                continue;
            };
            let (loc, why, confidence) = (p.loc, p.why, p.confidence);
            out.push(
                Draft::new(
                    &META,
                    format!("job `{}` {why} but has no deployment `environment`", job.id),
                    Loc::key(job.route.clone()),
                    "publish job without `environment:`",
                )
                .confidence(confidence)
                .related(loc, "publishes here"),
            );
        }
        out
    }
}
