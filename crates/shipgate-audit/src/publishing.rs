//! Whether a job publishes, decided from what its steps do.
//!
//! A publish step is a known publish action (or an action in an
//! upload-only mode), `docker/build-push-action` that pushes, a publish
//! command in `run:` (see [`shell::publish_command`]), or one of these inside
//! a local composite action (`uses: ./path`, read from the repository when
//! it is on disk, see [`crate::local_actions`]). Steps whose `if:` cannot be
//! true on the workflow's events are not evidence (see
//! [`crate::conditions`]), nor are pushes that go only to throw-away test
//! registries (see [`crate::registries::is_ephemeral`]; container pushes,
//! and npm publishes to the registry given by `--registry` or configured for
//! the step), draft releases (also uploads into a release every creation of
//! which is a draft), or goreleaser runs that are given no credential or
//! whose `args` never release. Values chosen by an expression between
//! literals (goreleaser `args`) or by the job's matrix (`npx ${{ matrix.cmd
//! }} publish`) are read as each of their alternatives.
//!
//! Without a publish step, a registry token in `env:` or a login to a
//! container registry makes the job publishing at medium confidence: it
//! publishes through something the audit cannot read (`tox -e release`,
//! `make push`).
//!
//! `id-token: write` alone is not publishing: jobs hold it to upload
//! scorecards, benchmarks or coverage, to sign, to log in to a cloud, to
//! hand it to an agent or another CI system, or to run tests that need an
//! OIDC token. What the token is used for shows in the steps above; a grant
//! whose only user is an action or script the audit cannot read is not
//! reported as publishing (`credential-with-toolchain` and
//! `workflow-level-id-token` still report the grant itself).

use crate::analysis::secret_refs;
use crate::conditions::{job_can_run, step_can_run};
use crate::finding::Confidence;
use crate::model::{Job, Step, Uses, Workflow};
use crate::registries;
use crate::route::{Loc, Route};
use crate::shell::{self, Command, Registry};
use crate::yaml::Node;

/// A step that publishes.
#[derive(Debug, Clone)]
pub struct PublishStep {
    pub step: usize,
    pub loc: Loc,
    pub what: String,
    pub registry: Registry,
    /// Medium when the destination cannot be read (`aws s3 cp x "$DEST"`).
    pub confidence: Confidence,
}

/// Environment variables that carry a registry credential, and their registry.
pub const REGISTRY_TOKEN_VARIABLES: &[(&str, Registry)] = &[
    ("NODE_AUTH_TOKEN", Registry::Npm),
    ("NPM_TOKEN", Registry::Npm),
    ("NPM_AUTH_TOKEN", Registry::Npm),
    ("NPM_CONFIG__AUTH_TOKEN", Registry::Npm),
    ("NPM_CONFIG_TOKEN", Registry::Npm),
    ("TWINE_PASSWORD", Registry::PyPI),
    ("PYPI_TOKEN", Registry::PyPI),
    ("PYPI_API_TOKEN", Registry::PyPI),
    ("PYPI_PASSWORD", Registry::PyPI),
    ("POETRY_PYPI_TOKEN_PYPI", Registry::PyPI),
    ("POETRY_HTTP_BASIC_PYPI_PASSWORD", Registry::PyPI),
    ("UV_PUBLISH_TOKEN", Registry::PyPI),
    ("UV_PUBLISH_PASSWORD", Registry::PyPI),
    ("HATCH_INDEX_AUTH", Registry::PyPI),
    ("PDM_PUBLISH_PASSWORD", Registry::PyPI),
    ("FLIT_PASSWORD", Registry::PyPI),
    ("CARGO_REGISTRY_TOKEN", Registry::CratesIo),
    ("CARGO_REGISTRIES_CRATES_IO_TOKEN", Registry::CratesIo),
    ("GEM_HOST_API_KEY", Registry::RubyGems),
    ("RUBYGEMS_API_KEY", Registry::RubyGems),
    ("NUGET_API_KEY", Registry::NuGet),
    ("NUGET_AUTH_TOKEN", Registry::NuGet),
    ("MATURIN_PYPI_TOKEN", Registry::PyPI),
    ("MATURIN_PASSWORD", Registry::PyPI),
];

/// The registry of a credential variable named as in
/// [`REGISTRY_TOKEN_VARIABLES`], in any case and with or without the
/// separators (`NuGetApiKey`, the build-tool parameter spelling of
/// `NUGET_API_KEY`, is the same key).
pub fn registry_token_variable(name: &str) -> Option<Registry> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let name = squash(name);
    REGISTRY_TOKEN_VARIABLES
        .iter()
        .find(|(v, _)| squash(v) == name)
        .map(|(_, r)| *r)
}

/// Actions that publish, with their registry.
const PUBLISH_ACTIONS: &[(&str, Registry)] = &[
    ("pypa/gh-action-pypi-publish", Registry::PyPI),
    ("js-devtools/npm-publish", Registry::Npm),
    ("rubygems/release-gem", Registry::RubyGems),
    ("rust-lang/crates-io-auth-action", Registry::CratesIo),
    ("softprops/action-gh-release", Registry::Other),
    ("ncipollo/release-action", Registry::Other),
    ("goreleaser/goreleaser-action", Registry::Other),
    ("svenstaro/upload-release-action", Registry::Other),
    ("actions/upload-release-asset", Registry::Other),
    ("actions/create-release", Registry::Other),
    ("helm/chart-releaser-action", Registry::Other),
    ("shogo82148/actions-upload-release-asset", Registry::Other),
    ("taiki-e/upload-rust-binary-action", Registry::Other),
    ("skx/github-action-publish-binaries", Registry::Other),
    // Snap Store uploads.
    ("snapcore/action-publish", Registry::Other),
    // Azure Blob Storage uploads (release downloads served from a container).
    ("bacongobbler/azure-blob-storage-upload", Registry::Other),
    // `cargo publish` of a workspace's crates in dependency order.
    ("katyo/publish-crates", Registry::CratesIo),
    // `dotnet nuget push` of a project's package when its version changes.
    ("rohith/publish-nuget", Registry::NuGet),
    ("brandedoutcast/publish-nuget", Registry::NuGet),
    ("taiki-e/create-gh-release-action", Registry::Other),
    // Copies an image's tags to other names or registries.
    ("akhilerm/tag-push-action", Registry::Container),
    // semantic-release: tags, publishes the GitHub release and (with its npm
    // plugin) the package.
    ("cycjimmy/semantic-release-action", Registry::Npm),
];

