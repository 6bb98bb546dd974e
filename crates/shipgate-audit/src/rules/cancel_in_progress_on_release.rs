//! `cancel-in-progress-on-release`: `concurrency` with
//! `cancel-in-progress: true` at workflow level, or on a publishing job, in a
//! workflow that runs on pushes to the default branch, tags or releases.
//!
//! Only an unconditional `true` (or `${{ true }}`) is flagged: an expression
//! such as the seed 001 form
//! `${{ github.ref != format('refs/heads/{0}', github.event.repository.default_branch) }}`
//! decides per ref and is left alone. The safe fix writes exactly that form.

use crate::analysis::{publishes, release_trigger};
use crate::finding::{Confidence, Draft, FixPlan, FixSafety, Severity, SymbolicEdit};
use crate::model::Workflow;
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "cancel-in-progress-on-release",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "`cancel-in-progress: true` can cancel a release run half-way (after tagging, before publishing).",
    risk: "On the default branch, tags and releases a run is a release: it may create a tag, \
           then publish. A newer push that cancels it in between leaves a tag with no \
           published artifact (or a partial upload), and the next run may skip the version.",
    fix: "Cancel superseded runs only off the default branch: `cancel-in-progress: ${{ github.ref != \
          format('refs/heads/{0}', github.event.repository.default_branch) }}`. `shipgate audit \
          --fix` writes exactly that.",
};

/// The replacement `--fix=safe` writes.
pub const NOT_ON_DEFAULT_BRANCH: &str =
    "${{ github.ref != format('refs/heads/{0}', github.event.repository.default_branch) }}";

pub struct CancelInProgressOnRelease;

impl Rule for CancelInProgressOnRelease {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let Some(trigger) = release_trigger(wf) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(c) = wf.concurrency {
            out.extend(check(
                c,
                Route::root().key("concurrency"),
                "workflow-level",
                &trigger,
            ));
        }
        for job in &wf.jobs {
            let Some(c) = job.concurrency else { continue };
            if publishes(wf, job).is_none() {
                continue;
            }
            let scope = format!("publishing job `{}`", job.id);
            out.extend(check(c, job.route.key("concurrency"), &scope, &trigger));
        }
        out
    }
}

fn check(concurrency: &Node, route: Route, scope: &str, trigger: &Route) -> Option<Draft> {
    let value = concurrency.get("cancel-in-progress")?;
    let always = value.is_true()
        || value
            .as_str()
            .is_some_and(|s| s.split_whitespace().collect::<String>() == "${{true}}");
    if !always {
        return None;
    }
    let at = Loc::value(route.key("cancel-in-progress"));
    Some(
        Draft::new(
            &META,
            format!("{scope} `concurrency` has `cancel-in-progress: true` and the workflow runs on release refs"),
            at.clone(),
            "cancels release runs too",
        )
        .related(Loc::key(trigger.clone()), "release trigger")
        .fix(FixPlan {
            safety: FixSafety::Safe,
            description: "cancel in-progress runs only off the default branch".to_owned(),
            edits: vec![SymbolicEdit::Replace {
                at,
                text: NOT_ON_DEFAULT_BRANCH.to_owned(),
            }],
        }),
    )
}
