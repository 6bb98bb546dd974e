//! Which `if:` conditions cannot be true on the events a workflow runs on.
//!
//! A step guarded by `if: github.event_name == 'push'` in a workflow that
//! only runs on `pull_request` never runs: it is not evidence of anything
//! (publishing, holding a token) there. The reading is deliberately small:
//! `&&`, `||` and parentheses over terms that compare `github.event_name`,
//! test for a tag or a branch ref (`startsWith(github.ref, 'refs/tags/')`,
//! `github.ref_type == 'tag'`, `github.ref_type == 'branch'`, `github.ref ==
//! 'refs/heads/main'`) or are anything else (which may be true). A negation
//! makes the whole term "may be true". When the workflow can be called by
//! another one (`workflow_call`) the event is the caller's, so no condition
//! on it is ever ruled out.

use crate::model::{Job, Step, Trigger, Workflow};
use crate::yaml::Node;

/// The events a workflow can run on, or `None` when they are not known
/// (a reusable workflow runs on its caller's events).
pub fn events<'a>(wf: &Workflow<'a>) -> Option<Vec<&'a str>> {
    if wf.triggers.iter().any(|t| t.event == "workflow_call") || wf.triggers.is_empty() {
        return None;
    }
    Some(wf.triggers.iter().map(|t| t.event).collect())
}

/// Events whose runs can have a tag as `github.ref` (`push` only when its
/// filters let tags through, see [`tags_possible`]).
const TAG_EVENTS: &[&str] = &["release", "create", "workflow_dispatch", "delete"];

/// Whether a run of one trigger can be on a tag. A `push` trigger with
/// only `branches`/`branches-ignore` filters never runs for tags.
pub(crate) fn trigger_can_be_tag(t: &Trigger<'_>) -> bool {
    if TAG_EVENTS.contains(&t.event) {
        return true;
    }
    if t.event != "push" {
        return false;
    }
    let Some(config) = t.config else { return true };
    let has = |k: &str| config.get(k).is_some();
    config
        .get("tags")
        .is_some_and(crate::analysis::tag_filter_matches_some)
        || has("tags-ignore")
        || !(has("branches") || has("branches-ignore") || has("tags"))
}

/// Whether a run of one trigger can be on a branch: a `push` filtered by
/// `tags` alone never is, nor is a `release` (its ref is the tag).
fn trigger_can_be_branch(t: &Trigger<'_>) -> bool {
    match t.event {
        "release" => false,
        "push" => {
            let Some(config) = t.config else { return true };
            let has = |k: &str| config.get(k).is_some();
            has("branches") || has("branches-ignore") || !(has("tags") || has("tags-ignore"))
        }
        _ => true,
    }
}

/// One event a run can have, and whether that run can be on a tag or on a
/// branch.
struct Event<'e> {
    name: &'e str,
    tags: bool,
    branches: bool,
}

/// The `if:` text of a node (job or step), if any.
fn condition(node: &crate::yaml::Node) -> Option<&str> {
    node.get("if").and_then(|c| c.as_str())
}

/// Whether all `conditions` can be true together on one run of the
/// workflow: each of its events is tried on its own, so a job limited to
/// `pull_request` and a step limited to `push` never run together.
fn all_possible(wf: &Workflow<'_>, conditions: &[&str]) -> bool {
    if conditions.is_empty() || events(wf).is_none() {
        return true;
    }
    wf.triggers.iter().any(|t| {
        let event = Event {
            name: t.event,
            tags: trigger_can_be_tag(t),
            branches: trigger_can_be_branch(t),
        };
        conditions.iter().all(|c| holds(c, &event))
    })
}

/// Whether a step can run on a run for a tag (a `release`, or a `push` of a
/// tag): its job's `if:` and its own can be true together there. A step
/// limited to branches (`if: github.ref_type == 'branch'`) cannot.
pub fn step_can_run_on_tag(wf: &Workflow<'_>, job: &Job<'_>, step: &Step<'_>) -> bool {
    let conditions: Vec<&str> = condition(job.node)
        .into_iter()
        .chain(condition(step.node))
        .collect();
    if conditions.is_empty() || events(wf).is_none() {
        return true;
    }
    wf.triggers
        .iter()
        .filter(|t| t.event == "release" || (t.event == "push" && trigger_can_be_tag(t)))
        .any(|t| {
            let event = Event {
                name: t.event,
                tags: true,
                branches: false,
            };
            conditions.iter().all(|c| holds(c, &event))
        })
}