/// Publish actions with an input that makes the run a rehearsal
/// (`dry_run: true`): nothing is published then.
const DRY_RUN_INPUTS: &[(&str, &str)] = &[
    ("cycjimmy/semantic-release-action", "dry_run"),
    ("katyo/publish-crates", "dry-run"),
];

/// Actions that publish only when given an input (a credential, a release
/// to upload into, a publish switch): (action, inputs, whether an input set
/// to `false` turns publishing off).
const PUBLISH_WHEN_GIVEN: &[(&str, &[&str], bool)] = &[
    // A Cachix auth token or signing key pushes every store path built
    // after the step to the binary cache.
    ("cachix/cachix-action", &["authToken", "signingKey"], false),
    // `publish:` uploads the built snap to the Snap Store.
    ("canonical/actions/build-snap", &["publish"], true),
    // A release to upload into: `releaseDraft` applies only to a release
    // the action creates, so an existing (published) one gets the assets.
    ("tauri-apps/tauri-action", &["tagName", "releaseId"], false),
    // Release Drafter keeps a draft unless told to publish it.
    ("release-drafter/release-drafter", &["publish"], true),
];

/// Release actions that make a draft with `draft: true` (and a published
/// release without it).
const DRAFTING_RELEASE_ACTIONS: &[&str] = &[
    "softprops/action-gh-release",
    "ncipollo/release-action",
    "actions/create-release",
    "taiki-e/create-gh-release-action",
];

/// Actions whose input selects a publishing mode: (action, input, values,
/// registry, whether that mode only uploads and runs no project code).
pub const PUBLISH_MODES: &[(&str, &str, &[&str], Registry, bool)] = &[
    // `maturin upload` sends built wheels; `maturin publish` builds first.
    (
        "pyo3/maturin-action",
        "command",
        &["upload"],
        Registry::PyPI,
        true,
    ),
    (
        "pyo3/maturin-action",
        "command",
        &["publish"],
        Registry::PyPI,
        false,
    ),
];

/// Whether a step is an action in an upload-only mode (it runs no project code).
pub fn upload_only(step: &Step<'_>) -> bool {
    PUBLISH_MODES
        .iter()
        .any(|(action, input, values, _, only)| {
            *only
                && step.uses_action(action)
                && step
                    .input(input)
                    .is_some_and(|v| values.contains(&v.trim()))
        })
}

/// Whether goreleaser `args` run a release (the action's default), not a
/// snapshot or a build.
fn goreleaser_args_release(args: &str) -> bool {
    let first = args.split_whitespace().next().unwrap_or("release");
    !args.contains("--snapshot")
        && !args.contains("--skip=publish")
        && !args.contains("--skip-publish")
        && !matches!(first, "build" | "check" | "healthcheck" | "init")
}

/// Most alternatives read from a value chosen by expressions.
const MAX_ALTERNATIVES: usize = 64;
/// Longest value whose alternatives are read (a longer one is read as written).
const MAX_ALTERNATIVES_TEXT: usize = 4096;

/// The texts a value can take when its expressions choose between string
/// literals (`${{ github.event_name == 'push' && 'release' || 'release
/// --snapshot' }}`): each literal in place of its expression. Expressions
/// without a literal stay as written. Empty when no expression has one, or
/// when there would be more than [`MAX_ALTERNATIVES`] (the value is then
/// read as written).
fn literal_alternatives(text: &str) -> Vec<String> {
    if text.len() > MAX_ALTERNATIVES_TEXT {
        return Vec::new();
    }
    let exprs = crate::expr::expressions(text);
    if !exprs
        .iter()
        .any(|e| !crate::expr::result_literals(e.inner).is_empty())
    {
        return Vec::new();
    }
    let mut out = vec![String::new()];
    let mut rest = text;
    for e in &exprs {
        let Some(at) = rest.find(e.raw) else { break };
        for alt in &mut out {
            alt.push_str(&rest[..at]);
        }
        rest = &rest[at + e.raw.len()..];
        let literals = crate::expr::result_literals(e.inner);
        if literals.is_empty() {
            for alt in &mut out {
                alt.push_str(e.raw);
            }
            continue;
        }
        if out.len().saturating_mul(literals.len()) > MAX_ALTERNATIVES {
            return Vec::new();
        }
        out = out
            .iter()
            .flat_map(|alt| literals.iter().map(move |l| format!("{alt}{l}")))
            .collect();
    }
    for alt in &mut out {
        alt.push_str(rest);
    }
    out
}

