//! The shape of the `github` context, to tell which expressions differ from
//! one run to the next.
//!
//! A concurrency group such as `release-${{ github.event.push.ref }}` looks
//! per-ref, but a `push` event has no `push` property: the expression is
//! always empty, every run shares one group, and a second tag push cancels
//! the publish of the first. This module knows which `github.*` properties
//! exist, which `github.event.*` properties each event's payload has, and
//! which of them change between runs.

use crate::expr::{context_paths, expressions};

/// Properties of `github` that exist and change between runs of one
/// workflow (for some events). Other existing properties are the same for
/// every run (`github.workflow`, `github.repository`, ...).
const VARYING_GITHUB: &[&str] = &[
    "ref",
    "ref_name",
    "sha",
    "run_id",
    "run_number",
    "head_ref",
    "base_ref",
    "workflow_ref",
    "workflow_sha",
    "actor",
    "actor_id",
    "triggering_actor",
    "token",
    "event",
];

/// Every property of `github`.
const GITHUB_PROPERTIES: &[&str] = &[
    "action",
    "action_path",
    "action_ref",
    "action_repository",
    "action_status",
    "actor",
    "actor_id",
    "api_url",
    "base_ref",
    "env",
    "event",
    "event_name",
    "event_path",
    "graphql_url",
    "head_ref",
    "job",
    "job_workflow_sha",
    "output",
    "path",
    "ref",
    "ref_name",
    "ref_protected",
    "ref_type",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repositoryurl",
    "retention_days",
    "run_attempt",
    "run_id",
    "run_number",
    "secret_source",
    "server_url",
    "sha",
    "state",
    "step_summary",
    "token",
    "triggering_actor",
    "workflow",
    "workflow_ref",
    "workflow_sha",
    "workspace",
];

/// `github.head_ref` and `github.base_ref` are empty outside pull requests.
const PULL_REQUEST_EVENTS: &[&str] = &["pull_request", "pull_request_target"];

/// Top-level payload properties of an event that change between runs
/// (`None` for an event whose payload we do not model: anything may vary).
fn varying_payload(event: &str) -> Option<&'static [&'static str]> {
    Some(match event {
        "push" => &[
            "ref",
            "before",
            "after",
            "commits",
            "compare",
            "head_commit",
            "base_ref",
            "pusher",
            "sender",
        ],
        "release" => &["release", "action", "changes", "sender"],
        "create" | "delete" => &["ref", "ref_type", "sender", "description"],
        "workflow_dispatch" => &["inputs", "ref", "sender"],
        "schedule" => &[],
        "pull_request" | "pull_request_target" => &[
            "number",
            "pull_request",
            "action",
            "before",
            "after",
            "label",
            "sender",
            "changes",
            "assignee",
            "requested_reviewer",
        ],
        _ => return None,
    })
}

/// Payload properties every event has, the same for every run.
const CONSTANT_PAYLOAD: &[&str] = &["repository", "organization", "installation", "enterprise"];

/// Whether a context path read on `event` can differ between two runs.
/// Unknown contexts (`env`, `inputs`, `needs`, `steps`, ...) may.
pub fn varies(path: &str, event: &str) -> bool {
    let mut parts = path.split('.');
    match parts.next() {
        Some("github") => {}
        // The same for every run of a workflow.
        Some("vars" | "matrix" | "strategy" | "secrets" | "runner" | "job") => return false,
        Some("inputs") => return matches!(event, "workflow_dispatch" | "workflow_call"),
        _ => return true,
    }
    let Some(property) = parts.next() else {
        return true; // `toJSON(github)`
    };
    if !GITHUB_PROPERTIES.contains(&property) {
        return false; // does not exist: always empty
    }
    if matches!(property, "head_ref" | "base_ref") {
        return PULL_REQUEST_EVENTS.contains(&event);
    }
    if !VARYING_GITHUB.contains(&property) {
        return false;
    }
    if property != "event" {
        return true;
    }
    let Some(field) = parts.next() else {
        return true;
    };
    if CONSTANT_PAYLOAD.contains(&field) {
        return false;
    }
    varying_payload(event).is_none_or(|fields| fields.contains(&field))
}

/// When every expression in `text` reads only paths that are the same on
/// every run of `event`, one path that explains why (preferring one that
/// does not exist), or `""` for a text with no path at all. `None` when the
/// text can differ between runs.
pub fn constant_on(text: &str, event: &str) -> Option<String> {
    let mut witness: Option<String> = None;
    for e in expressions(text) {
        for path in context_paths(e.inner) {
            if varies(&path, event) {
                return None;
            }
            let missing = path.starts_with("github.") && !exists(&path, event);
            if missing || witness.is_none() {
                let keep = witness.as_ref().is_none_or(|w| missing && exists(w, event));
                if keep {
                    witness = Some(path);
                }
            }
        }
    }
    Some(witness.unwrap_or_default())
}

/// Whether a `github.*` path exists on `event` (as far as modelled).
pub fn exists(path: &str, event: &str) -> bool {
    let mut parts = path.split('.');
    if parts.next() != Some("github") {
        return true;
    }
    let Some(property) = parts.next() else {
        return true;
    };
    if !GITHUB_PROPERTIES.contains(&property) {
        return false;
    }
    if matches!(property, "head_ref" | "base_ref") && !PULL_REQUEST_EVENTS.contains(&event) {
        return false;
    }
    if property != "event" {
        return true;
    }
    let Some(field) = parts.next() else {
        return true;
    };
    CONSTANT_PAYLOAD.contains(&field)
        || varying_payload(event).is_none_or(|fields| fields.contains(&field))
        || matches!(
            (event, field),
            ("push", "created" | "deleted" | "forced")
                | ("workflow_dispatch", "workflow")
                | ("schedule", "schedule")
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_that_collapse_on_push() {
        for (group, why) in [
            (
                "release-${{ github.event.push.ref }}",
                "github.event.push.ref",
            ),
            (
                "${{ github.workflow }}-${{ github.head_ref }}",
                "github.head_ref",
            ),
            ("publish", ""),
            ("${{ github.workflow }}", "github.workflow"),
            (
                "${{ github.workflow }}-${{ github.event.release.tag_name }}",
                "github.event.release.tag_name",
            ),
            (
                "${{ github.repository }}-${{ matrix.os }}",
                "github.repository",
            ),
        ] {
            assert_eq!(constant_on(group, "push").as_deref(), Some(why), "{group}");
        }
        for group in [
            "${{ github.workflow }}-${{ github.ref }}",
            "${{ github.workflow }}-${{ github.head_ref || github.run_id }}",
            "${{ github.workflow }}-${{ github.event.pull_request.number || github.sha }}",
            "release-${{ github.event.ref }}",
            "${{ github.workflow_ref }}",
            "${{ env.GROUP }}",
        ] {
            assert_eq!(constant_on(group, "push"), None, "{group}");
        }
        assert_eq!(
            constant_on("${{ github.event.release.tag_name }}", "release"),
            None
        );
        assert_eq!(
            constant_on("x-${{ github.event.pull_request.number }}", "release").as_deref(),
            Some("github.event.pull_request.number")
        );
    }
}
