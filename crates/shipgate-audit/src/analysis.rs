//! Shared facts about jobs that several rules need: which credentials a job
//! holds, where it runs a toolchain, where it publishes, and what triggers
//! the workflow. Each heuristic is documented where it is decided.

use std::collections::{HashMap, HashSet};

use crate::expr::{expressions, secrets_read};
use crate::model::{Job, Permissions, Step, Uses, Workflow};
use crate::route::{Loc, Route};
use crate::shell;
use crate::yaml::{Node, Value};

/// A credential a job holds.
#[derive(Debug, Clone)]
pub struct Credential {
    pub loc: Loc,
    /// e.g. "`id-token: write`" or "`secrets.NPM_TOKEN`".
    pub what: String,
    pub is_id_token: bool,
}

/// One step of a path while walking a tree, borrowed (no allocation).
#[derive(Clone, Copy)]
enum PathStep<'n> {
    Key(&'n str),
    Index(usize),
}

/// Every scalar under `node` whose text passes `keep`, with its route.
/// Routes are built only for the scalars kept: most scalars of a job hold
/// no expression, and building a route for each (a vector clone per node)
/// was most of the audit's time. Iterative, so alias-expanded depth cannot
/// overflow the stack.
pub fn scalars_where<'n>(
    node: &'n Node,
    route: Route,
    keep: impl Fn(&str) -> bool,
) -> Vec<(Route, &'n str)> {
    let mut out = Vec::new();
    let mut path: Vec<PathStep<'n>> = Vec::new();
    // (node, depth of its parent path, the step that reaches it)
    let mut stack: Vec<(&'n Node, usize, Option<PathStep<'n>>)> = vec![(node, 0, None)];
    while let Some((n, depth, step)) = stack.pop() {
        path.truncate(depth);
        path.extend(step);
        match &n.value {
            Value::Scalar(s, _) => {
                if keep(s) {
                    let r = path.iter().fold(route.clone(), |r, step| match step {
                        PathStep::Key(k) => r.key(k),
                        PathStep::Index(i) => r.index(*i),
                    });
                    out.push((r, &**s));
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, path.len(), Some(PathStep::Index(i))));
                }
            }
            Value::Map(entries, _) => {
                for e in entries.iter().rev() {
                    if let Some(k) = e.key.as_str() {
                        stack.push((&e.value, path.len(), Some(PathStep::Key(k))));
                    }
                }
            }
        }
    }
    out
}

/// Every scalar under `node`, with its route.
pub fn scalars(node: &Node, route: Route) -> Vec<(Route, &str)> {
    scalars_where(node, route, |_| true)
}

/// The secrets (other than `GITHUB_TOKEN`) one scalar reads: one entry per
/// scalar, so `${{ secrets.A || secrets.B }}` is one credential naming both.
#[derive(Debug, Clone)]
pub struct SecretRef {
    /// The first expression that reads a secret.
    pub loc: Loc,
    /// Upper-cased names, in order, without repeats (`*` for all secrets).
    pub names: Vec<String>,
}