/// Whether a goreleaser step runs a release, not only an install
/// (`install-only: true`), a snapshot or a build: high confidence when it
/// always does, medium when `args` is chosen by an expression and only some
/// of its alternatives release (`release` on a push, `--snapshot`
/// otherwise).
fn goreleaser_releases(step: &Step<'_>) -> Option<Confidence> {
    if step
        .input("install-only")
        .is_some_and(|v| v.trim() == "true")
    {
        return None;
    }
    let args = step.input("args").unwrap_or("");
    let alternatives = literal_alternatives(args);
    if alternatives.is_empty() {
        return goreleaser_args_release(args).then_some(Confidence::High);
    }
    let releasing = alternatives
        .iter()
        .filter(|a| goreleaser_args_release(a))
        .count();
    match releasing {
        0 => None,
        n if n == alternatives.len() => Some(Confidence::High),
        _ => Some(Confidence::Medium),
    }
}

/// The publish steps of a job that can run on the workflow's events.
pub fn publish_steps(wf: &Workflow<'_>, job: &Job<'_>) -> Vec<PublishStep> {
    crate::memo::publish_steps(job, || find_publish_steps(wf, job))
}

fn find_publish_steps(wf: &Workflow<'_>, job: &Job<'_>) -> Vec<PublishStep> {
    // Read the whole workflow's releases only when a job uploads to one.
    let drafts = std::cell::OnceCell::new();
    let drafts_only = || *drafts.get_or_init(|| creates_only_draft_releases(wf));
    // Read the job's npm registry settings only when a step publishes to npm.
    let npm_settings = std::cell::OnceCell::new();
    let repository = crate::memo::repository();
    let mut out = Vec::new();
    for step in &job.steps {
        if !step_can_run(wf, job, step) {
            continue;
        }
        let at = || Loc::value(step.route.key("uses"));
        if let Some(uses) = &step.uses {
            if let (Uses::Local(path), Some(root)) = (uses, repository.as_deref()) {
                let facts = crate::local_actions::facts(root, path, step.with);
                for (what, registry, confidence) in &facts.publishes {
                    out.push(PublishStep {
                        step: step.index,
                        loc: at(),
                        what: what.clone(),
                        registry: *registry,
                        confidence: *confidence,
                    });
                }
            }
            let slug = uses.slug().unwrap_or_default();
            let credentialled = || goreleaser_has_credentials(wf, job, step);
            if let Some((registry, confidence)) = action_registry(step, uses, &slug, credentialled)
            {
                out.push(PublishStep {
                    step: step.index,
                    loc: at(),
                    what: format!("`{slug}`"),
                    registry,
                    confidence,
                });
            }
        }
        if let Some(run) = step.run {
            let npm_registry = std::cell::OnceCell::new();
            let cx = RunContext {
                ko_repo: registries::env_value(wf, job, step, "KO_DOCKER_REPO"),
                drafts_only: &drafts_only,
                npm_registry: &|| {
                    npm_registry
                        .get_or_init(|| {
                            let settings = npm_settings.get_or_init(|| npm_registry_settings(job));
                            configured_npm_registry(wf, job, step, settings)
                        })
                        .clone()
                },
            };
            run_publish_steps(wf, job, step, run, &cx, &mut out);
        }
    }
    out
}

/// What a `run:` command's publishing depends on outside the command.
pub(crate) struct RunContext<'c> {
    /// `KO_DOCKER_REPO` where the step sees it.
    pub ko_repo: Option<&'c str>,
    /// Whether every release the workflow creates is a draft.
    pub drafts_only: &'c dyn Fn() -> bool,
    /// The npm registry configured for the step (env, an earlier `npm
    /// config set registry`, `.npmrc`, `setup-node`'s `registry-url`).
    pub npm_registry: &'c dyn Fn() -> Option<String>,
}

/// Nothing known outside the command (inside a local action).
pub(crate) const BARE: RunContext<'static> = RunContext {
    ko_repo: None,
    drafts_only: &|| false,
    npm_registry: &|| None,
};

/// The publish commands of one `run:` script. A command chosen by the
/// job's matrix (`npx ${{ matrix.cmd }} publish` with `cmd: [vsce, ovsx]`)
/// is read with each value the matrix gives it.
fn run_publish_steps(
    wf: &Workflow<'_>,
    job: &Job<'_>,
    step: &Step<'_>,
    run: &str,
    cx: &RunContext<'_>,
    out: &mut Vec<PublishStep>,
) {
    let commands = shell::commands(run);
    let mut found = vec![false; commands.len()];
    let mut hits: Vec<(usize, PublishStep)> = Vec::new();
    let confidence = |cmd: &Command<'_>| {
        if shell::publish_destination_known(cmd) {
            Confidence::High
        } else {
            Confidence::Medium
        }
    };
    // The step found at the script's command `i` (located there even when a
    // matrix value made it a publish), as `cmd` reads.
    let at = |i: usize, what: String, registry, cmd: &Command<'_>| PublishStep {
        step: step.index,
        loc: Loc::value(step.route.key("run")).with_needle(commands[i].raw),
        what,
        registry,
        confidence: confidence(cmd),
    };
    let repository = crate::memo::repository();
    // Where the step's commands run, as far as `cd` can be followed.
    let mut directory = step
        .working_directory
        .map(crate::repo_scripts::step_directory)
        .unwrap_or_default();
    for (i, cmd) in commands.iter().enumerate() {
        if let Some(next) = crate::repo_scripts::directory_after(&directory, cmd) {
            directory = next;
            continue;
        }
        if let Some(registry) = run_publishes(cmd, cx) {
            found[i] = true;
            hits.push((i, at(i, format!("`{}`", cmd.raw), registry, cmd)));
            continue;
        }
        // A script of the repository the command starts (when on disk).
        let is_set = |name: &str| registries::env_is_set(wf, job, step, name);
        if let Some(script) = repository.as_deref().and_then(|root| {
            crate::repo_scripts::publishes(root, Some(directory.as_str()), cmd, &is_set)
        }) {
            found[i] = true;
            let mut hit = at(
                i,
                format!("`{}`, which runs {}", cmd.raw.trim(), script.what),
                script.registry,
                cmd,
            );
            hit.confidence = script.confidence;
            hits.push((i, hit));
        }
    }
    for (name, value, text) in matrix_variants(job, run) {
        let variant = shell::commands(&text);
        // A value that changes how the script splits is not followed.
        if variant.len() != commands.len() {
            continue;
        }
        for (i, cmd) in variant.iter().enumerate() {
            if found[i] {
                continue;
            }
            let Some(registry) = run_publishes(cmd, cx) else {
                continue;
            };
            found[i] = true;
            let what = format!("`{}` (with `matrix.{name}: {value}`)", cmd.raw);
            hits.push((i, at(i, what, registry, cmd)));
        }
    }
    hits.sort_by_key(|(i, _)| *i);
    out.extend(hits.into_iter().map(|(_, p)| p));
}

