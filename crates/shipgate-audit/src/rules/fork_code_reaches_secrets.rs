//! `fork-code-reaches-secrets`: in a workflow triggered by
//! `pull_request_target`, `workflow_run`, `pull_request_review` (or
//! `issue_comment`), a job checks out the pull request's head and then runs
//! code from it while secrets or write permissions are present.
//!
//! Head checkout: `actions/checkout` whose `ref:`/`repository:` reads the PR
//! head (`github.event.pull_request.head.*`, `github.head_ref`,
//! `github.event.workflow_run.head_*`, `refs/pull/...`, or, with medium
//! confidence, a step output named like a head ref or SHA, as PR-resolving
//! actions for `issue_comment` provide: `steps.x.outputs.head_sha`), or
//! `gh pr checkout`.
//! Running code from it: a later toolchain step (see
//! `analysis::toolchain_steps`). When the head is checked out into a
//! sub-directory (`path: pr`), only steps that work in that directory
//! (`working-directory`, `cd pr`, `pr/...` paths, `./pr` actions) count — the
//! pattern of reading the head as data while running the base
//! commit's scripts is not flagged.
//! Credentials: secrets other than `GITHUB_TOKEN`, `id-token: write`, any
//! write grant, or no `permissions` at all (the default token may be
//! read-write; reported with medium confidence).

use crate::analysis::{credentials, is_checkout, toolchain_steps};
use crate::expr::{context_paths, expressions};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Job, Step, Workflow};
use crate::route::Loc;
use crate::rules::{Context, Rule, RuleMeta};
use crate::shell;

pub static META: RuleMeta = RuleMeta {
    id: "fork-code-reaches-secrets",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A privileged trigger checks out a pull request's head and runs its code with secrets or write access.",
    risk: "`pull_request_target`, `workflow_run`, `pull_request_review` and `issue_comment` run \
           in the base repository's context with its secrets and a write token. Checking out \
           the pull request's head and then installing, building or running its scripts hands \
           all of that to whoever opened the pull request (a \"pwn request\").",
    fix: "Run untrusted code under `pull_request` (no secrets, read-only token). If the \
          privileged job must look at the head, check it out into a sub-directory as data \
          (`path: pr`) and run only scripts from the base commit, with `permissions: {}` and no \
          secrets; hand results to a second job through artifacts.",
};

const PRIVILEGED_TRIGGERS: &[&str] = &[
    "pull_request_target",
    "workflow_run",
    "pull_request_review",
    "issue_comment",
];

const HEAD_CONTEXTS: &[&str] = &[
    "github.event.pull_request.head.sha",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.repo.full_name",
    "github.event.pull_request.merge_commit_sha",
    "github.event.pull_request.number",
    "github.event.number",
    "github.event.issue.number",
    "github.head_ref",
    "github.event.workflow_run.head_sha",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_repository.full_name",
];

pub struct ForkCodeReachesSecrets;

impl Rule for ForkCodeReachesSecrets {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let Some(trigger) = wf
            .triggers
            .iter()
            .find(|t| PRIVILEGED_TRIGGERS.contains(&t.event))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let Some((checkout, head_dir, loc, indirect)) = head_checkout(job) else {
                continue;
            };
            let runs = toolchain_steps(job).into_iter().find(|t| {
                t.step > checkout
                    && job
                        .steps
                        .get(t.step)
                        .is_some_and(|s| works_in(s, head_dir.as_deref()))
            });
            let Some(runs) = runs else { continue };
            let (what, confidence) = match privilege(wf, job) {
                Some((what, _)) if indirect => (what, Confidence::Medium),
                Some(p) => p,
                None => continue,
            };
            out.push(
                Draft::new(
                    &META,
                    format!(
                        "job `{}` (on `{}`) checks out the pull request's head and runs it ({}) with {what}",
                        job.id, trigger.event, runs.what
                    ),
                    loc,
                    "pull request head checked out here",
                )
                .confidence(confidence)
                .related(runs.loc, "code from the pull request runs here")
                .related(Loc::key(trigger.route.clone()), "privileged trigger"),
            );
        }
        out
    }
}

