//! `tag-publish-without-approval`: the workflow publishes on tag pushes or
//! release events, and the publishing job has no deployment environment —
//! neither its own nor on a job it `needs` (whose required reviewers would
//! gate it). Anyone who can push a tag can then publish.

use crate::analysis::{environment_gated_jobs, publishes, tag_or_release_trigger};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "tag-publish-without-approval",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "Publishing runs on tag push or release with no environment and no other approval gate.",
    risk: "Tag pushes need only write access to the repository, which every maintainer token, \
           deploy key and many bots have. Without an environment with required reviewers (or \
           an out-of-band approval like `shipgate`'s release gate), a stolen token or a \
           compromised bot can publish a release by pushing a tag.",
    fix: "Give the publish job (or a job it needs) an `environment:` with required reviewers \
          and a tag rule, or stage the release and approve it out of band (see `shipgate` \
          pillar 4, the release gate).",
};

pub struct TagPublishWithoutApproval;

impl Rule for TagPublishWithoutApproval {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let Some(trigger) = tag_or_release_trigger(wf) else {
            return Vec::new();
        };
        let gated = environment_gated_jobs(wf);
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            if gated.contains(job.id) {
                continue;
            }
            let Some((loc, why)) = publishes(wf, job) else {
                continue;
            };
            out.push(
                Draft::new(
                    &META,
                    format!(
                        "job `{}` {why} on tag push or release with no approval gate",
                        job.id
                    ),
                    loc,
                    "publishes without approval",
                )
                .related(Loc::key(trigger.clone()), "tag or release trigger")
                .related(Loc::key(job.route.clone()), "job without `environment:`"),
            );
        }
        out
    }
}