/// Most matrix values tried for one script.
const MAX_MATRIX_VALUES: usize = 32;
/// Longest script read once per matrix value.
const MAX_MATRIX_SCRIPT: usize = 64 * 1024;

/// The script with `${{ matrix.NAME }}` replaced by each value the job's
/// `strategy.matrix` gives NAME (its list and its `include` entries), for
/// the first such name the script reads: (name, value, script).
fn matrix_variants(job: &Job<'_>, run: &str) -> Vec<(String, String, String)> {
    if run.len() > MAX_MATRIX_SCRIPT || !run.contains("matrix.") {
        return Vec::new();
    }
    let Some(matrix) = job.node.get("strategy").and_then(|s| s.get("matrix")) else {
        return Vec::new();
    };
    let exprs = crate::expr::expressions(run);
    let Some(name) = exprs.iter().find_map(|e| {
        let name = e.inner.trim().strip_prefix("matrix.")?;
        (!name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .then_some(name)
    }) else {
        return Vec::new();
    };
    let mut values: Vec<&str> = matrix.get(name).map(Node::strings).unwrap_or_default();
    values.extend(
        matrix
            .get("include")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|item| item.get(name)?.as_str()),
    );
    let mut seen = std::collections::HashSet::new();
    values.retain(|v| seen.insert(*v));
    let raws: Vec<&str> = exprs
        .iter()
        .filter(|e| e.inner.trim().strip_prefix("matrix.") == Some(name))
        .map(|e| e.raw)
        .collect();
    values
        .into_iter()
        .take(MAX_MATRIX_VALUES)
        .map(|value| {
            let text = raws
                .iter()
                .fold(run.to_owned(), |text, raw| text.replace(raw, value));
            (name.to_owned(), value.to_owned(), text)
        })
        .collect()
}

/// Whether a `run:` command publishes: a publish command, unless it pushes
/// only to test registries (a container registry, or the npm registry given
/// by `--registry` or configured for the step), or uploads into a release
/// the workflow creates as a draft.
pub(crate) fn run_publishes(cmd: &Command<'_>, cx: &RunContext<'_>) -> Option<Registry> {
    let registry = shell::publish_command(cmd)?;
    if registry == Registry::Container
        && registries::pushes_only_to_test_registries(cmd, cx.ko_repo)
    {
        return None;
    }
    if registry == Registry::Npm {
        let target = shell::npm_registry_option(cmd).or_else(|| (cx.npm_registry)());
        if target.is_some_and(|t| registries::is_ephemeral(&t)) {
            return None;
        }
    }
    if cmd.program() == "gh" && cmd.positional(1) == Some("upload") && (cx.drafts_only)() {
        return None;
    }
    Some(registry)
}

/// Environment variables that choose the registry npm, pnpm and yarn
/// publish to (npm reads its `npm_config_*` variables in any case).
const NPM_REGISTRY_VARIABLES: &[&str] = &[
    "NPM_CONFIG_REGISTRY",
    "YARN_NPM_PUBLISH_REGISTRY",
    "YARN_NPM_REGISTRY_SERVER",
];

/// The npm registry a step publishes to when it does not say on the command
/// line: `NPM_CONFIG_REGISTRY` (or yarn's) in the step, job or workflow
/// `env:`, else the last registry this step or an earlier one of the job
/// configured (see [`npm_registry_settings`]).
fn configured_npm_registry(
    wf: &Workflow<'_>,
    job: &Job<'_>,
    step: &Step<'_>,
    settings: &[(usize, String)],
) -> Option<String> {
    let from_env = [step.env, job.node.get("env"), wf.env]
        .into_iter()
        .flatten()
        .find_map(|env| {
            env.as_map()?.iter().find_map(|e| {
                let key = e.key.as_str()?;
                if NPM_REGISTRY_VARIABLES
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(key))
                {
                    e.value.as_str()
                } else {
                    None
                }
            })
        });
    if let Some(registry) = from_env {
        return Some(registry.to_owned());
    }
    settings
        .iter()
        .rev()
        .find(|(index, _)| *index <= step.index)
        .map(|(_, registry)| registry.clone())
}

/// The npm registries a job's steps configure, in order, with their step:
/// `npm|pnpm|yarn config set registry URL`, a `registry=URL` line written
/// to `.npmrc`, or `registry-url:` of `actions/setup-node`.
fn npm_registry_settings(job: &Job<'_>) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for s in &job.steps {
        if s.uses_action("actions/setup-node")
            && let Some(url) = s.input("registry-url")
        {
            out.push((s.index, url.trim().to_owned()));
        }
        let Some(run) = s.run.filter(|r| r.contains("registry")) else {
            continue;
        };
        out.extend(
            shell::commands(run)
                .iter()
                .filter_map(shell::configured_npm_registry)
                .map(|url| (s.index, url)),
        );
    }
    out
}

