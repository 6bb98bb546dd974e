//! `unpinned-action`: a `uses:` that is not pinned to a full 40-hex commit
//! SHA. High for third-party actions, medium for `actions/*` and `github/*`
//! (GitHub's own). Local `./` actions and `docker://...@sha256:` images are
//! fine. Applies to steps, reusable-workflow calls and composite actions.

use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Action, Step, Uses, Workflow, is_full_sha};
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    id: "unpinned-action",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "An action or reusable workflow is referenced by a tag or branch, not a full commit SHA.",
    risk: "Tags and branches move. Whoever controls the action's repository (or steals its \
           maintainer's token) can point the tag or branch you reference at new code, which \
           then runs in your jobs with your credentials. Only a full commit SHA is immutable.",
    fix: "Pin to the full 40-character commit SHA of the release and keep the version in a \
          trailing comment: `uses: actions/checkout@<sha> # v4.2.2`. Tools like Dependabot and \
          Renovate keep such pins up to date.",
};

pub struct UnpinnedAction;

impl Rule for UnpinnedAction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        for job in &wf.jobs {
            if let Some(uses) = &job.uses {
                out.extend(check(uses, job.route.key("uses")));
            }
            out.extend(check_steps(&job.steps));
        }
        out
    }

    fn check_action(&self, action: &Action<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        check_steps(&action.steps)
    }
}

fn check_steps(steps: &[Step<'_>]) -> Vec<Draft> {
    steps
        .iter()
        .filter_map(|s| check(s.uses.as_ref()?, s.route.key("uses")))
        .collect()
}

fn check(uses: &Uses, route: Route) -> Option<Draft> {
    let (name, severity) = match uses {
        Uses::Local(_) => return None,
        Uses::Docker { image, pinned } => {
            if *pinned {
                return None;
            }
            (format!("docker://{image}"), Severity::High)
        }
        Uses::Repository { owner, git_ref, .. } => {
            if git_ref.as_deref().is_some_and(is_full_sha) {
                return None;
            }
            let first_party =
                owner.eq_ignore_ascii_case("actions") || owner.eq_ignore_ascii_case("github");
            let sev = if first_party {
                Severity::Medium
            } else {
                Severity::High
            };
            (uses.slug().unwrap_or_default(), sev)
        }
    };
    let how = match uses {
        Uses::Docker { .. } => "is not pinned to an image digest (`@sha256:...`)".to_owned(),
        _ => match uses.git_ref() {
            Some(r) => format!("is pinned to `{r}`, which can move, not to a full commit SHA"),
            None => "has no ref at all".to_owned(),
        },
    };
    let why = match uses {
        Uses::Docker { image, .. } => format!(
            "Image tags move. Whoever can push to the registry (or steals its credentials) can \
             point `{image}` at a new image, which then runs in your jobs with your credentials. \
             Only a digest (`@sha256:...`) is immutable."
        ),
        _ => match uses.git_ref() {
            Some(r) => format!(
                "Tags and branches move. Whoever controls `{name}` (or steals its maintainer's \
                 token) can point `@{r}` at new code, which then runs in your jobs with your \
                 credentials. Only a full commit SHA is immutable."
            ),
            None => format!(
                "Without a ref, `{name}` runs whatever its default branch holds at the time of \
                 the run, which whoever controls it can change. Only a full commit SHA is immutable."
            ),
        },
    };
    Some(
        Draft::new(
            &META,
            format!("`{name}` {how}"),
            Loc::value(route),
            "not pinned to a commit SHA",
        )
        .severity(severity)
        .why(why),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explanation_names_the_actual_reference() {
        for (text, names) in [
            ("actions/setup-node@v3.8.1", "`@v3.8.1`"),
            ("org/deploy@main", "`@main`"),
            ("org/deploy", "Without a ref, `org/deploy`"),
            ("docker://alpine:3.20", "`alpine:3.20`"),
        ] {
            let draft = check(&Uses::parse(text), Route::root().key("uses")).unwrap();
            let why = draft.why.unwrap();
            assert!(why.contains(names), "{text}: {why}");
            assert!(!why.contains("@v4") || text.contains("@v4"), "{why}");
        }
    }
}