/// Whether a job's own `if:` can be true on the workflow's events.
pub fn job_can_run(wf: &Workflow<'_>, job: &Job<'_>) -> bool {
    let conditions: Vec<&str> = condition(job.node).into_iter().collect();
    all_possible(wf, &conditions)
}

/// Whether a step can run: its job's `if:` and its own can be true
/// together on one of the workflow's events.
pub fn step_can_run(wf: &Workflow<'_>, job: &Job<'_>, step: &Step<'_>) -> bool {
    let conditions: Vec<&str> = condition(job.node)
        .into_iter()
        .chain(condition(step.node))
        .collect();
    all_possible(wf, &conditions) && !condition(step.node).is_some_and(|c| matrix_rules_out(job, c))
}

/// Most matrix combinations whose conditions are evaluated.
const MAX_MATRIX_COMBINATIONS: usize = 64;

/// Whether a step's condition on the job's matrix is false for every
/// combination of values the matrix lists (`if: matrix.java ==
/// 'temurin@11'` in a job whose matrix has only `temurin@8`, as generated
/// release workflows write one setup step per possible value). A matrix
/// built from an expression (`fromJSON(...)`), a key it does not list, or
/// too many combinations: the step may run.
fn matrix_rules_out(job: &Job<'_>, condition: &str) -> bool {
    if !condition.contains("matrix") {
        return false;
    }
    let Some(matrix) = job.node.get("strategy").and_then(|s| s.get("matrix")) else {
        return false;
    };
    let Some(entries) = matrix.as_map() else {
        return false;
    };
    let includes = matrix
        .get("include")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    let inner = crate::expr::condition_text(condition);
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for path in crate::expr::context_paths(inner) {
        let Some(name) = path.strip_prefix("matrix.") else {
            continue;
        };
        if name.contains('.') || keys.iter().any(|(k, _)| k == name) {
            continue;
        }
        let listed = entries
            .iter()
            .find(|e| e.key.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)));
        let mut values: Vec<String> = match listed {
            Some(e) if e.value.as_seq().is_some() => {
                e.value.strings().iter().map(|v| (*v).to_owned()).collect()
            }
            Some(_) => return false,
            None => Vec::new(),
        };
        // An include without the key adds no value of it.
        for item in includes {
            if let Some(e) = item
                .as_map()
                .unwrap_or_default()
                .iter()
                .find(|e| e.key.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
            {
                match e.value.as_str() {
                    Some(v) => values.push(v.to_owned()),
                    None => return false,
                }
            }
        }
        if values.is_empty() || values.iter().any(|v| v.contains("${{")) {
            return false;
        }
        keys.push((name.to_owned(), values));
    }
    if keys.is_empty() {
        return false;
    }
    let combinations = keys
        .iter()
        .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))
        .unwrap_or(usize::MAX);
    if combinations > MAX_MATRIX_COMBINATIONS {
        return false;
    }
    (0..combinations).all(|mut index| {
        let chosen: Vec<(&str, &str)> = keys
            .iter()
            .map(|(k, values)| {
                let v = &values[index % values.len()];
                index /= values.len();
                (k.as_str(), v.as_str())
            })
            .collect();
        let lookup = |path: &[String]| -> Option<String> {
            match path {
                [context, name] if context == "matrix" => chosen
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| (*v).to_owned()),
                _ => None,
            }
        };
        crate::expr_eval::condition_is_false(condition, &lookup)
    })
}

/// Whether `condition` may be true on a run of one of `events` (a `push`
/// counts as possibly on a tag).
pub fn possible(condition: &str, events: &[&str]) -> bool {
    events.iter().any(|name| {
        let event = Event {
            name,
            tags: *name == "push" || TAG_EVENTS.contains(name),
            branches: *name != "release",
        };
        holds(condition, &event)
    })
}

/// Whether `condition` may be true on a run of `event`.
fn holds(condition: &str, event: &Event<'_>) -> bool {
    may_be_true(crate::expr::condition_text(condition), event, 0)
}

/// Deepest nesting of parentheses read; deeper conditions may be true.
const MAX_NESTING: usize = 16;

fn may_be_true(text: &str, events: &Event<'_>, depth: usize) -> bool {
    if depth > MAX_NESTING {
        return true;
    }
    let disjuncts = split_top(text, "||");
    if disjuncts.len() > 1 {
        return disjuncts.iter().any(|d| may_be_true(d, events, depth + 1));
    }
    let conjuncts = split_top(text, "&&");
    if conjuncts.len() > 1 {
        return conjuncts.iter().all(|c| may_be_true(c, events, depth + 1));
    }
    let term = text.trim();
    if let Some(inner) = wrapped(term) {
        return may_be_true(inner, events, depth + 1);
    }
    term_may_be_true(term, events)
}