/// Whether every release this workflow creates is a draft (`gh release
/// create --draft`, a release action with `draft: true`,
/// `release-drafter/release-drafter` without `publish: true`), and no `gh
/// release edit --draft=false` publishes one: uploads to it are then seen
/// only by the repository's writers until someone publishes the draft.
fn creates_only_draft_releases(wf: &Workflow<'_>) -> bool {
    let mut drafts = 0;
    for step in wf.jobs.iter().flat_map(|j| &j.steps) {
        if let Some(uses) = &step.uses {
            let draft = step.input("draft").is_some_and(|d| d.trim() == "true");
            if DRAFTING_RELEASE_ACTIONS.iter().any(|a| uses.is(a)) {
                if !draft {
                    return false;
                }
                drafts += 1;
            }
            if uses.is("release-drafter/release-drafter") {
                if step.input("publish").is_some_and(|p| p.trim() == "true") {
                    return false;
                }
                drafts += 1;
            }
        }
        for cmd in step.run.map(shell::commands).unwrap_or_default() {
            if cmd.program() != "gh" || cmd.positional(0) != Some("release") {
                continue;
            }
            match cmd.positional(1) {
                Some("create") if shell::drafts(&cmd) => drafts += 1,
                Some("create") => return false,
                Some("edit") if shell::undrafts(&cmd) => return false,
                _ => {}
            }
        }
    }
    drafts > 0
}

/// goreleaser publishes with credentials it reads from the environment
/// (`GITHUB_TOKEN`, registry and store tokens) or from a registry login
/// earlier in the job. Given none, `goreleaser release` only builds.
fn goreleaser_has_credentials(wf: &Workflow<'_>, job: &Job<'_>, step: &Step<'_>) -> bool {
    let passes_credential = |env: Option<&Node>| {
        env.and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .any(|e| {
                e.value
                    .as_str()
                    .is_some_and(|v| v.contains("secrets.") || v.contains("github.token"))
            })
    };
    passes_credential(step.env)
        || passes_credential(job.node.get("env"))
        || passes_credential(wf.env)
        || job
            .steps
            .iter()
            .take_while(|s| s.index < step.index)
            .any(|s| registries::login(s).is_some())
}

/// Whether text names PyPI's test index (`https://test.pypi.org/legacy/`,
/// `testpypi`): an upload there is a rehearsal, not a release.
pub fn names_test_index(text: &str) -> bool {
    text.contains("test.pypi.org") || text.trim() == "testpypi"
}

/// The registry a step's action publishes to, and how surely.
pub(crate) fn action_registry(
    step: &Step<'_>,
    uses: &Uses,
    slug: &str,
    goreleaser_credentialled: impl FnOnce() -> bool,
) -> Option<(Registry, Confidence)> {
    if uses.is("pypa/gh-action-pypi-publish")
        && ["repository-url", "repository_url"]
            .iter()
            .any(|i| step.input(i).is_some_and(names_test_index))
    {
        return None;
    }
    if uses.is("goreleaser/goreleaser-action") {
        let confidence = goreleaser_releases(step)?;
        // A configuration that only drafts the release publishes nothing.
        if crate::memo::repository().is_some_and(|root| {
            crate::goreleaser_config::only_drafts(&root, step.input("args").unwrap_or(""))
        }) {
            return None;
        }
        return goreleaser_credentialled().then_some((Registry::Other, confidence));
    }
    // A draft release is published later by a person (or a gated job).
    if DRAFTING_RELEASE_ACTIONS.iter().any(|a| uses.is(a))
        && step.input("draft").is_some_and(|d| d.trim() == "true")
    {
        return None;
    }
    if DRY_RUN_INPUTS
        .iter()
        .any(|(a, input)| uses.is(a) && step.input(input).is_some_and(|v| v.trim() == "true"))
    {
        return None;
    }
    let high = |r: Registry| Some((r, Confidence::High));
    if uses.is("actions/github-script") && step.input("script").is_some_and(script_releases) {
        return high(Registry::Other);
    }
    if let Some((_, r)) = PUBLISH_ACTIONS
        .iter()
        .find(|(a, _)| slug == *a || slug.starts_with(&format!("{a}/")))
    {
        return high(*r);
    }
    if let Some((.., r, _)) = PUBLISH_MODES.iter().find(|(a, input, values, ..)| {
        uses.is(a)
            && step
                .input(input)
                .is_some_and(|v| values.contains(&v.trim()))
    }) {
        return high(*r);
    }
    if uses.is("docker/build-push-action")
        && build_push_pushes(step)
        && !build_push_to_test_registry(step)
    {
        return high(Registry::Container);
    }
    // `push: ${{ github.event_name != 'pull_request' }}`: pushes on some
    // events, which the trigger and the conditions decide.
    if uses.is("docker/build-push-action")
        && step
            .input("push")
            .is_some_and(|p| p.trim().starts_with("${{"))
        && !build_push_to_test_registry(step)
    {
        return Some((Registry::Container, Confidence::Medium));
    }
    if registries::IMAGE_PUBLISH_ACTIONS
        .iter()
        .any(|a| uses.is(a.action))
    {
        // Known: it publishes unless told not to push (or to a test registry).
        return registries::image_publish_action(step).and(high(Registry::Container));
    }
    if uses.is("changesets/action") && step.input("publish").is_some() {
        return high(Registry::Npm);
    }
    let given = |input: &str, off: bool| {
        step.input(input).is_some_and(|v| {
            let v = v.trim();
            !(v.is_empty() || off && v == "false")
        })
    };
    if PUBLISH_WHEN_GIVEN.iter().any(|(a, inputs, off)| {
        (slug == *a || slug.starts_with(&format!("{a}/"))) && inputs.iter().any(|i| given(i, *off))
    }) {
        return high(Registry::Other);
    }
    if registry_credential_input(step).is_some() || named_publisher_with_secret(step, uses) {
        return Some((Registry::Other, Confidence::Medium));
    }
    None
}

