//! Whether a job publishes, decided from what its steps do.
//!
//! A publish step is a known publish action (or an action in an
//! upload-only mode), `docker/build-push-action` that pushes, or a publish
//! command in `run:` (see [`shell::publish_command`]). Steps whose `if:`
//! cannot be true on the workflow's events are not evidence (see
//! [`crate::conditions`]).
//!
//! `id-token: write` alone is not publishing: jobs hold it to upload
//! scorecards, benchmarks or coverage, to sign, or to run tests that need
//! an OIDC token. A job with the grant and no publish step is reported as
//! publishing only at medium confidence, and only when some step could use
//! the token for something unknown: an action that is neither a known OIDC
//! consumer that does not publish ([`NON_PUBLISHING_OIDC_ACTIONS`]) nor
//! known to leave the token alone, or a script that reads
//! `ACTIONS_ID_TOKEN_REQUEST_*`.

use crate::analysis::secret_refs;
use crate::conditions::{job_can_run, step_can_run};
use crate::finding::Confidence;
use crate::model::{Job, Permissions, Step, Uses, Workflow};
use crate::route::{Loc, Route};
use crate::shell::{self, Registry};
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

/// OIDC consumers known not to publish a package or release: they upload
/// analysis results, benchmarks, coverage or attestations. A job whose only
/// use of `id-token: write` is one of these does not publish.
pub const NON_PUBLISHING_OIDC_ACTIONS: &[(&str, &str)] = &[
    ("ossf/scorecard-action", "uploads OpenSSF Scorecard results"),
    ("codspeedhq/action", "uploads benchmark results to CodSpeed"),
    ("codecov/codecov-action", "uploads coverage to Codecov"),
    (
        "coverallsapp/github-action",
        "uploads coverage to Coveralls",
    ),
    ("github/codeql-action", "uploads code scanning results"),
    (
        "actions/attest-build-provenance",
        "records a build attestation",
    ),
    ("actions/attest", "records an attestation"),
    ("actions/attest-sbom", "records an SBOM attestation"),
    ("sigstore/gh-action-sigstore-python", "signs with Sigstore"),
    ("sigstore/cosign-installer", "installs cosign"),
    (
        "open-security-tools/ost-simple-sts",
        "exchanges it for a scoped GitHub token",
    ),
];

/// Actions that do not use the job's OIDC token at all.
pub const NO_OIDC_ACTIONS: &[&str] = &[
    "actions/checkout",
    "actions/cache",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/labeler",
    "dtolnay/rust-toolchain",
    "swatinem/rust-cache",
    "taiki-e/install-action",
    "pnpm/action-setup",
    "peter-evans/create-issue-from-file",
    "peter-evans/create-pull-request",
    "peter-evans/create-or-update-comment",
    "re-actors/alls-green",
    "mislav/bump-homebrew-formula-action",
    "slackapi/slack-github-action",
    "tsickert/discord-webhook",
];

/// Actions that do not use the job's OIDC token at all: `*/setup-*`,
/// [`NO_OIDC_ACTIONS`], and goreleaser when it only installs itself.
fn never_uses_oidc(step: &Step<'_>, uses: &Uses) -> bool {
    let Uses::Repository { repo, .. } = uses else {
        return false;
    };
    repo.to_ascii_lowercase().starts_with("setup-")
        || NO_OIDC_ACTIONS.iter().any(|a| uses.is(a))
        || (uses.is("goreleaser/goreleaser-action") && !goreleaser_releases(step))
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
    let mut out = Vec::new();
    for step in &job.steps {
        if !step_can_run(wf, job, step) {
            continue;
        }
        if let Some(uses) = &step.uses {
            let slug = uses.slug().unwrap_or_default();
            if let Some(registry) = action_registry(step, uses, &slug) {
                out.push(PublishStep {
                    step: step.index,
                    loc: Loc::value(step.route.key("uses")),
                    what: format!("`{slug}`"),
                    registry,
                    confidence: Confidence::High,
                });
            }
        }
        if let Some(run) = step.run {
            for cmd in shell::commands(run) {
                if let Some(registry) = shell::publish_command(&cmd) {
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
    }
    out
}

/// Whether text names PyPI's test index (`https://test.pypi.org/legacy/`,
/// `testpypi`): an upload there is a rehearsal, not a release.
pub fn names_test_index(text: &str) -> bool {
    text.contains("test.pypi.org") || text.trim() == "testpypi"
}

fn action_registry(step: &Step<'_>, uses: &Uses, slug: &str) -> Option<Registry> {
    if uses.is("pypa/gh-action-pypi-publish")
        && ["repository-url", "repository_url"]
            .iter()
            .any(|i| step.input(i).is_some_and(names_test_index))
    {
        return None;
    }
    if uses.is("goreleaser/goreleaser-action") && !goreleaser_releases(step) {
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
    if uses.is("docker/build-push-action") && build_push_pushes(step) {
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

/// Why and how surely a job publishes.
#[derive(Debug, Clone)]
pub struct Publishing {
    pub loc: Loc,
    pub why: String,
    pub confidence: Confidence,
}

/// Whether a job publishes: its first publish step; else its `id-token:
/// write` grant, at medium confidence, unless every step that could use the
/// token is a known non-publishing OIDC consumer (then `None`).
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
    let grant = wf
        .effective_permissions(job)
        .and_then(Permissions::id_token_write)?;
    let runnable: Vec<&Step<'_>> = job
        .steps
        .iter()
        .filter(|s| step_can_run(wf, job, s))
        .collect();
    let consumer = runnable.iter().find_map(|s| match &s.uses {
        Some(uses) => {
            let known = NON_PUBLISHING_OIDC_ACTIONS.iter().any(|(a, _)| uses.is(a));
            (!known && !never_uses_oidc(s, uses))
                .then(|| uses.slug().unwrap_or_else(|| "a local action".to_owned()))
        }
        None => s
            .run
            .filter(|r| r.contains("ACTIONS_ID_TOKEN_REQUEST"))
            .map(|_| "a script that requests the token".to_owned()),
    })?;
    let why = format!("holds `id-token: write` (used by `{consumer}`, which may publish)");
    Some(Publishing {
        loc: Loc::entry(grant),
        why,
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
    fn scorecard_alone_is_not_publishing_and_unknown_consumers_are_medium() {
        let scorecard = "on: push\njobs:\n  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ossf/scorecard-action@v2\n        with: {publish_results: true}\n      - uses: github/codeql-action/upload-sarif@v3\n";
        assert!(publishing(scorecard).is_none());
        let cloud = "on: push\njobs:\n  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: ossf/scorecard-action@v2\n      - uses: aws-actions/configure-aws-credentials@v4\n";
        let p = publishing(cloud).unwrap();
        assert_eq!(p.confidence, Confidence::Medium);
        assert!(
            p.why.contains("aws-actions/configure-aws-credentials"),
            "{}",
            p.why
        );
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
