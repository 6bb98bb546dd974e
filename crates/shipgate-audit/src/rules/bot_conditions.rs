//! `bot-conditions`: an `if:` (job or step) that trusts `github.actor` or
//! `github.triggering_actor` to be a bot (`== 'dependabot[bot]'`, or any
//! `...[bot]` name, `endsWith(github.actor, '[bot]')`,
//! `contains(github.actor, '[bot]')`) in a workflow a pull request can
//! trigger. High severity under `pull_request_target` and `workflow_run`
//! (they run with secrets), medium under `pull_request`.

use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "bot-conditions",
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "An `if:` trusts `github.actor` to be a bot, which a fork's pull request can arrange.",
    risk: "`github.actor` is whoever caused the latest event, not who wrote the code: when a \
           bot such as Dependabot updates a branch of a pull request an attacker opened, or is \
           made to act on it, the run has the bot as actor and the attacker's code as head. A \
           condition meant to auto-approve, auto-merge or grant secrets to bot updates then \
           does it for the attacker.",
    fix: "Check who opened the pull request and what it contains, not the actor: \
          `github.event.pull_request.user.login == 'dependabot[bot]'` (the author cannot be \
          spoofed), and for Dependabot use `dependabot/fetch-metadata` to inspect the update.",
};

const PRIVILEGED: &[&str] = &["pull_request_target", "workflow_run"];
const PULL_REQUEST: &[&str] = &[
    "pull_request",
    "pull_request_target",
    "workflow_run",
    "pull_request_review",
    "pull_request_review_comment",
    "issue_comment",
];

pub struct BotConditions;

impl Rule for BotConditions {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        if !wf.triggers.iter().any(|t| PULL_REQUEST.contains(&t.event)) {
            return Vec::new();
        }
        let severity = if wf.triggers.iter().any(|t| PRIVILEGED.contains(&t.event)) {
            Severity::High
        } else {
            Severity::Medium
        };
        let mut out = Vec::new();
        for job in &wf.jobs {
            let mut conditions = vec![(job.node, job.route.clone())];
            conditions.extend(job.steps.iter().map(|s| (s.node, s.route.clone())));
            for (node, route) in conditions {
                out.extend(check(node, route, severity));
            }
        }
        out
    }
}

fn check(node: &Node, route: Route, severity: Severity) -> Option<Draft> {
    let condition = node.get("if")?.as_str()?;
    let needle = trusted_bot(condition)?;
    Some(
        Draft::new(
            &META,
            format!("`if: {}` trusts the actor to be a bot", condition.trim()),
            Loc::value(route.key("if")).with_needle(needle),
            "spoofable bot check",
        )
        .severity(severity),
    )
}

/// The actor context in a condition that compares it with a bot name.
fn trusted_bot(condition: &str) -> Option<&'static str> {
    let compact: String = condition
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
        .replace('"', "'");
    for actor in ["github.triggering_actor", "github.actor"] {
        let bot_literal = |rest: &str| {
            rest.strip_prefix('\'')
                .and_then(|r| r.split_once('\''))
                .is_some_and(|(name, _)| name.ends_with("[bot]"))
        };
        let compared = compact.match_indices(actor).any(|(at, _)| {
            let after = &compact[at + actor.len()..];
            let before = &compact[..at];
            (after.starts_with("==") && bot_literal(&after[2..]))
                || (before.ends_with("==") && before.trim_end_matches("==").ends_with("[bot]'"))
                || (after.starts_with(",'[bot]')")
                    && (before.ends_with("endswith(") || before.ends_with("contains(")))
        });
        if compared {
            return Some(if condition.contains(actor) {
                actor
            } else {
                "github."
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::trusted_bot;

    #[test]
    fn bot_checks_on_the_actor() {
        for yes in [
            "github.actor == 'dependabot[bot]'",
            "${{ github.actor == \"renovate[bot]\" }}",
            "'dependabot[bot]' == github.actor",
            "github.triggering_actor == 'dependabot[bot]' && github.event_name == 'pull_request_target'",
            "endsWith(github.actor, '[bot]')",
            "contains(github.actor, '[bot]')",
        ] {
            assert!(trusted_bot(yes).is_some(), "{yes}");
        }
        for no in [
            "github.event.pull_request.user.login == 'dependabot[bot]'",
            "github.actor == 'octocat'",
            "github.actor != 'dependabot[bot]'",
            "always()",
        ] {
            assert!(trusted_bot(no).is_none(), "{no}");
        }
    }
}