impl SecretRef {
    /// "`secrets.A`" or "`secrets.A` / `secrets.B`" ("all secrets" for `*`).
    pub fn phrase(&self) -> String {
        if self.names.iter().any(|n| n == "*") {
            return "all secrets".to_owned();
        }
        self.names
            .iter()
            .map(|n| format!("`secrets.{n}`"))
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The names as `secrets.A / secrets.B`, for use inside backquotes.
    pub fn bare(&self) -> String {
        self.names
            .iter()
            .map(|n| format!("secrets.{n}"))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// `secrets.*` references (other than `GITHUB_TOKEN`) under a node, one per scalar.
pub fn secret_refs(node: &Node, route: Route) -> Vec<SecretRef> {
    let mut out = Vec::new();
    for (r, text) in scalars_where(node, route, |t| t.contains("${{") && t.contains("secrets")) {
        let mut found: Option<SecretRef> = None;
        for e in expressions(text) {
            for name in secrets_read(e.inner) {
                if name == "GITHUB_TOKEN" {
                    continue;
                }
                let entry = found.get_or_insert_with(|| SecretRef {
                    loc: Loc::value(r.clone()).with_needle(e.raw),
                    names: Vec::new(),
                });
                if !entry.names.contains(&name) {
                    entry.names.push(name);
                }
            }
        }
        out.extend(found);
    }
    out
}

/// The credentials a job holds: `id-token: write` (own or inherited from the
/// workflow), any secret other than `GITHUB_TOKEN` it reads (including from
/// workflow-level `env`), and `secrets: inherit` on a reusable-workflow call.
pub fn credentials(wf: &Workflow<'_>, job: &Job<'_>) -> Vec<Credential> {
    crate::memo::credentials(job, || find_credentials(wf, job))
}

fn find_credentials(wf: &Workflow<'_>, job: &Job<'_>) -> Vec<Credential> {
    let mut out = Vec::new();
    if let Some(route) = wf
        .effective_permissions(job)
        .and_then(Permissions::id_token_write)
    {
        out.push(Credential {
            loc: Loc::entry(route),
            what: "`id-token: write`".to_owned(),
            is_id_token: true,
        });
    }
    // Secrets of the job, except those of steps that can never run (`if:
    // false`, a condition the workflow's events rule out).
    // (In the job's own order, so the first one named stays the first.)
    let mut secrets = Vec::new();
    for entry in job.node.as_map().unwrap_or_default() {
        let Some(key) = entry.key.as_str() else {
            continue;
        };
        if key != "steps" {
            secrets.extend(secret_refs(&entry.value, job.route.key(key)));
            continue;
        }
        for step in job
            .steps
            .iter()
            .filter(|s| crate::conditions::step_can_run(wf, job, s))
        {
            secrets.extend(secret_refs(step.node, step.route.clone()));
        }
    }
    for secret in secrets {
        out.push(Credential {
            what: secret.phrase(),
            loc: secret.loc,
            is_id_token: false,
        });
    }
    if let Some(env) = wf.env {
        for secret in secret_refs(env, Route::root().key("env")) {
            out.push(Credential {
                what: format!("{} (workflow-level `env`)", secret.phrase()),
                loc: secret.loc,
                is_id_token: false,
            });
        }
    }
    if job.node.get("secrets").and_then(Node::as_str) == Some("inherit") {
        out.push(Credential {
            loc: Loc::entry(job.route.key("secrets")),
            what: "`secrets: inherit`".to_owned(),
            is_id_token: false,
        });
    }
    out
}

/// The jobs that run their own steps (reusable-workflow calls are skipped:
/// their steps are in another file) and hold a credential, each with its
/// first credential (the one findings name).
pub fn jobs_with_credential<'w, 'a>(
    wf: &'w Workflow<'a>,
) -> impl Iterator<Item = (&'w Job<'a>, Credential)> + 'w {
    wf.jobs
        .iter()
        .filter(|job| job.uses.is_none())
        .filter_map(|job| Some((job, credentials(wf, job).into_iter().next()?)))
}

/// A step that installs dependencies, builds, or runs code from the checkout.
#[derive(Debug, Clone)]
pub struct ToolchainStep {
    pub step: usize,
    pub loc: Loc,
    pub what: String,
}

/// Actions that build or install (beyond the `*/setup-*` family).
const BUILD_ACTIONS: &[&str] = &[
    "docker/build-push-action",
    "goreleaser/goreleaser-action",
    "gradle/gradle-build-action",
    "gradle/actions",
    "snok/install-poetry",
    "abatilo/actions-poetry",
    "actions-rs/cargo",
    "actions-rs/toolchain",
    "dtolnay/rust-toolchain",
    "bahmutov/npm-install",
    "borales/actions-yarn",
    "changesets/action",
    "pyo3/maturin-action",
    "pypa/cibuildwheel",
    "hynek/build-and-inspect-python-package",
    "cachix/install-nix-action",
    "jdx/mise-action",
    "asdf-vm/actions",
];

/// Whether a step checks out the repository.
pub fn is_checkout(step: &Step<'_>) -> bool {
    step.uses_action("actions/checkout")
}

/// The toolchain steps of a job, in order.
///
/// Heuristics (documented in the README too):
/// - `run:` commands are classified by [`shell::toolchain_activity`]; scripts
///   and `./` paths count as "code from the checkout" only after a checkout.
/// - `uses: ./...` local actions are code from the checkout.
/// - `*/setup-*` actions (setup-node, setup-python, setup-uv, ...) count when
///   the job also checks out the repository (the toolchain is there to build
///   it) or when they restore a dependency cache (`cache:`). A bare setup step
///   that only provides the `npm`/`twine` binary to upload a prebuilt artifact
///   (a split publish job that only downloads and uploads) is not a
///   toolchain step.
/// - Known build/install actions (docker build-push, goreleaser, ...) count,
///   except in an upload-only mode (`PyO3/maturin-action` with `command: upload`).
pub fn toolchain_steps(job: &Job<'_>) -> Vec<ToolchainStep> {
    let has_checkout = job.steps.iter().any(is_checkout);
    let mut checked_out = false;
    let mut out = Vec::new();
    for step in &job.steps {
        if is_checkout(step) {
            checked_out = true;
            continue;
        }
        if let Some(uses) = &step.uses {
            let uses_route = step.route.key("uses");
            let hit = match uses {
                Uses::Local(path) => ((checked_out || crate::model::needs_no_checkout(path))
                    && !crate::model::local_action_path(path).starts_with("./.github/workflows"))
                .then(|| format!("`uses: {path}` runs an action of the repository")),
                Uses::Repository { repo, .. } => {
                    let slug = uses.slug().unwrap_or_default();
                    let cache = step
                        .input("cache")
                        .is_some_and(|c| !c.is_empty() && c != "false");
                    if repo.to_ascii_lowercase().starts_with("setup-") && (has_checkout || cache) {
                        Some(format!("`{slug}` sets up a toolchain to build the project"))
                    } else if crate::publishing::upload_only(step) {
                        // e.g. maturin-action `command: upload`: sends built files only.
                        None
                    } else if BUILD_ACTIONS.iter().any(|a| {
                        slug == a.to_ascii_lowercase()
                            || slug.starts_with(&format!("{}/", a.to_ascii_lowercase()))
                    }) {
                        Some(format!("`{slug}` installs or builds"))
                    } else {
                        None
                    }
                }
                Uses::Docker { .. } => None,
            };
            if let Some(what) = hit {
                out.push(ToolchainStep {
                    step: step.index,
                    loc: Loc::value(uses_route),
                    what,
                });
            }
        }
        if let Some(run) = step.run {
            for cmd in shell::commands(run) {
                if let Some(what) = shell::toolchain_activity(&cmd, checked_out) {
                    out.push(ToolchainStep {
                        step: step.index,
                        loc: Loc::value(step.route.key("run")).with_needle(cmd.raw),
                        what,
                    });
                    break;
                }
            }
        }
    }
    out
}

pub use crate::publishing::{PublishStep, Publishing, publish_steps, publishes};

/// Branch names taken to be the default branch when a filter names them.
const DEFAULT_BRANCH_NAMES: &[&str] = &["main", "master", "trunk", "develop", "default"];

/// Minimal glob for GitHub branch/tag filters: `*` (no `/`), `**` (anything), `?`.
///
/// Dynamic programming from the ends of both strings, O(pattern × text): a
/// hostile filter (a workflow with `branches: ["*****…x"]`) cannot make the
/// audit backtrack for hours, as trying every split of the text would.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // Bounded: filters are short; refuse silly ones.
    if pattern.len() > 256 || text.len() > 256 {
        return false;
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let n = t.len();
    // matches[i][j]: p[i..] matches t[j..].
    let mut matches = vec![vec![false; n + 1]; p.len() + 1];
    matches[p.len()][n] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=n).rev() {
            let rest = j < n;
            matches[i][j] = match p[i] {
                // `**`: nothing more, or one more byte of anything.
                b'*' if p.get(i + 1) == Some(&b'*') => {
                    matches[i + 2][j] || rest && matches[i][j + 1]
                }
                // `*`: nothing more, or one more byte that is not `/`.
                b'*' => matches[i + 1][j] || rest && t[j] != b'/' && matches[i][j + 1],
                b'?' => rest && matches[i + 1][j + 1],
                c => rest && t[j] == c && matches[i + 1][j + 1],
            };
        }
    }
    matches[0][0]
}

