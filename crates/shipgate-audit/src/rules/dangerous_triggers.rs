//! `dangerous-triggers`: a `pull_request_target` or `workflow_run` workflow
//! whose job checks out the triggering pull request's code (`actions/checkout`
//! with a `ref:`/`repository:` that names the head, or `gh pr checkout`).
//!
//! These triggers run with the base repository's token and secrets even for
//! a pull request from a fork. Checking out the head there is the first half
//! of a "pwn request"; `fork-code-reaches-secrets` reports the full pattern
//! (the code then runs with a credential), this rule reports the checkout
//! whatever follows: high confidence when a toolchain step follows it,
//! medium when the head may only be read as data.

use crate::analysis::toolchain_steps;
use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::Loc;
use crate::rules::fork_code_reaches_secrets::head_checkout;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "dangerous-triggers",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A `pull_request_target` or `workflow_run` workflow checks out the triggering pull request's code.",
    risk: "`pull_request_target` and `workflow_run` run in the base repository's context: \
           with its `GITHUB_TOKEN` (often with write access), its secrets and its caches, even \
           when a fork opened the pull request. Code checked out from the pull request is \
           attacker-controlled; building, testing or installing it, or a later step trusting \
           its files, hands that context to the attacker.",
    fix: "Use `pull_request` for anything that runs the pull request's code (it runs without \
          secrets and with a read-only token for forks). If the privileged workflow needs the \
          result, have the `pull_request` workflow upload it as an artifact and treat it as \
          untrusted data in the `workflow_run` workflow; never check out or run the head there.",
};

const TRIGGERS: &[&str] = &["pull_request_target", "workflow_run"];

pub struct DangerousTriggers;

impl Rule for DangerousTriggers {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let Some(trigger) = wf.triggers.iter().find(|t| TRIGGERS.contains(&t.event)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let Some((checkout, _dir, loc, _indirect)) = head_checkout(job) else {
                continue;
            };
            let runs = toolchain_steps(job).into_iter().find(|t| t.step > checkout);
            let mut draft = Draft::new(
                &META,
                format!(
                    "job `{}` checks out the pull request's code in a `{}` workflow",
                    job.id, trigger.event
                ),
                loc,
                "untrusted code checked out here",
            )
            .related(Loc::key(trigger.route.clone()), "privileged trigger");
            draft = match runs {
                Some(t) => draft.related(t.loc, "and a toolchain step runs after it"),
                None => draft.confidence(Confidence::Medium),
            };
            out.push(draft);
        }
        out
    }
}
