//! Whether a job publishes, decided from what its steps do.
//!
//! A publish step is a known publish action (or an action in an
//! upload-only mode), `docker/build-push-action` that pushes, a publish
//! command in `run:` (see [`shell::publish_command`]), or one of these inside
//! a local composite action (`uses: ./path`, read from the repository when
//! it is on disk, see [`crate::local_actions`]). Steps whose `if:` cannot be
//! true on the workflow's events are not evidence (see
//! [`crate::conditions`]), nor are pushes that go only to throw-away test
//! registries (see [`crate::registries::is_ephemeral`]), draft releases, or
//! goreleaser runs that are given no credential.
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

use std::path::Path;

use crate::analysis::secret_refs;
use crate::conditions::{job_can_run, step_can_run};
use crate::finding::Confidence;
use crate::model::{Action, Job, Step, Uses, Workflow};
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

/// Whether a goreleaser step runs a release (the action's default), not
/// only an install (`install-only: true`), a snapshot or a build.
fn goreleaser_releases(step: &Step<'_>) -> bool {
    if step
        .input("install-only")
        .is_some_and(|v| v.trim() == "true")
    {
        return false;
    }
    let args = step.input("args").unwrap_or("");
    let first = args.split_whitespace().next().unwrap_or("release");
    !args.contains("--snapshot")
        && !args.contains("--skip=publish")
        && !args.contains("--skip-publish")
        && !matches!(first, "build" | "check" | "healthcheck" | "init")
}

/// The publish steps of a job that can run on the workflow's events.
pub fn publish_steps(wf: &Workflow<'_>, job: &Job<'_>) -> Vec<PublishStep> {
    crate::memo::publish_steps(job, || find_publish_steps(wf, job))
}

fn find_publish_steps(wf: &Workflow<'_>, job: &Job<'_>) -> Vec<PublishStep> {
    // Read the whole workflow's releases only when a job uploads to one.
    let drafts = std::cell::OnceCell::new();
    let drafts_only = || *drafts.get_or_init(|| creates_only_draft_releases(wf));
    let repository = crate::memo::repository();
    let mut out = Vec::new();
    for step in &job.steps {
        if !step_can_run(wf, job, step) {
            continue;
        }
        let at = || Loc::value(step.route.key("uses"));
        if let Some(uses) = &step.uses {
            if let (Uses::Local(path), Some(root)) = (uses, repository.as_deref()) {
                for (what, registry) in local_action_publishes(root, path, 0) {
                    out.push(PublishStep {
                        step: step.index,
                        loc: at(),
                        what,
                        registry,
                        confidence: Confidence::High,
                    });
                }
            }
            let slug = uses.slug().unwrap_or_default();
            let credentialled = || goreleaser_has_credentials(wf, job, step);
            if let Some(registry) = action_registry(step, uses, &slug, credentialled) {
                out.push(PublishStep {
                    step: step.index,
                    loc: at(),
                    what: format!("`{slug}`"),
                    registry,
                    confidence: Confidence::High,
                });
            }
        }
        if let Some(run) = step.run {
            let ko_repo = registries::env_value(wf, job, step, "KO_DOCKER_REPO");
            for cmd in shell::commands(run) {
                let Some(registry) = run_publishes(&cmd, ko_repo, &drafts_only) else {
                    continue;
                };
                out.push(PublishStep {
                    step: step.index,
                    loc: Loc::value(step.route.key("run")).with_needle(cmd.raw),
                    what: format!("`{}`", cmd.raw),
                    registry,
                    confidence: if shell::publish_destination_known(&cmd) {
                        Confidence::High
                    } else {
                        Confidence::Medium
                    },
                });
            }
        }
    }
    out
}

/// Whether a `run:` command publishes: a publish command, unless it pushes
/// only to test registries, or uploads into a release the workflow creates
/// as a draft.
fn run_publishes(
    cmd: &Command<'_>,
    ko_repo: Option<&str>,
    drafts_only: &dyn Fn() -> bool,
) -> Option<Registry> {
    let registry = shell::publish_command(cmd)?;
    if registry == Registry::Container && registries::pushes_only_to_test_registries(cmd, ko_repo) {
        return None;
    }
    if cmd.program() == "gh" && cmd.positional(1) == Some("upload") && drafts_only() {
        return None;
    }
    Some(registry)
}

