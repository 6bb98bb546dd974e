//! `artipacked`: `actions/checkout` without `persist-credentials: false` in
//! a job that uploads an artifact of the workspace (`path:` `.`, `./`, a
//! glob of everything, or `github.workspace`) or publishes (see
//! `publishing::publishes`). The checkout leaves the job's token in
//! `.git/config`, where the artifact or the published package can carry it.
//!
//! A job that runs `git push` (or `mvn release:prepare`, which pushes the
//! release commit and tag, or Bundler's `rake release`, which pushes the
//! version tag), or an action known to push with the checkout's
//! credential ([`GIT_PUSHING_ACTIONS`]), needs the credential and is not
//! reported.
//! `--fix=all` adds `persist-credentials: false` to the checkout.

use crate::analysis::{is_checkout, publishes};
use crate::finding::{Confidence, Draft, FixPlan, FixSafety, Severity, SymbolicEdit};
use crate::model::{Job, Step, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};
use crate::shell;

pub static META: RuleMeta = RuleMeta {
    id: "artipacked",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "`actions/checkout` keeps the token in `.git/config` in a job that uploads the workspace or publishes.",
    risk: "By default `actions/checkout` writes the job's `GITHUB_TOKEN` into `.git/config`. \
           An artifact of the workspace, a Docker build context or a package built from the \
           checkout then carries the token to everyone who can download it, and every later \
           step (including dependency scripts) can read it from disk.",
    fix: "Set `persist-credentials: false` on the checkout (`shipgate audit --fix=all` adds \
          it); if a later step pushes, give that step the token explicitly.",
};

pub struct Artipacked;

impl Rule for Artipacked {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let upload = job.steps.iter().find(|s| uploads_workspace(s));
            let (why, reason_loc, confidence) = match upload {
                Some(s) => (
                    "uploads the workspace as an artifact".to_owned(),
                    Loc::value(s.route.key("with").key("path")),
                    Confidence::High,
                ),
                None => match publishes(wf, job) {
                    Some(p) => (p.why, p.loc, Confidence::Medium),
                    None => continue,
                },
            };
            // A job that pushes with git needs the persisted credential.
            if pushes_with_git(job) {
                continue;
            }
            for step in job.steps.iter().filter(|s| is_checkout(s)) {
                let persisted = step.input("persist-credentials").map(str::trim);
                if persisted == Some("false") {
                    continue;
                }
                let mut draft = Draft::new(
                    &META,
                    format!(
                        "job `{}` {why}, and this checkout keeps the token in `.git/config`",
                        job.id
                    ),
                    Loc::value(step.route.key("uses")),
                    "credentials persisted",
                )
                .confidence(confidence)
                .related(reason_loc.clone(), "uploads or publishes here");
                if persisted.is_none() {
                    draft = draft.fix(FixPlan {
                        safety: FixSafety::All,
                        description: "add `persist-credentials: false` to the checkout".to_owned(),
                        edits: vec![persist_false(step)],
                    });
                }
                out.push(draft);
            }
        }
        out
    }
}

/// `persist-credentials: false` as the first key of `with:`, or a new `with:`.
fn persist_false(step: &Step<'_>) -> SymbolicEdit {
    let first_input = step
        .with
        .and_then(|w| w.as_map())
        .and_then(|entries| entries.first())
        .and_then(|e| e.key.as_str());
    match first_input {
        Some(key) => SymbolicEdit::InsertLinesBefore {
            at: Loc::key(step.route.key("with").key(key)),
            lines: "persist-credentials: false\n".to_owned(),
        },
        None => SymbolicEdit::InsertLinesAfter {
            at: Loc::value(step.route.key("uses")),
            indent_of: Loc::key(step.route.key("uses")),
            lines: "with:\n  persist-credentials: false\n".to_owned(),
        },
    }
}

fn uploads_workspace(step: &Step<'_>) -> bool {
    if !step.uses_action("actions/upload-artifact") {
        return false;
    }
    step.input("path").is_some_and(|path| {
        path.lines().map(str::trim).any(|p| {
            let whole_workspace =
                p.contains("github.workspace") && p.trim_end_matches('/').ends_with("}}");
            matches!(p, "." | "./" | "*" | "**" | "./*" | "./**")
                || whole_workspace
                || p == ".git"
                || p.contains(".git/")
        })
    })
}

/// Actions that run `git push` with the credential the checkout left in
/// `.git/config` (they take no token of their own, or do not use it for the
/// push).
pub const GIT_PUSHING_ACTIONS: &[(&str, &str)] = &[
    (
        "rubygems/release-gem",
        "`rake release` pushes the version tag",
    ),
    ("rickstaa/action-create-tag", "pushes the tag it creates"),
    (
        "rickstaa/action-update-semver",
        "pushes the moved major-version tag",
    ),
    ("endbug/latest-tag", "pushes the moved `latest` tag"),
    (
        "rohith/publish-nuget",
        "pushes the version tag (`TAG_COMMIT`)",
    ),
    (
        "brandedoutcast/publish-nuget",
        "pushes the version tag (`TAG_COMMIT`)",
    ),
    ("stefanzweifel/git-auto-commit-action", "pushes its commit"),
    ("endbug/add-and-commit", "pushes its commit"),
    (
        "helm/chart-releaser-action",
        "pushes the chart index to the `gh-pages` branch",
    ),
];

/// Whether a command pushes with git itself: `git push`; Maven's
/// `release:prepare`, which commits the release version and pushes it and
/// the tag; Bundler's `rake release` (or a project's `release:NAME`), which
/// pushes the version tag before the gem. Runners are followed (`bundle
/// exec rake release`).
fn git_push_command(cmd: &shell::Command<'_>) -> bool {
    shell::runner_chain(cmd)
        .iter()
        .any(|cmd| match cmd.program() {
            "git" => cmd.subcommand() == Some("push"),
            "mvn" | "mvnw" | "./mvnw" => cmd.words.iter().any(|w| w == "release:prepare"),
            "rake" => cmd.words[1..]
                .iter()
                .any(|w| shell::is_rake_release_task(w) && w != "release:rubygem_push"),
            _ => false,
        })
}

/// Whether a job pushes with git after checkout (it needs the credential).
fn pushes_with_git(job: &Job<'_>) -> bool {
    job.steps.iter().any(|s| {
        s.uses
            .as_ref()
            .is_some_and(|u| GIT_PUSHING_ACTIONS.iter().any(|(a, _)| u.is(a)))
            || s.run
                .is_some_and(|run| shell::commands(run).iter().any(git_push_command))
    })
}