/// An action we do not know whose name says it publishes
/// (`k-paxian/dart-package-publisher`, `acme/publish-helm`) and that is
/// handed a secret other than the job's `GITHUB_TOKEN`: it publishes with
/// it (medium confidence).
fn named_publisher_with_secret(step: &Step<'_>, uses: &Uses) -> bool {
    let Uses::Repository { repo, .. } = uses else {
        return false;
    };
    if !repo.to_ascii_lowercase().contains("publish") {
        return false;
    }
    step.with
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.value.as_str())
        .any(reads_a_secret)
}

/// Whether a value reads a secret other than the job's `GITHUB_TOKEN`.
fn reads_a_secret(value: &str) -> bool {
    crate::expr::expressions(value).iter().any(|e| {
        crate::expr::secrets_read(e.inner)
            .iter()
            .any(|s| s != "GITHUB_TOKEN")
    })
}

/// Package registries as they appear in the names of action inputs.
const REGISTRY_WORDS: &[&str] = &[
    "npm",
    "pypi",
    "pub",
    "crates",
    "cargo",
    "rubygems",
    "gem",
    "nuget",
    "hex",
    "clojars",
    "sonatype",
    "ossrh",
    "vsce",
    "ovsx",
    "openvsx",
    "marketplace",
    "chocolatey",
    "choco",
    "snapcraft",
    "galaxy",
];

/// Credentials as they appear in the names of action inputs.
const CREDENTIAL_WORDS: &[&str] = &[
    "token",
    "password",
    "apikey",
    "api",
    "key",
    "credentials",
    "credential",
    "secret",
    "pat",
];

/// An input of an action we do not know that hands it a registry
/// credential from `secrets` (`pub-credentials-json`, `npm_token`,
/// `PYPI_PASSWORD`): the action publishes with it (medium confidence).
/// Names are split into words, so `gemini-api-key` is no RubyGems key.
fn registry_credential_input<'a>(step: &Step<'a>) -> Option<&'a str> {
    let with = step.with?.as_map()?;
    with.iter().find_map(|entry| {
        let name = entry.key.as_str()?;
        let words: Vec<String> = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::to_ascii_lowercase)
            .collect();
        let names_registry = words.iter().any(|w| REGISTRY_WORDS.contains(&w.as_str()));
        let names_credential = words.iter().any(|w| CREDENTIAL_WORDS.contains(&w.as_str()));
        let from_secrets = entry.value.as_str().is_some_and(reads_a_secret);
        (names_registry && names_credential && from_secrets).then_some(name)
    })
}

/// Whether an `actions/github-script` script publishes a GitHub release
/// through the API: creates one that is not a draft
/// (`github.rest.repos.createRelease({... })` without `draft: true`),
/// uploads assets, or turns a draft public (`updateRelease` with `draft:
/// false`).
fn script_releases(script: &str) -> bool {
    let compact: String = script.chars().filter(|c| !c.is_whitespace()).collect();
    // `draft` set any other way than `draft: false` (`draft: isDraft`, the
    // shorthand `{ draft }`) may make a draft: not counted.
    let drafts = compact.contains("draft") && !compact.contains("draft:false");
    let creates = compact.contains("createRelease(") && !drafts;
    let uploads = compact.contains("uploadReleaseAsset(");
    let undrafts = compact.contains("updateRelease(") && compact.contains("draft:false");
    creates || uploads || undrafts
}

/// `push: true`, or an image output that pushes
/// (`outputs: type=image,name=x,push=true` or `push-by-digest=true`).
fn build_push_pushes(step: &Step<'_>) -> bool {
    if step.input("push").is_some_and(|p| p.trim() == "true") {
        return true;
    }
    let outputs: Vec<&str> = step
        .with
        .and_then(|w| w.get("outputs"))
        .map(|o| match o.as_str() {
            Some(s) => s.lines().collect(),
            None => o.strings(),
        })
        .unwrap_or_default();
    outputs.iter().any(|line| {
        line.split(',').any(|kv| {
            let kv: String = kv.chars().filter(|c| !c.is_whitespace()).collect();
            kv == "push=true" || kv == "push-by-digest=true"
        })
    })
}

/// Whether every tag of a `docker/build-push-action` step names a test
/// registry (`tags: localhost:5000/app:test`).
fn build_push_to_test_registry(step: &Step<'_>) -> bool {
    let tags: Vec<&str> = step
        .with
        .and_then(|w| w.get("tags"))
        .map(|t| match t.as_str() {
            Some(s) => s
                .split(['\n', ','])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .collect(),
            None => t.strings(),
        })
        .unwrap_or_default();
    !tags.is_empty() && tags.iter().all(|t| registries::is_ephemeral(t))
}

/// Why and how surely a job publishes.
#[derive(Debug, Clone)]
pub struct Publishing {
    pub loc: Loc,
    pub why: String,
    pub confidence: Confidence,
}

/// Whether a job publishes: its first publish step; else, at medium
/// confidence, a registry token in `env:` or a registry login.
pub fn publishes(wf: &Workflow<'_>, job: &Job<'_>) -> Option<Publishing> {
    crate::memo::publishes(job, || decide_publishes(wf, job))
}