/// Whether the workflow runs on pushes to the default branch, tag pushes,
/// releases or (without a `push` trigger) manual dispatch: the runs where a
/// cancel can orphan a tag from its publish.
/// Returns the route of the trigger that says so.
pub fn release_trigger(wf: &Workflow<'_>) -> Option<Route> {
    if let Some(t) = wf.trigger("release") {
        return Some(t.route.clone());
    }
    let Some(push) = wf.trigger("push") else {
        // A manually dispatched workflow that publishes is a release run.
        return wf.trigger("workflow_dispatch").map(|t| t.route.clone());
    };
    let Some(config) = push.config else {
        return Some(push.route.clone()); // every push, including the default branch and tags
    };
    let branches = config.get("branches").map(Node::strings);
    let ignored = config.get("branches-ignore").map(Node::strings);
    if config.get("tags").is_some_and(tag_filter_matches_some) {
        return Some(push.route.key("tags"));
    }
    let default_included = match (&branches, &ignored) {
        (Some(b), _) => DEFAULT_BRANCH_NAMES
            .iter()
            .any(|name| b.iter().any(|p| !p.starts_with('!') && glob_match(p, name))),
        (None, Some(ig)) => !DEFAULT_BRANCH_NAMES
            .iter()
            .any(|name| ig.iter().any(|p| glob_match(p, name))),
        // Only `paths:` filters (or `tags-ignore`): branch pushes still run.
        (None, None) => true,
    };
    default_included.then(|| match branches {
        Some(_) => push.route.key("branches"),
        None => push.route.clone(),
    })
}