/// The first step that checks out the PR head: (step index, directory,
/// location, whether the head comes indirectly through a step output).
pub(crate) fn head_checkout(job: &Job<'_>) -> Option<(usize, Option<String>, Loc, bool)> {
    for step in &job.steps {
        if is_checkout(step) {
            for input in ["ref", "repository"] {
                let Some(value) = step.input(input) else {
                    continue;
                };
                let found = reads_head(value)
                    .map(|raw| (raw, false))
                    .or_else(|| reads_head_output(value).map(|raw| (raw, true)));
                if let Some((raw, indirect)) = found {
                    let dir = step
                        .input("path")
                        .map(|p| p.trim_matches('/').trim_start_matches("./").to_owned())
                        .filter(|p| !p.is_empty() && p != ".");
                    return Some((
                        step.index,
                        dir,
                        Loc::value(step.route.key("with").key(input)).with_needle(raw),
                        indirect,
                    ));
                }
            }
        }
        if let Some(run) = step.run {
            for cmd in shell::commands(run) {
                if cmd.program() == "gh"
                    && cmd.subcommand() == Some("pr")
                    && cmd.positional(1) == Some("checkout")
                {
                    return Some((
                        step.index,
                        None,
                        Loc::value(step.route.key("run")).with_needle(cmd.raw),
                        false,
                    ));
                }
            }
        }
    }
    None
}

/// The expression (or literal) in `value` that names the PR head.
fn reads_head(value: &str) -> Option<&str> {
    if value.contains("refs/pull/") {
        return Some(value);
    }
    expressions(value)
        .into_iter()
        .find(|e| {
            context_paths(e.inner)
                .iter()
                .any(|p| HEAD_CONTEXTS.contains(&p.as_str()))
        })
        .map(|e| e.raw)
}

/// The expression in `value` that reads a step output named like a pull
/// request's head (`steps.pr.outputs.head_sha`, `...head-ref`): what actions
/// that resolve a commented-on pull request return.
fn reads_head_output(value: &str) -> Option<&str> {
    expressions(value)
        .into_iter()
        .find(|e| {
            context_paths(e.inner).iter().any(|p| {
                p.starts_with("steps.")
                    && p.contains(".outputs.")
                    && p.rsplit('.')
                        .next()
                        .is_some_and(|name| name.contains("head"))
            })
        })
        .map(|e| e.raw)
}

/// Whether a step runs in the head checkout directory (`None` = workspace root).
fn works_in(step: &Step<'_>, head_dir: Option<&str>) -> bool {
    let Some(dir) = head_dir else { return true };
    let wd = step
        .working_directory
        .unwrap_or("")
        .trim_start_matches("./");
    if wd == dir || wd.starts_with(&format!("{dir}/")) {
        return true;
    }
    if let Some(crate::model::Uses::Local(path)) = &step.uses
        && path
            .trim_start_matches("./")
            .starts_with(&format!("{dir}/"))
    {
        return true;
    }
    step.run
        .is_some_and(|run| shell::commands(run).iter().any(|c| runs_in(c, dir)))
}

/// Whether a command runs code inside `dir`: the program lives there, it
/// changes into it, an interpreter runs a script from it, or a tool is
/// pointed at it (`make -C dir`, `npm --prefix dir`). Mentioning the
/// directory as data (`check.py --tree pr/modules`) does not count.
fn runs_in(cmd: &shell::Command<'_>, dir: &str) -> bool {
    let inside = |w: &str| {
        let w = w.trim_start_matches("./");
        w == dir || w.starts_with(&format!("{dir}/"))
    };
    let program = cmd.word(0).unwrap_or("");
    if inside(program) {
        return true;
    }
    let first_arg = cmd.words.iter().skip(1).find(|w| !w.starts_with('-'));
    let interpreter = matches!(
        cmd.program(),
        "cd" | "pushd"
            | "bash"
            | "sh"
            | "zsh"
            | "source"
            | "."
            | "python"
            | "python3"
            | "node"
            | "ruby"
            | "perl"
    );
    if interpreter && first_arg.is_some_and(|a| inside(a)) {
        return true;
    }
    cmd.words.windows(2).any(|w| {
        matches!(
            w[0].as_str(),
            "-C" | "--prefix" | "--cwd" | "--dir" | "--directory" | "--manifest-path"
        ) && inside(&w[1])
    })
}

/// What privilege the job holds, with confidence.
fn privilege(wf: &Workflow<'_>, job: &Job<'_>) -> Option<(String, Confidence)> {
    if let Some(c) = credentials(wf, job).first() {
        return Some((c.what.clone(), Confidence::High));
    }
    match wf.effective_permissions(job) {
        None => Some((
            "the default `GITHUB_TOKEN` permissions (no `permissions:` block; read-write on many repositories)".to_owned(),
            Confidence::Medium,
        )),
        Some(p) => p
            .writes()
            .first()
            .map(|(scope, _)| (format!("`{scope}` write access"), Confidence::High)),
    }
}