fn decide_publishes(wf: &Workflow<'_>, job: &Job<'_>) -> Option<Publishing> {
    if !job_can_run(wf, job) {
        return None;
    }
    let steps = publish_steps(wf, job);
    if let Some(p) = steps.iter().find(|p| p.confidence == Confidence::High) {
        return Some(Publishing {
            loc: p.loc.clone(),
            why: format!("publishes with {}", p.what),
            confidence: Confidence::High,
        });
    }
    if let Some(p) = steps.into_iter().next() {
        return Some(Publishing {
            loc: p.loc,
            why: format!("publishes with {}", p.what),
            confidence: p.confidence,
        });
    }
    if let Some(p) = registry_token(wf, job) {
        return Some(p);
    }
    if let Some(p) = publish_credential(wf, job) {
        return Some(p);
    }
    let (step, what) = registries::job_login(wf, job)?;
    let at = match (
        step.uses.as_ref(),
        step.run.and_then(registries::login_command_text),
    ) {
        (Some(_), _) => Loc::value(step.route.key("uses")),
        (None, Some(raw)) => Loc::value(step.route.key("run")).with_needle(raw),
        (None, None) => Loc::value(step.route.key("run")),
    };
    Some(Publishing {
        loc: at,
        why: format!("pushes to a container registry ({what})"),
        confidence: Confidence::Medium,
    })
}

/// A step that obtains a registry's publish credential by trusted
/// publishing ([`registries::CREDENTIAL_ACTIONS`]): the job publishes with
/// it, through a tool we cannot read. Medium confidence.
fn publish_credential(wf: &Workflow<'_>, job: &Job<'_>) -> Option<Publishing> {
    job.steps
        .iter()
        .filter(|s| step_can_run(wf, job, s))
        .find_map(|step| {
            let uses = step.uses.as_ref()?;
            let (action, registry) = registries::CREDENTIAL_ACTIONS
                .iter()
                .find(|(a, _)| uses.is(a))?;
            Some(Publishing {
                loc: Loc::value(step.route.key("uses")),
                why: format!("gets a {registry} publish credential with `{action}`"),
                confidence: Confidence::Medium,
            })
        })
}

