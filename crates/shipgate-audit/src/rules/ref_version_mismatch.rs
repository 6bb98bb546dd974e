//! `ref-version-mismatch`: a SHA pin whose version comment names a tag that
//! points at another commit, checked offline against local git clones of
//! the actions (`--actions-dir DIR`, one clone per action at
//! `DIR/<owner>/<repo>`).
//!
//! Without `--actions-dir`, or when an action has no clone there, or the
//! clone has no such tag, nothing is reported: the rule never goes to the
//! network. The tag is resolved with `git rev-parse` (annotated tags are
//! peeled to their commit); a short version comment (`# v4`) is tried as
//! written and with a `v` prefix.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Action, Step, Uses, Workflow, is_full_sha};
use crate::route::{Loc, Route};
use crate::rules::pin_without_version_comment::{is_version_comment, trailing_comment};
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "ref-version-mismatch",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A SHA pin's version comment names a tag that points at a different commit.",
    risk: "Reviewers and update tools read the comment, not the SHA. A pin whose comment says \
           `# v4.2.2` but whose SHA is another commit (an unreleased branch head, a fork's \
           commit, an old release) runs code nobody reviewed under a version everyone trusts.",
    fix: "Pin to the commit the tag points at (`git rev-parse <tag>^{commit}` in the action's \
          repository) or correct the comment to the release the SHA really is.",
};

pub struct RefVersionMismatch;

impl Rule for RefVersionMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, cx: &Context<'_>) -> Vec<Draft> {
        let Some(dir) = cx.actions_dir else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for job in &wf.jobs {
            if let Some(uses) = &job.uses {
                out.extend(check(uses, job.route.key("uses"), cx, dir));
            }
            out.extend(check_steps(&job.steps, cx, dir));
        }
        out
    }

    fn check_action(&self, action: &Action<'_>, cx: &Context<'_>) -> Vec<Draft> {
        match cx.actions_dir {
            Some(dir) => check_steps(&action.steps, cx, dir),
            None => Vec::new(),
        }
    }
}

fn check_steps(steps: &[Step<'_>], cx: &Context<'_>, dir: &Path) -> Vec<Draft> {
    steps
        .iter()
        .filter_map(|s| check(s.uses.as_ref()?, s.route.key("uses"), cx, dir))
        .collect()
}

/// A name that is safe as one path component and one ref component.
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['.', '-'])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        && !s.contains("..")
}

fn check(uses: &Uses, route: Route, cx: &Context<'_>, dir: &Path) -> Option<Draft> {
    let Uses::Repository {
        owner,
        repo,
        git_ref,
        ..
    } = uses
    else {
        return None;
    };
    let sha = git_ref.as_deref().filter(|r| is_full_sha(r))?;
    if !safe_name(owner) || !safe_name(repo) {
        return None;
    }
    let loc = Loc::value(route);
    let range = loc.resolve(cx.root, cx.source)?;
    let comment = trailing_comment(cx.source.text.get(range.end..).unwrap_or(""))?;
    if !is_version_comment(comment) {
        return None;
    }
    let version = comment
        .trim_start_matches("tag=")
        .split_whitespace()
        .next()?
        .trim_end_matches([',', ';', ')']);
    if !safe_name(version) {
        return None;
    }
    let clone = dir.join(owner).join(repo);
    if !clone.is_dir() {
        return None;
    }
    let candidates = if version.starts_with(['v', 'V']) {
        vec![version.to_owned()]
    } else {
        vec![version.to_owned(), format!("v{version}")]
    };
    let (tag, tagged) = candidates
        .iter()
        .find_map(|t| tag_commit(&clone, t).map(|c| (t.clone(), c)))?;
    if tagged.eq_ignore_ascii_case(sha) {
        return None;
    }
    Some(Draft::new(
        &META,
        format!(
            "`{owner}/{repo}@{sha}` is commented `{tag}`, but `{tag}` is commit {tagged} in the local clone"
        ),
        loc,
        "SHA and version comment disagree",
    ))
}

/// The commit a tag points at in a local clone (`None` when there is no
/// such tag or git cannot read the clone).
fn tag_commit(clone: &Path, tag: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(clone)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/tags/{tag}^{{commit}}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    is_full_sha(&sha).then_some(sha)
}
