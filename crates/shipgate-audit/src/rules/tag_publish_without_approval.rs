//! `tag-publish-without-approval`: the workflow publishes on tag pushes or
//! release events, and the publishing job has no deployment environment —
//! neither its own nor on a job it `needs` (whose required reviewers would
//! gate it). Anyone who can push a tag can then publish.
//!
//! Only what can run on a tag counts: a job whose `if:` keeps it off tags
//! is skipped, and so is a job whose every publish step is limited to
//! branches (`if: github.ref_type == 'branch'`, `github.ref ==
//! 'refs/heads/main'`), see [`crate::conditions::step_can_run_on_tag`].

use std::collections::HashSet;

use crate::analysis::{environment_gated_jobs, publish_steps, publishes, tag_or_release_trigger};
use crate::conditions::step_can_run_on_tag;
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
          and a tag rule, or stage the release and approve it out of band (for \
          example with `shipgate serve`, the release gate).",
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
        let off_tags = jobs_off_tags(wf);
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            if gated.contains(job.id) || off_tags.contains(job.id) {
                continue;
            }
            let steps = publish_steps(wf, job);
            let (loc, why, confidence) = if steps.is_empty() {
                // A registry token or login: where it publishes is unknown.
                let Some(p) = publishes(wf, job) else {
                    continue;
                };
                (p.loc, p.why, p.confidence)
            } else {
                let on_tag: Vec<_> = steps
                    .iter()
                    .filter(|p| {
                        job.steps
                            .get(p.step)
                            .is_none_or(|s| step_can_run_on_tag(wf, job, s))
                    })
                    .collect();
                let Some(p) = on_tag
                    .iter()
                    .find(|p| p.confidence == Confidence::High)
                    .or(on_tag.first())
                else {
                    continue;
                };
                (
                    p.loc.clone(),
                    format!("publishes with {}", p.what),
                    p.confidence,
                )
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
                .related(Loc::key(job.route.clone()), "job without `environment:`")
                .confidence(confidence),
            );
        }
        out
    }
}

/// Whether a job's `if:` keeps it off tag pushes and release events: one of
/// its `&&` terms (and no `||`) requires a branch ref
/// (`github.ref == 'refs/heads/main'`, `startsWith(github.ref, 'refs/heads/')`)
/// or an event other than `push` and `release`. Anything else may run on a
/// tag, so it counts as running there.
/// The jobs that never run on a tag: their own `if:` keeps them off tags
/// ([`never_on_tags`]), or they need such a job and do not ask to run when
/// it is skipped (a status function: `always()`, `failure()`,
/// `cancelled()`, `success()` with arguments...). Needs are followed to a
/// fixed point, bounded by the number of jobs.
fn jobs_off_tags<'a>(wf: &Workflow<'a>) -> HashSet<&'a str> {
    let mut off: HashSet<&'a str> = wf
        .jobs
        .iter()
        .filter(|j| {
            j.node
                .get("if")
                .and_then(|c| c.as_str())
                .is_some_and(never_on_tags)
        })
        .map(|j| j.id)
        .collect();
    for _ in 0..wf.jobs.len() {
        let before = off.len();
        for job in &wf.jobs {
            if off.contains(job.id) {
                continue;
            }
            let runs_when_skipped = job
                .node
                .get("if")
                .and_then(|c| c.as_str())
                .is_some_and(|c| {
                    let c = c.to_ascii_lowercase();
                    ["always(", "failure(", "cancelled(", "success("]
                        .iter()
                        .any(|f| c.contains(f))
                });
            if !runs_when_skipped && job.needs.iter().any(|n| off.contains(n)) {
                off.insert(job.id);
            }
        }
        if off.len() == before {
            break;
        }
    }
    off
}

fn never_on_tags(condition: &str) -> bool {
    let text = crate::expr::condition_text(condition);
    // A negation anywhere (other than `!=`) could turn any term around.
    if text.contains("||") || text.replace("!=", "").contains('!') {
        return false;
    }
    text.split("&&").any(|term| {
        let term: String = term
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')' && *c != '"')
            .collect::<String>()
            .to_ascii_lowercase()
            .replace('\'', "");
        let branch_ref = |value: &str| value.starts_with("refs/heads/");
        if let Some(rest) = term.strip_prefix("startswithgithub.ref,") {
            return branch_ref(rest);
        }
        let Some((left, right)) = term.split_once("==") else {
            return false;
        };
        let (context, value) = if left.starts_with("github.") {
            (left, right)
        } else {
            (right, left)
        };
        // A chain (`github.event_name == 'release' == success()`) or a
        // value that is not a literal is not read.
        if crate::conditions::not_a_literal(value) {
            return false;
        }
        match context {
            "github.ref" => branch_ref(value),
            "github.event_name" => !matches!(value, "push" | "release"),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::never_on_tags;

    #[test]
    fn conditions_that_keep_a_job_off_tags() {
        assert!(!never_on_tags(
            "${{ github.event_name == 'release' == success() }}"
        ));
        for yes in [
            "github.ref == 'refs/heads/main'",
            "${{ github.ref == 'refs/heads/main' }}",
            "'refs/heads/main' == github.ref",
            "github.repository == 'a/b' && github.ref == 'refs/heads/main'",
            "startsWith(github.ref, 'refs/heads/')",
            "github.event_name == 'pull_request'",
            "(github.event_name == 'schedule')",
        ] {
            assert!(never_on_tags(yes), "{yes}");
        }
        for no in [
            "",
            "always()",
            "github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/')",
            "startsWith(github.ref, 'refs/tags/')",
            "github.event_name == 'push'",
            "github.event_name == 'release'",
            "github.ref != 'refs/heads/main'",
            "!(github.ref == 'refs/heads/main')",
            "github.ref != 'refs/tags/x' && !(github.ref == 'refs/heads/main')",
            "github.repository == 'a/b'",
        ] {
            assert!(!never_on_tags(no), "{no}");
        }
    }
}