/// A registry token variable (`TWINE_PASSWORD`, `NODE_AUTH_TOKEN`, ...) set
/// from `secrets` where the job's steps see it: the job publishes with it,
/// through a script or tool we cannot read (`tox -e release`,
/// `./publish.py`). Medium confidence.
fn registry_token(wf: &Workflow<'_>, job: &Job<'_>) -> Option<Publishing> {
    let mut scopes = vec![
        (wf.env, Route::root().key("env")),
        (job.node.get("env"), job.route.key("env")),
    ];
    scopes.extend(
        job.steps
            .iter()
            .filter(|s| step_can_run(wf, job, s))
            .map(|s| (s.env, s.route.key("env"))),
    );
    for (env, route) in scopes {
        for entry in env.and_then(Node::as_map).unwrap_or_default() {
            let Some(key) = entry.key.as_str() else {
                continue;
            };
            // Provenance is used only by `npm publish`: a release script
            // (`pnpm run release`, `nx release`) publishes to npm.
            if key.eq_ignore_ascii_case("NPM_CONFIG_PROVENANCE")
                && (entry.value.is_true()
                    || entry.value.as_str().is_some_and(|v| v.trim() == "true"))
            {
                return Some(Publishing {
                    why: format!(
                        "asks npm for provenance (`{key}: true`), which only a publish uses"
                    ),
                    loc: Loc::value(route.key(key)),
                    confidence: Confidence::Medium,
                });
            }
            if registry_token_variable(key).is_none() {
                continue;
            }
            if let Some(secret) = secret_refs(&entry.value, route.key(key)).into_iter().next() {
                return Some(Publishing {
                    why: format!("holds the registry token `{key}` from {}", secret.phrase()),
                    loc: secret.loc,
                    confidence: Confidence::Medium,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn publishing(text: &str) -> Option<Publishing> {
        let src = SourceFile::new("w.yml", text);
        let doc = crate::yaml::load(&src).unwrap();
        let wf = Workflow::parse(&doc.root).unwrap();
        let job = &wf.jobs[0];
        publishes(&wf, job)
    }

    #[test]
    fn an_oidc_grant_alone_is_not_publishing_but_a_registry_login_is() {
        let scorecard = "on: push\njobs:\n  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ossf/scorecard-action@v2\n        with: {publish_results: true}\n      - uses: github/codeql-action/upload-sarif@v3\n";
        assert!(publishing(scorecard).is_none());
        // The token goes to something unreadable (a cloud login, an agent):
        // not evidence of publishing.
        let cloud = "on: push\njobs:\n  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n      - uses: openai/codex-action@v1\n      - run: ./trigger-gitlab.sh \"$ACTIONS_ID_TOKEN_REQUEST_TOKEN\" \"$ACTIONS_ID_TOKEN_REQUEST_URL\"\n";
        assert!(publishing(cloud).is_none());
        let login = "on: push\njobs:\n  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: google-github-actions/auth@v3\n      - run: gcloud auth configure-docker --quiet\n      - run: make sign-ci-containers\n";
        let p = publishing(login).unwrap();
        assert_eq!(p.confidence, Confidence::Medium);
        assert!(p.why.contains("gcloud auth configure-docker"), "{}", p.why);
        let test_login = "on: push\njobs:\n  a:\n    steps:\n      - uses: docker/login-action@v3\n        with: {registry: 'localhost:5000'}\n      - run: docker login 127.0.0.1:5001 -u a -p b\n";
        assert!(publishing(test_login).is_none());
    }

    #[test]
    fn pushes_to_test_registries_and_drafts_are_not_releases() {
        for text in [
            "on: push\njobs:\n  a:\n    env: {KO_DOCKER_REPO: 'registry.local:5000/app'}\n    steps:\n      - run: ko publish --insecure-registry ./cmd/app\n",
            "on: push\njobs:\n  a:\n    steps:\n      - run: ko build --repo=ttl.sh/abc ./cmd/app\n",
            "on: push\njobs:\n  a:\n    steps:\n      - run: docker push localhost:5000/app:test\n      - run: docker buildx build --push -t kind-registry:5000/app .\n      - run: crane copy ghcr.io/a/b:1 localhost:5001/b:1\n",
            "on: push\njobs:\n  a:\n    steps:\n      - uses: docker/build-push-action@v6\n        with: {push: true, tags: 'localhost:5000/app:ci'}\n",
            "on: push\njobs:\n  a:\n    steps:\n      - uses: softprops/action-gh-release@v2\n        with: {draft: true, files: dist/*}\n",
            "on: push\njobs:\n  a:\n    steps:\n      - run: gh release create v1 --draft\n  b:\n    steps:\n      - run: gh release upload v1 dist/x\n",
            "on: push\njobs:\n  a:\n    steps:\n      - uses: goreleaser/goreleaser-action@v6\n        with: {args: release --clean}\n",
        ] {
            let src = SourceFile::new("w.yml", text);
            let doc = crate::yaml::load(&src).unwrap();
            let wf = Workflow::parse(&doc.root).unwrap();
            for job in &wf.jobs {
                assert!(publishes(&wf, job).is_none(), "{text}");
            }
        }
        for text in [
            "on: push\njobs:\n  a:\n    env: {KO_DOCKER_REPO: ghcr.io/acme}\n    steps:\n      - run: ko build ./cmd/app\n",
            "on: push\njobs:\n  a:\n    steps:\n      - run: ko build ./cmd/app\n",
            "on: push\njobs:\n  a:\n    steps:\n      - run: docker push localhost:5000/app && docker push ghcr.io/acme/app\n",
            "on: push\njobs:\n  a:\n    steps:\n      - run: gh release create v1 --draft\n      - run: gh release upload v1 x\n      - run: gh release edit v1 --draft=false\n",
            "on: push\njobs:\n  a:\n    steps:\n      - uses: goreleaser/goreleaser-action@v6\n        with: {args: release --clean}\n        env: {GITHUB_TOKEN: '${{ secrets.GITHUB_TOKEN }}'}\n",
        ] {
            assert!(publishing(text).is_some(), "{text}");
        }
    }

    #[test]
    fn expression_chosen_values_are_read_as_their_alternatives() {
        assert_eq!(
            literal_alternatives(
                "${{ github.event_name == 'push' && 'release --clean' || 'release --snapshot' }}"
            ),
            vec!["release --clean", "release --snapshot"]
        );
        assert_eq!(
            literal_alternatives("release ${{ inputs.flags }} ${{ inputs.x && '-f a' || '' }}"),
            vec![
                "release ${{ inputs.flags }} -f a",
                "release ${{ inputs.flags }} "
            ]
        );
        assert!(literal_alternatives("release -f=${{ inputs.config }}").is_empty());
        // Many choices, or a long value, stay bounded.
        let six = "${{ a && 'x' || 'y' }} ".repeat(6);
        assert_eq!(literal_alternatives(&six).len(), MAX_ALTERNATIVES);
        let many = "${{ a && 'x' || 'y' }} ".repeat(40);
        assert!(literal_alternatives(&many).is_empty());
        let long = format!(
            "{}${{{{ a && 'x' || 'y' }}}}",
            " ".repeat(MAX_ALTERNATIVES_TEXT)
        );
        assert!(literal_alternatives(&long).is_empty());
    }

    #[test]
    fn matrix_values_choose_the_command() {
        let text = "on: push\njobs:\n  a:\n    strategy:\n      matrix:\n        tool: [eslint]\n        include:\n          - tool: vsce\n    steps:\n      - run: npx ${{ matrix.tool }} publish\n";
        let p = publishing(text).unwrap();
        assert!(p.why.contains("matrix.tool: vsce"), "{}", p.why);
        let text = "on: push\njobs:\n  a:\n    strategy:\n      matrix:\n        tool: [eslint, prettier]\n    steps:\n      - run: npx ${{ matrix.tool }} publish\n";
        assert!(publishing(text).is_none());
    }

    #[test]
    fn steps_that_cannot_run_on_the_events_are_not_evidence() {
        let text = "on: pull_request\njobs:\n  a:\n    steps:\n      - run: npm publish\n        if: github.event_name == 'push'\n";
        assert!(publishing(text).is_none());
        let text = "on: [pull_request, push]\njobs:\n  a:\n    steps:\n      - run: npm publish\n        if: github.event_name == 'push'\n";
        assert!(publishing(text).is_some());
    }

    #[test]
    fn build_push_outputs_that_push_publish() {
        for outputs in [
            "type=image,name=ghcr.io/a/b,push-by-digest=true,name-canonical=true,push=true",
            "type=image,push-by-digest=true",
        ] {
            let text = format!(
                "on: push\njobs:\n  a:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          outputs: {outputs}\n"
            );
            assert_eq!(
                publishing(&text).unwrap().confidence,
                Confidence::High,
                "{outputs}"
            );
        }
        let text = "on: push\njobs:\n  a:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          outputs: type=docker,dest=/tmp/image.tar\n";
        assert!(publishing(text).is_none());
    }
}