/// The publish steps of a local composite action (and of the local actions
/// it uses, up to [`crate::local_actions::MAX_DEPTH`]), as what to say and
/// the registry.
fn local_action_publishes(root: &Path, path: &str, depth: usize) -> Vec<(String, Registry)> {
    if depth >= crate::local_actions::MAX_DEPTH {
        return Vec::new();
    }
    crate::local_actions::with_action(root, path, |shown, action: &Action<'_>| {
        let mut out = Vec::new();
        for step in &action.steps {
            match &step.uses {
                Some(Uses::Local(inner)) => {
                    out.extend(local_action_publishes(root, inner, depth + 1));
                }
                Some(uses) => {
                    let slug = uses.slug().unwrap_or_default();
                    // Inside an action, goreleaser's credentials come from
                    // inputs we do not follow: count it.
                    if let Some(r) = action_registry(step, uses, &slug, || true) {
                        out.push((format!("`{slug}` (in `{shown}`)"), r));
                    }
                }
                None => {}
            }
            for cmd in step.run.map(shell::commands).unwrap_or_default() {
                if let Some(r) = run_publishes(&cmd, None, &|| false) {
                    out.push((format!("`{}` (in `{shown}`)", cmd.raw.trim()), r));
                }
            }
        }
        out
    })
    .unwrap_or_default()
}

/// Whether every release this workflow creates is a draft (`gh release
/// create --draft`, and no `gh release edit --draft=false`): uploads to it
/// are then seen only by the repository's writers until someone publishes
/// the draft.
fn creates_only_draft_releases(wf: &Workflow<'_>) -> bool {
    let mut drafts = 0;
    for step in wf.jobs.iter().flat_map(|j| &j.steps) {
        for cmd in step.run.map(shell::commands).unwrap_or_default() {
            if cmd.program() != "gh" || cmd.positional(0) != Some("release") {
                continue;
            }
            match cmd.positional(1) {
                Some("create") if cmd.has_flag("--draft") => drafts += 1,
                Some("create") => return false,
                Some("edit") if cmd.words.iter().any(|w| w == "--draft=false") => return false,
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

fn action_registry(
    step: &Step<'_>,
    uses: &Uses,
    slug: &str,
    goreleaser_credentialled: impl FnOnce() -> bool,
) -> Option<Registry> {
    if uses.is("pypa/gh-action-pypi-publish")
        && ["repository-url", "repository_url"]
            .iter()
            .any(|i| step.input(i).is_some_and(names_test_index))
    {
        return None;
    }
    if uses.is("goreleaser/goreleaser-action")
        && (!goreleaser_releases(step) || !goreleaser_credentialled())
    {
        return None;
    }
    // A draft release is published later by a person (or a gated job).
    if [
        "softprops/action-gh-release",
        "ncipollo/release-action",
        "actions/create-release",
    ]
    .iter()
    .any(|a| uses.is(a))
        && step.input("draft").is_some_and(|d| d.trim() == "true")
    {
        return None;
    }
    if let Some((_, r)) = PUBLISH_ACTIONS
        .iter()
        .find(|(a, _)| slug == *a || slug.starts_with(&format!("{a}/")))
    {
        return Some(*r);
    }
    if let Some((.., r, _)) = PUBLISH_MODES.iter().find(|(a, input, values, ..)| {
        uses.is(a)
            && step
                .input(input)
                .is_some_and(|v| values.contains(&v.trim()))
    }) {
        return Some(*r);
    }
    if uses.is("docker/build-push-action")
        && build_push_pushes(step)
        && !build_push_to_test_registry(step)
    {
        return Some(Registry::Container);
    }
    if uses.is("changesets/action") && step.input("publish").is_some() {
        return Some(Registry::Npm);
    }
    None
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
    let (step, what) = registries::job_login(wf, job)?;
    let at = match step.uses {
        Some(_) => Loc::value(step.route.key("uses")),
        None => Loc::value(step.route.key("run")),
    };
    Some(Publishing {
        loc: at,
        why: format!("pushes to a container registry ({what})"),
        confidence: Confidence::Medium,
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
            if !REGISTRY_TOKEN_VARIABLES
                .iter()
                .any(|(v, _)| v.eq_ignore_ascii_case(key))
            {
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
