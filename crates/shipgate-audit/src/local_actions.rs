//! Local actions (`uses: ./.github/actions/x`): the repository's own
//! composite actions. When the audited workflow sits in a repository on
//! disk (`<root>/.github/workflows/x.yml`), the action's `action.yml` is
//! read so the job is judged by what the action's steps do, instead of
//! treating the action as unreadable.
//!
//! Only paths inside the repository are read (no `..`, no absolute paths,
//! no symbolic link leading out), at most [`MAX_ACTION_BYTES`] each, and
//! nested local actions at most [`MAX_DEPTH`] deep. Anything that cannot be
//! read or parsed is treated as before: an action the audit cannot see.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::action_inputs::Inputs;
use crate::finding::Confidence;
use crate::model::{Action, Step, Uses};
use crate::rules::install_scripts_with_credentials as install_rule;
use crate::shell::{self, Registry};
use crate::source::SourceFile;
use crate::yaml::Node;

/// Largest `action.yml` read for a local action.
pub const MAX_ACTION_BYTES: u64 = 1024 * 1024;
/// How deep local actions that use other local actions are followed.
pub const MAX_DEPTH: usize = 4;

/// The repository root of a workflow file at `<root>/.github/workflows/<file>`.
pub fn repository_root(workflow: &Path) -> Option<PathBuf> {
    let dir = workflow.parent()?;
    let github = dir.parent()?;
    if dir.file_name()? != "workflows" || github.file_name()? != ".github" {
        return None;
    }
    let root = github.parent()?;
    Some(if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root.to_path_buf()
    })
}

/// A local action's text, read from the repository: `<root>/<path>/action.yml`
/// (or `action.yaml`). `None` when the path leaves the repository or the
/// file is missing, too large or not UTF-8.
pub fn read(root: &Path, uses: &str) -> Option<(String, SourceFile)> {
    let uses = crate::model::local_action_path(uses);
    let dir = uses.trim_end_matches('/');
    ["action.yml", "action.yaml"].iter().find_map(|name| {
        let text =
            crate::repo_files::read_inside(root, &Path::new(dir).join(name), MAX_ACTION_BYTES)?;
        let shown = format!("{}/{name}", dir.trim());
        Some((shown.clone(), SourceFile::new(&shown, &text)))
    })
}

