//! `self-hosted-release`: a job that publishes (see
//! `publishing::publishes`) runs on a self-hosted runner (`runs-on` names
//! `self-hosted`, in a string, a list or a `labels:` list). Runner groups
//! without labels are not recognised.

use crate::analysis::publishes;
use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "self-hosted-release",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A publishing job runs on a self-hosted runner.",
    risk: "A self-hosted runner keeps its disk, caches, installed tools and running processes \
           from one job to the next unless it is ephemeral. Any earlier job on it (a pull \
           request's tests, another repository's workflow) can leave behind a modified tool or \
           a process that reads the publish job's token.",
    fix: "Publish from a GitHub-hosted runner (`runs-on: ubuntu-latest`), or use ephemeral \
          self-hosted runners (`--ephemeral`, one job per fresh machine) dedicated to releases.",
};

pub struct SelfHostedRelease;

impl Rule for SelfHostedRelease {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let Some(runs_on) = job.node.get("runs-on") else {
                continue;
            };
            let (labels, at) = match runs_on.get("labels") {
                Some(labels) => (labels.strings(), job.route.key("runs-on").key("labels")),
                None => (runs_on.strings(), job.route.key("runs-on")),
            };
            if !labels.iter().any(|l| l.eq_ignore_ascii_case("self-hosted")) {
                continue;
            }
            let Some(p) = publishes(wf, job) else {
                continue;
            };
            out.push(
                Draft::new(
                    &META,
                    format!("job `{}` {} on a self-hosted runner", job.id, p.why),
                    Loc::value(at),
                    "self-hosted runner",
                )
                .confidence(p.confidence)
                .related(p.loc, "publishes here"),
            );
        }
        out
    }
}