/// `(x)` → `x` when the parentheses wrap the whole term.
fn wrapped(term: &str) -> Option<&str> {
    let inner = term.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0i32;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    (depth == 0).then_some(inner)
}

/// Splits at `op` outside parentheses and quotes.
fn split_top<'t>(text: &'t str, op: &str) -> Vec<&'t str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && text[i..].starts_with(op) => {
                parts.push(&text[start..i]);
                i += op.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// Whether a simple term is certainly true on a run of `event`: a tag test
/// on a run that can only be on a tag, a branch test on one that can only
/// be on a branch, or the event's own name. Anything else: not certain.
fn term_surely_true(term: &str, event: &Event<'_>) -> bool {
    let term = term.trim();
    let term = wrapped(term).unwrap_or(term);
    if term.contains("&&") || term.contains("||") || term.contains('!') {
        return false;
    }
    let lower: String = term
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect::<String>()
        .to_ascii_lowercase();
    let only_tags = event.tags && !event.branches;
    let only_branches = event.branches && !event.tags;
    match lower.as_str() {
        "startswith(github.ref,refs/tags/)" | "startswith(github.ref,refs/tags)" => only_tags,
        "github.ref_type==tag" | "tag==github.ref_type" => only_tags,
        "startswith(github.ref,refs/heads/)" | "startswith(github.ref,refs/heads)" => only_branches,
        "github.ref_type==branch" | "branch==github.ref_type" => only_branches,
        _ => lower
            .strip_prefix("github.event_name==")
            .is_some_and(|name| name.eq_ignore_ascii_case(event.name)),
    }
}

/// Whether the compared side of a term (quotes and spaces removed) is more
/// than one value: a comparison chain (`'release' == success()`), a call,
/// an index or an ordering.
pub(crate) fn not_a_literal(value: &str) -> bool {
    value.contains(['=', '(', ')', '<', '>', '['])
}

/// Whether a compared value (quotes removed) is a context, not a literal.
fn names_a_context(value: &str) -> bool {
    [
        "github.",
        "inputs.",
        "env.",
        "vars.",
        "needs.",
        "steps.",
        "matrix.",
        "job.",
        "runner.",
        "secrets.",
        "strategy.",
    ]
    .iter()
    .any(|c| value.starts_with(c))
}

