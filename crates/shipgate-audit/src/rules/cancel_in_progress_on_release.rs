//! `cancel-in-progress-on-release`: in a workflow that publishes (a job with
//! a publish step, or an `id-token: write` grant that may publish, see
//! `publishing::publishes`) and runs on pushes to the default branch, tags,
//! releases or manual dispatch, `concurrency` (workflow level, or on a publishing job) that
//! can cancel a release run:
//!
//! - `cancel-in-progress: true` (or `${{ true }}`). An expression such as
//!   `${{ github.ref != format('refs/heads/{0}', github.event.repository.default_branch) }}`
//!   decides per ref and is left alone; the safe fix writes exactly that form.
//! - a `group` that is the same for every release run (it reads only
//!   contexts that do not change between runs, or that do not exist, like
//!   `github.event.push.ref`; see `contexts`) while `cancel-in-progress` is
//!   set to anything but `false`: a second tag push then cancels the first
//!   one's publish.
//!
//! CI-only workflows (lint, test, fuzz, benchmarks) are never reported, and
//! the confidence is that of the surest sign that the workflow publishes. A
//! call of a reusable workflow given `push: true` or `publish: true` (its
//! steps are in another file) is a sign too, at medium confidence.

use crate::analysis::{publishes, release_trigger};
use crate::contexts::constant_on;
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
        let publishing: Vec<_> = wf
            .jobs
            .iter()
            .filter_map(|j| match j.uses {
                None => Some((j, publishes(wf, j)?.confidence)),
                Some(_) => calls_with_publishing_input(j).then_some((j, Confidence::Medium)),
            })
            .collect();
        // As sure as the surest sign that the workflow publishes.
        let Some(workflow_confidence) = publishing.iter().map(|(_, c)| *c).max() else {
            return Vec::new();
        };
        let events: Vec<&str> = ["push", "release", "workflow_dispatch"]
            .into_iter()
            .filter(|e| wf.trigger(e).is_some())
            .collect();
        let mut out = Vec::new();
        if let Some(c) = wf.concurrency {
            let route = Route::root().key("concurrency");
            out.extend(
                check(c, route.clone(), "workflow-level", &trigger)
                    .map(|d| d.confidence(workflow_confidence)),
            );
            out.extend(
                check_group(c, route, "workflow-level", &trigger, &events)
                    .map(|d| d.confidence(workflow_confidence)),
            );
        }
        for (job, confidence) in publishing {
            let Some(c) = job.concurrency else { continue };
            let scope = format!("publishing job `{}`", job.id);
            let route = job.route.key("concurrency");
            out.extend(check(c, route.clone(), &scope, &trigger).map(|d| d.confidence(confidence)));
            out.extend(
                check_group(c, route, &scope, &trigger, &events).map(|d| d.confidence(confidence)),
            );
        }
        out
    }
}

/// Inputs of a reusable-workflow call that ask it to publish.
const PUBLISHING_INPUTS: &[&str] = &["push", "publish"];

/// Whether a reusable-workflow call passes `push: true` or `publish: true`
/// (`docker/github-builder`'s `bake.yml` with `push: true` pushes images).
/// Also a call of a workflow whose file name starts with a word for releasing
/// (`goreleaser.yml`, `release.yml`, `publish-npm.yml`, `deploy.yml`), or one
/// handed a registry credential as a secret (`NPM_TOKEN`, `CARGO_REGISTRY_TOKEN`).
fn calls_with_publishing_input(job: &crate::model::Job<'_>) -> bool {
    let with_input = job.node.get("with").is_some_and(|with| {
        PUBLISHING_INPUTS
            .iter()
            .any(|input| with.get(input).is_some_and(Node::is_true))
    });
    let file = job
        .node
        .get("uses")
        .and_then(Node::as_str)
        .map(|u| {
            let path = u.split('@').next().unwrap_or("");
            path.rsplit('/').next().unwrap_or("").to_ascii_lowercase()
        })
        .unwrap_or_default();
    // The first word of the name: `check-release.yml` and
    // `build-release-binaries.yml` check or build.
    let first_word = file.split(['-', '_', '.']).next().unwrap_or("");
    let named_for_releasing = (file.ends_with(".yml") || file.ends_with(".yaml"))
        && RELEASING_WORKFLOW_NAMES.contains(&first_word);
    let registry_secret = job
        .node
        .get("secrets")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.key.as_str())
        .any(|k| crate::publishing::registry_token_variable(k).is_some());
    with_input || named_for_releasing || registry_secret
}

/// Words in a reusable workflow's file name that say it releases.
const RELEASING_WORKFLOW_NAMES: &[&str] =
    &["release", "releases", "publish", "goreleaser", "deploy"];

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

/// A group that is the same for every release run, with cancelling on.
fn check_group(
    concurrency: &Node,
    route: Route,
    scope: &str,
    trigger: &Route,
    events: &[&str],
) -> Option<Draft> {
    let cancel = concurrency.get("cancel-in-progress")?;
    let never = cancel.as_str().is_some_and(|s| {
        let s: String = s.split_whitespace().collect();
        s == "false" || s == "${{false}}"
    });
    if never {
        return None;
    }
    // `concurrency: name` is a group without cancelling: not this finding.
    let group = concurrency.get("group")?.as_str()?;
    let (event, why) = events
        .iter()
        .find_map(|e| constant_on(group, e).map(|why| (*e, why)))?;
    let reason = if why.is_empty() {
        "it has no expression".to_owned()
    } else if crate::contexts::exists(&why, event) {
        format!("`{why}` is the same for every run")
    } else {
        format!("`{why}` does not exist on `{event}` events, so it is always empty")
    };
    Some(
        Draft::new(
            &META,
            format!(
                "{scope} `concurrency` group `{group}` is the same for every `{event}` run ({reason}): \
                 a second release run cancels the first one's publish"
            ),
            Loc::value(route.key("group")),
            "one group for every release run",
        )
        .related(Loc::key(trigger.clone()), "release trigger"),
    )
}