/// Whether the workflow publishes on tag pushes or release events (not on
/// plain branch pushes). Returns the route of that trigger.
pub fn tag_or_release_trigger(wf: &Workflow<'_>) -> Option<Route> {
    if let Some(t) = wf.trigger("release") {
        return Some(t.route.clone());
    }
    let push = wf.trigger("push")?;
    match push.config.and_then(|c| c.get("tags")) {
        Some(tags) => tag_filter_matches_some(tags).then(|| push.route.key("tags")),
        // `on: push` without `branches` filters runs for every tag pushed too.
        None => crate::conditions::trigger_can_be_tag(push).then(|| push.route.clone()),
    }
}

/// Whether a `tags:` filter lets some tag through: a list of only negated
/// patterns (`tags: ['!**']`, written to keep a branch workflow off tags)
/// matches none.
pub fn tag_filter_matches_some(tags: &Node) -> bool {
    tags.strings().iter().any(|p| !p.starts_with('!'))
}

/// The jobs that have an `environment`, or need (transitively) a job that
/// has one: walked backwards from the environment jobs once per workflow,
/// so the cost is linear in jobs plus `needs` edges whatever their shape (a
/// hostile workflow of hundreds of jobs each needing all earlier ones took
/// seconds with a per-job forward search).
pub fn environment_gated_jobs<'a>(wf: &Workflow<'a>) -> HashSet<&'a str> {
    let mut needed_by: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
    for job in &wf.jobs {
        for need in &job.needs {
            needed_by.entry(*need).or_default().push(job.id);
        }
    }
    let mut gated = HashSet::new();
    let mut todo: Vec<&'a str> = wf
        .jobs
        .iter()
        .filter(|j| j.environment.is_some_and(|e| !e.is_null()))
        .map(|j| j.id)
        .collect();
    while let Some(id) = todo.pop() {
        if gated.insert(id)
            && let Some(dependents) = needed_by.get(id)
        {
            todo.extend(dependents.iter().filter(|d| !gated.contains(*d)));
        }
    }
    gated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("main", "main"));
        assert!(glob_match("*", "main"));
        assert!(glob_match("**", "release/x"));
        assert!(!glob_match("*", "release/x"));
        assert!(glob_match("ma?n", "main"));
        assert!(glob_match("release/**", "release/a/b"));
        assert!(!glob_match("v*", "main"));
    }

    /// The backtracking matcher `glob_match` replaced: exponential on
    /// patterns with many stars, kept here as the reference for its results.
    fn backtracking(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                (0..=t.len()).any(|i| backtracking(&p[2..], &t[i..]))
            }
            Some(b'*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| backtracking(&p[1..], &t[i..])),
            Some(b'?') => !t.is_empty() && backtracking(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && backtracking(&p[1..], &t[1..]),
        }
    }

    /// Every string over `alphabet` up to `max` bytes long.
    fn strings(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut all = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s: &Vec<u8>| {
                    alphabet.iter().map(move |c| {
                        let mut longer = s.clone();
                        longer.push(*c);
                        longer
                    })
                })
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn globs_match_exactly_what_backtracking_matched() {
        let texts = strings(b"ab/", 4);
        for pattern in strings(b"*?a/", 5) {
            for text in &texts {
                let p = std::str::from_utf8(&pattern).unwrap();
                let t = std::str::from_utf8(text).unwrap();
                assert_eq!(
                    glob_match(p, t),
                    backtracking(&pattern, text),
                    "{p:?} {t:?}"
                );
            }
        }
    }

    #[test]
    fn environment_gating_follows_needs_transitively_and_survives_cycles() {
        let src = crate::source::SourceFile::new(
            "w.yml",
            "on: push\njobs:\n  \
             build: {runs-on: x, steps: []}\n  \
             approve: {runs-on: x, environment: release, needs: build, steps: []}\n  \
             upload: {runs-on: x, needs: [approve], steps: []}\n  \
             publish: {runs-on: x, needs: [upload, build], steps: []}\n  \
             side: {runs-on: x, needs: [build, missing], steps: []}\n  \
             loop_a: {runs-on: x, needs: [loop_b], steps: []}\n  \
             loop_b: {runs-on: x, needs: [loop_a, approve], steps: []}\n  \
             nulled: {runs-on: x, environment: null, steps: []}\n",
        );
        let doc = crate::yaml::load(&src).unwrap();
        let wf = Workflow::parse(&doc.root).unwrap();
        let mut gated: Vec<&str> = environment_gated_jobs(&wf).into_iter().collect();
        gated.sort();
        assert_eq!(gated, ["approve", "loop_a", "loop_b", "publish", "upload"]);
    }

    #[test]
    fn hostile_globs_are_answered_at_once() {
        // Hundreds of stars against every default branch name: the
        // backtracking matcher tried every split of the name (C(136, 8)
        // ways for 128 `**`).
        for stars in ["*", "**"] {
            let pattern = format!("{}x", stars.repeat(255 / stars.len()));
            for name in DEFAULT_BRANCH_NAMES {
                assert!(!glob_match(&pattern, name), "{pattern}");
            }
        }
        assert!(glob_match(&"*".repeat(256), "main"));
        assert!(!glob_match(&"*".repeat(257), "main"), "over the bound");
    }
}