fn term_may_be_true(term: &str, event: &Event<'_>) -> bool {
    if let Some(negated) = term.strip_prefix('!').filter(|_| !term.starts_with("!=")) {
        // `!startsWith(github.ref, 'refs/tags/')` is false on a tag run.
        return !term_surely_true(negated, event);
    }
    let compact: String = term
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .collect::<String>()
        .replace('\'', "");
    let lower = compact.to_ascii_lowercase();
    // `if: false` turns a step off (a common way to disable one).
    if lower == "false" {
        return false;
    }
    let can_be_tag = || event.tags;
    let can_be_branch = || event.branches;
    // `contains(fromJSON('["pull_request", "merge_group"]'), github.event_name)`
    if let Some(list) = lower
        .strip_prefix("contains(fromjson([")
        .and_then(|rest| rest.strip_suffix("]),github.event_name)"))
    {
        return list
            .split(',')
            .any(|name| name.eq_ignore_ascii_case(event.name));
    }
    if lower.starts_with("startswith(github.ref,refs/tags")
        || lower.starts_with("contains(github.ref,refs/tags")
    {
        return can_be_tag();
    }
    if lower.starts_with("startswith(github.ref,refs/heads") {
        return can_be_branch();
    }
    for (op, equal) in [("!=", false), ("==", true)] {
        let Some((left, right)) = lower.split_once(op) else {
            continue;
        };
        let (context, value) = if left.starts_with("github.") {
            (left, right)
        } else {
            (right, left)
        };
        // A chain (`github.event_name == 'release' == success()`) or a
        // value that is not a literal: not read, so it may be true.
        if not_a_literal(value) || names_a_context(value) {
            return true;
        }
        // `event_name` values are compared case-insensitively by GitHub.
        return match (context, equal) {
            ("github.event_name", true) => event.name.eq_ignore_ascii_case(value),
            ("github.event_name", false) => !event.name.eq_ignore_ascii_case(value),
            ("github.ref_type", true) if value == "tag" => can_be_tag(),
            ("github.ref_type", true) if value == "branch" => can_be_branch(),
            ("github.ref_type", false) if value == "branch" => can_be_tag(),
            ("github.ref_type", false) if value == "tag" => can_be_branch(),
            ("github.ref", true) if value.starts_with("refs/heads/") => can_be_branch(),
            ("github.ref", true) if value.starts_with("refs/tags/") => can_be_tag(),
            _ => true,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::possible;

    fn rules_out(matrix: &str, condition: &str) -> bool {
        let text = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix: {matrix}\n    steps:\n      - run: echo\n"
        );
        let src = crate::source::SourceFile::new("w.yml", &text);
        let doc = crate::yaml::load(&src).unwrap();
        let wf = crate::model::Workflow::parse(&doc.root).unwrap();
        super::matrix_rules_out(&wf.jobs[0], condition)
    }

    #[test]
    fn matrix_conditions_are_tried_with_every_combination() {
        assert!(rules_out("{java: [8]}", "matrix.java == '11'"));
        assert!(rules_out(
            "{java: [8, 17], os: [a, b]}",
            "matrix.java == '11' && matrix.os == 'a'"
        ));
        assert!(!rules_out(
            "{java: [8, 17], os: [a, b]}",
            "matrix.java == '17' && matrix.os == 'a'"
        ));
        assert!(!rules_out(
            "{java: [8], include: [{java: 11}]}",
            "matrix.java == '11'"
        ));
        // Unknown keys, matrices from expressions, values that are expressions,
        // and too many combinations: the step may run.
        assert!(!rules_out("{java: [8]}", "matrix.os == 'a'"));
        assert!(!rules_out(
            "${{ fromJSON(needs.a.outputs.m) }}",
            "matrix.java == '11'"
        ));
        assert!(!rules_out(
            "{java: ['${{ inputs.j }}']}",
            "matrix.java == '11'"
        ));
        let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let big = format!("{{a: [{0}], b: [{0}]}}", many.join(", "));
        assert!(!rules_out(&big, "matrix.a == 'x' && matrix.b == 'y'"));
        assert!(!rules_out("{java: [8]}", "github.ref == 'x'"));
    }

    #[test]
    fn conditions_ruled_out_by_the_events() {
        let pr = ["pull_request"];
        for never in [
            "github.event_name == 'push'",
            "${{ github.event_name == 'release' }}",
            "'push' == github.event_name",
            "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            "(github.event_name == 'push' || github.event_name == 'release') && success()",
            "startsWith(github.ref, 'refs/tags/')",
            "github.ref_type == 'tag'",
            "github.event_name != 'pull_request'",
        ] {
            assert!(!possible(never, &pr), "{never}");
        }
        for maybe in [
            "",
            "always()",
            "github.event_name == 'pull_request'",
            "github.event_name == 'PULL_REQUEST'",
            "github.event_name == 'push' || always()",
            "!(github.event_name == 'push')",
            "github.repository == 'a/b'",
            "contains(github.event.pull_request.labels.*.name, 'release')",
        ] {
            assert!(possible(maybe, &pr), "{maybe}");
        }
        assert!(possible(
            "startsWith(github.ref, 'refs/tags/')",
            &["push", "pull_request"]
        ));
        assert!(!possible("github.ref_type == 'tag'", &["schedule"]));
        assert!(!possible("github.ref_type == 'branch'", &["release"]));
        assert!(!possible("github.ref == 'refs/heads/main'", &["release"]));
        assert!(!possible(
            "startsWith(github.ref, 'refs/heads/')",
            &["release"]
        ));
        assert!(!possible("github.ref_type != 'tag'", &["release"]));
        // A negated tag or event test is read too.
        assert!(!possible(
            "${{ !startsWith(github.ref, 'refs/tags/') }}",
            &["release"]
        ));
        assert!(possible("!startsWith(github.ref, 'refs/tags/')", &["push"]));
        assert!(!possible("!(github.event_name == 'pull_request')", &pr));
        // Chains and non-literal comparisons are not read: may be true.
        assert!(possible("github.event_name == 'release' == success()", &pr));
        assert!(possible("github.event_name == github.event.inputs.x", &pr));
        assert!(possible("github.ref_type == 'branch'", &["push"]));
        assert!(!possible("false", &["push"]));
        assert!(!possible("${{ false }}", &["push"]));
        assert!(!possible("false && always()", &["push"]));
        assert!(possible("false || always()", &["push"]));
        assert!(possible("github.ref_type != 'branch'", &["push"]));
        // Hostile nesting is answered (and may be true).
        let deep = format!(
            "{}github.event_name == 'push'{}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert!(possible(&deep, &pr));
    }
}
