//! `pin-without-version-comment`: a `uses:` pinned to a commit SHA with no
//! trailing `# vX.Y.Z` comment, so readers (and update bots) cannot tell
//! which release it is. Accepted comments: `# v4`, `# v4.1.2`, `# 1.2.3`,
//! `# tag=v1.2`, `# pin@v1.2.3`, optionally followed by more text.

use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Action, Step, Uses, Workflow, is_full_sha};
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "pin-without-version-comment",
    severity: Severity::Low,
    confidence: Confidence::High,
    summary: "A SHA-pinned `uses:` has no trailing `# vX.Y.Z` comment naming the release.",
    risk: "A bare SHA cannot be reviewed: nobody can see which release it is, whether it is \
           outdated, or whether a change swapped it for a commit that is not a release at all.",
    fix: "Add the release after the pin: `uses: owner/action@<sha> # v1.2.3` (Dependabot and \
          Renovate keep the comment in step with the SHA).",
};

pub struct PinWithoutVersionComment;

impl Rule for PinWithoutVersionComment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in &wf.jobs {
            if let Some(uses) = &job.uses {
                out.extend(check(uses, job.route.key("uses"), cx));
            }
            out.extend(check_steps(&job.steps, cx));
        }
        out
    }

    fn check_action(&self, action: &Action<'_>, cx: &Context<'_>) -> Vec<Draft> {
        check_steps(&action.steps, cx)
    }
}

fn check_steps(steps: &[Step<'_>], cx: &Context<'_>) -> Vec<Draft> {
    steps
        .iter()
        .filter_map(|s| check(s.uses.as_ref()?, s.route.key("uses"), cx))
        .collect()
}

fn check(uses: &Uses, route: Route, cx: &Context<'_>) -> Option<Draft> {
    if !uses.git_ref().is_some_and(is_full_sha) {
        return None;
    }
    let loc = Loc::value(route);
    let range = loc.resolve(cx.root, cx.source)?;
    let comment = trailing_comment(cx.source.text.get(range.end..).unwrap_or(""));
    if comment.is_some_and(is_version_comment) {
        return None;
    }
    Some(Draft::new(
        &META,
        format!(
            "`{}` is pinned to a SHA without a `# vX.Y.Z` comment naming the release",
            uses.slug().unwrap_or_default()
        ),
        loc,
        "add `# vX.Y.Z` after the SHA",
    ))
}

/// The comment on the rest of the line, if any.
pub(crate) fn trailing_comment(rest_of_file: &str) -> Option<&str> {
    let line = rest_of_file.lines().next().unwrap_or("");
    let hash = line.find('#')?;
    Some(line[hash + 1..].trim())
}

/// `v4`, `v4.1.2`, `1.2.3`, `tag=v1.2`, `tag: v1`, `pin@v1.2.3` (as the
/// pin-github-action tool writes it) ... at the start of the comment.
pub(crate) fn is_version_comment(comment: &str) -> bool {
    let c = comment
        .strip_prefix("tag=")
        .or_else(|| comment.strip_prefix("tag:"))
        .or_else(|| comment.strip_prefix("pin @"))
        .or_else(|| comment.strip_prefix("pin@"))
        .unwrap_or(comment)
        .trim_start();
    let c = c
        .strip_prefix('v')
        .or_else(|| c.strip_prefix('V'))
        .unwrap_or(c);
    c.starts_with(|ch: char| ch.is_ascii_digit())
}

/// The version a comment names, as (major, minor, patch) numbers.
pub(crate) fn comment_version(comment: &str) -> Option<Vec<u32>> {
    if !is_version_comment(comment) {
        return None;
    }
    let start = comment.find(|c: char| c.is_ascii_digit())?;
    let token: String = comment[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    token
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comments() {
        for ok in [
            "v4",
            "v4.1.2",
            "1.2.3",
            "tag=v1.2",
            "pin@v1.231.0",
            "v8.0.1 (digest check)",
        ] {
            assert!(is_version_comment(ok), "{ok}");
        }
        for bad in ["", "pinned", "main", "see docs", "pin@main"] {
            assert!(!is_version_comment(bad), "{bad}");
        }
        assert_eq!(comment_version("v3.1.0"), Some(vec![3, 1, 0]));
        assert_eq!(trailing_comment(" # v4\nnext"), Some("v4"));
    }
}