/// Calls `judge` with the parsed local action, if it can be read and is an
/// action. The document only lives for the call.
pub fn with_action<T>(
    root: &Path,
    uses: &str,
    judge: impl FnOnce(&str, &Action<'_>) -> T,
) -> Option<T> {
    let (shown, src) = read(root, uses)?;
    let doc = crate::yaml::load(&src).ok()?;
    let action = Action::parse(&doc.root).ok()?;
    Some(judge(&shown, &action))
}

/// What a local action does that the release rules ask about, with what to
/// say about each (naming the action file): its publish steps, the caches
/// it restores and its first registry login, including those of the local
/// actions it uses in turn (up to [`MAX_DEPTH`]). The rules report them at
/// the workflow step that uses the action.
#[derive(Debug, Default)]
pub struct Facts {
    pub publishes: Vec<(String, Registry, Confidence)>,
    pub caches: Vec<(String, Confidence)>,
    pub login: Option<String>,
    /// Dependency installs that run install scripts: what, and the
    /// package manager (the job's `env` may still turn its scripts off).
    pub installs: Vec<(String, &'static str)>,
}

/// The [`Facts`] of the local action `uses` of the repository at `root`
/// (empty when it cannot be read), as it runs with the caller's `with:`
/// (see [`Inputs`]), read once per audited file and set of inputs.
pub fn facts(root: &Path, uses: &str, with: Option<&Node>) -> Rc<Facts> {
    let mut key = uses.trim().trim_end_matches('/').to_owned();
    for entry in with.and_then(Node::as_map).unwrap_or_default() {
        if let (Some(k), Some(v)) = (entry.key.as_str(), entry.value.as_str()) {
            key.push('\u{0}');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
    }
    crate::memo::local_action(&key, || {
        Rc::new(read_facts(root, uses, with, 0, &mut { MAX_ACTIONS_READ }))
    })
}

/// Most local actions read for one use: an action whose many steps each use
/// actions (or itself) must not make the walk exponential.
const MAX_ACTIONS_READ: usize = 32;

/// `budget`: how many more action files this use may read.
fn read_facts(
    root: &Path,
    uses: &str,
    with: Option<&Node>,
    depth: usize,
    budget: &mut usize,
) -> Facts {
    if depth >= MAX_DEPTH || *budget == 0 {
        return Facts::default();
    }
    *budget -= 1;
    with_action(root, uses, |shown, action: &Action<'_>| {
        let inputs = Inputs::new(action.root.get("inputs"), with);
        let mut out = Facts::default();
        let mut disabled: Vec<&str> = Vec::new();
        for step in &action.steps {
            // The step as it runs at this use: skipped when its `if:` is
            // false for these inputs, its `with:` and script read with them.
            if step
                .node
                .get("if")
                .and_then(Node::as_str)
                .is_some_and(|c| inputs.rules_out(c))
            {
                continue;
            }
            let resolved = inputs.resolve_with(step.with);
            let run = step.run.map(|r| inputs.substitute(r));
            let step = &Step {
                with: resolved.as_ref().or(step.with),
                ..step.clone()
            };
            match &step.uses {
                Some(Uses::Local(inner)) => {
                    let inner = read_facts(root, inner, step.with, depth + 1, budget);
                    out.publishes.extend(inner.publishes);
                    out.caches.extend(inner.caches);
                    out.installs.extend(inner.installs);
                    out.login = out.login.or(inner.login);
                }
                Some(uses) => {
                    let slug = uses.slug().unwrap_or_default();
                    // Inside an action, goreleaser's credentials come from
                    // inputs we do not follow: count it.
                    if let Some((r, c)) =
                        crate::publishing::action_registry(step, uses, &slug, || true)
                    {
                        out.publishes
                            .push((format!("`{slug}` (in `{shown}`)"), r, c));
                    }
                    if let Some((what, c, _)) = crate::rules::cache_poisoning::restores_cache(step)
                    {
                        out.caches.push((format!("{what} (in `{shown}`)"), c));
                    }
                }
                None => {}
            }
            if out.login.is_none() {
                out.login = crate::registries::login_here(step)
                    .map(|what| format!("{what} (in `{shown}`)"));
            }
            for cmd in run.as_deref().map(shell::commands).unwrap_or_default() {
                disabled.extend(install_rule::disables_scripts(&cmd));
                if let Some(install) = shell::js_install(&cmd).filter(|i| {
                    !i.ignores_scripts
                        && !disabled.contains(&i.manager)
                        && !install_rule::upgrades_npm_itself(&cmd)
                        && !install_rule::scripts_disabled_by_env(i.manager, &[step.env])
                }) {
                    out.installs.push((
                        format!("`{}` (in `{shown}`)", cmd.raw.trim()),
                        install.manager,
                    ));
                }
                if let Some(r) = crate::publishing::run_publishes(&cmd, &crate::publishing::BARE) {
                    out.publishes.push((
                        format!("`{}` (in `{shown}`)", cmd.raw.trim()),
                        r,
                        if shell::publish_destination_known(&cmd) {
                            Confidence::High
                        } else {
                            Confidence::Medium
                        },
                    ));
                }
            }
        }
        out
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_repository_of_a_workflow() {
        assert_eq!(
            repository_root(Path::new("/r/.github/workflows/ci.yml")),
            Some(PathBuf::from("/r"))
        );
        assert_eq!(
            repository_root(Path::new(".github/workflows/ci.yml")),
            Some(PathBuf::from("."))
        );
        assert_eq!(repository_root(Path::new("/r/workflows/ci.yml")), None);
        assert_eq!(repository_root(Path::new("ci.yml")), None);
    }

    #[test]
    fn facts_follow_nested_actions_and_stop_at_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (name, body) in [
            (
                "a",
                "    - uses: ./.github/actions/b\n    - uses: ./.github/actions/a\n",
            ),
            (
                "b",
                "    - uses: docker/login-action@v3\n      with: {registry: ghcr.io}\n    - uses: actions/setup-go@v5\n    - run: npm publish\n      shell: bash\n    - uses: ./.github/actions/a\n",
            ),
        ] {
            std::fs::create_dir_all(root.join(".github/actions").join(name)).unwrap();
            std::fs::write(
                root.join(".github/actions").join(name).join("action.yml"),
                format!("runs:\n  using: composite\n  steps:\n{body}"),
            )
            .unwrap();
        }
        let facts = facts(root, "./.github/actions/a", None);
        assert!(
            facts
                .login
                .as_deref()
                .is_some_and(|l| l.contains("ghcr.io") && l.contains("actions/b/action.yml")),
            "{facts:?}"
        );
        assert!(!facts.caches.is_empty(), "{facts:?}");
        assert!(
            facts
                .publishes
                .iter()
                .any(|(what, r, _)| what.contains("npm publish") && *r == Registry::Npm),
            "{facts:?}"
        );
        assert!(facts.publishes.len() <= MAX_DEPTH * 2, "{facts:?}");
    }

    #[test]
    fn actions_using_themselves_many_times_are_read_a_bounded_number_of_times() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let action = root.join(".github/actions/self");
        std::fs::create_dir_all(&action).unwrap();
        // 300 steps each using the action itself: 300^4 reads without a budget.
        let steps =
            "    - uses: ./.github/actions/self\n    - run: npm publish\n      shell: bash\n"
                .repeat(300);
        std::fs::write(
            action.join("action.yml"),
            format!("runs:\n  using: composite\n  steps:\n{steps}"),
        )
        .unwrap();
        let facts = facts(root, "./.github/actions/self", None);
        assert!(!facts.publishes.is_empty());
        assert!(
            facts.publishes.len() <= MAX_ACTIONS_READ * 300,
            "{}",
            facts.publishes.len()
        );
    }

    #[test]
    fn reads_only_inside_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join(".github/actions/pub")).unwrap();
        std::fs::write(
            root.join(".github/actions/pub/action.yml"),
            "runs:\n  using: composite\n  steps:\n    - run: npm publish\n      shell: bash\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(
            dir.path().join("outside/action.yml"),
            "runs:\n  using: composite\n  steps: []\n",
        )
        .unwrap();
        let steps = with_action(&root, "./.github/actions/pub", |_, a| a.steps.len());
        assert_eq!(steps, Some(1));
        assert!(read(&root, "./../outside").is_none());
        assert!(read(&root, "/etc").is_none());
        assert!(read(&root, "./.github/actions/missing").is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
            assert!(read(&root, "./link").is_none());
        }
    }
}
