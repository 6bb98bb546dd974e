//! `secrets-inherit`: a reusable-workflow call with `secrets: inherit`
//! hands every secret of the repository (and organisation) to the called
//! workflow, whatever it needs.

use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "secrets-inherit",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A reusable workflow is called with `secrets: inherit`.",
    risk: "`secrets: inherit` passes every secret the caller can read, publish tokens and \
           signing keys included, to the called workflow and to every action it runs, though \
           it usually needs one or two. A change to the called workflow (or to an action it \
           uses) then reaches all of them.",
    fix: "Pass only the secrets the called workflow declares: `secrets: { NPM_TOKEN: ${{ \
          secrets.NPM_TOKEN }} }`, and declare them under `on.workflow_call.secrets` there.",
};

pub struct SecretsInherit;

impl Rule for SecretsInherit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        wf.jobs
            .iter()
            .filter(|job| job.uses.is_some())
            .filter(|job| job.node.get("secrets").and_then(Node::as_str) == Some("inherit"))
            .map(|job| {
                let callee = job
                    .node
                    .get("uses")
                    .and_then(Node::as_str)
                    .unwrap_or("the called workflow");
                Draft::new(
                    &META,
                    format!("job `{}` passes every secret to `{callee}`", job.id),
                    Loc::value(job.route.key("secrets")),
                    "all secrets passed on",
                )
                .related(Loc::value(job.route.key("uses")), "called workflow")
            })
            .collect()
    }
}
