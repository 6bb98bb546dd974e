//! `long-lived-publish-token`: a registry token from `secrets` used to
//! publish to a registry that supports trusted publishing (npm, PyPI,
//! crates.io, RubyGems, NuGet) — also when `id-token: write` is present
//! (then the token is simply redundant).
//!
//! Recognised: well-known token variables in `env` (step, job, workflow)
//! whose value reads a secret (`NODE_AUTH_TOKEN`, `NPM_TOKEN`,
//! `TWINE_PASSWORD`, `CARGO_REGISTRY_TOKEN`, `UV_PUBLISH_TOKEN`,
//! `POETRY_PYPI_TOKEN_PYPI`, `GEM_HOST_API_KEY`, ...); the `password:` input
//! of `pypa/gh-action-pypi-publish` and `token:` of `JS-DevTools/npm-publish`;
//! and a secret on the command line of a publish command or of a
//! registry-login command (`npm config set //...:_authToken`,
//! `poetry config pypi-token.pypi`, `.npmrc` writes).

use crate::analysis::{credentials, publish_steps, secret_refs};
use crate::expr::{expressions, secrets_read};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::Workflow;
use crate::route::{Loc, Route};
use crate::rules::{Context, Rule, RuleMeta};
use crate::shell::{self, Registry};
use crate::yaml::Node;

pub static META: RuleMeta = RuleMeta {
    id: "long-lived-publish-token",
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A long-lived registry token from `secrets` is used to publish where trusted publishing exists.",
    risk: "A registry token in repository secrets lives for months, works from anywhere, and is \
           readable by every step of the jobs that receive it and by anyone who can edit a \
           workflow. Trusted publishing replaces it with a short-lived OIDC token bound to this \
           repository, workflow and environment.",
    fix: "Configure trusted publishing for the package on the registry (npm, PyPI, crates.io, \
          RubyGems, NuGet), grant `id-token: write` to the publish job only, remove the token \
          from the workflow and delete the secret (and revoke the token on the registry).",
};

/// Environment variables that carry a registry credential, and their registry.
const TOKEN_VARIABLES: &[(&str, Registry)] = &[
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
];

/// Action inputs that carry a registry credential.
const TOKEN_INPUTS: &[(&str, &str, Registry)] = &[
    ("pypa/gh-action-pypi-publish", "password", Registry::PyPI),
    ("js-devtools/npm-publish", "token", Registry::Npm),
];

/// Command-line fragments that log in to a registry with a token.
const LOGIN_MARKERS: &[(&str, Registry)] = &[
    ("_authToken", Registry::Npm),
    ("pypi-token", Registry::PyPI),
    ("cargo login", Registry::CratesIo),
    ("credentials.toml", Registry::CratesIo),
    (".gem/credentials", Registry::RubyGems),
];

pub struct LongLivedPublishToken;

impl Rule for LongLivedPublishToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        let mut workflow_env_reported = false;
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let publishes: Vec<_> = publish_steps(job)
                .into_iter()
                .filter(|p| p.registry.has_trusted_publishing())
                .collect();
            let has_id_token = credentials(wf, job).iter().any(|c| c.is_id_token);
            let mut found: Vec<(Loc, String, Registry)> = Vec::new();
            // env blocks: workflow (once), job, steps.
            if !workflow_env_reported && let Some(env) = wf.env {
                let before = found.len();
                env_tokens(env, Route::root().key("env"), &mut found);
                workflow_env_reported = found.len() > before;
            }
            if let Some(env) = job.node.get("env") {
                env_tokens(env, job.route.key("env"), &mut found);
            }
            for step in &job.steps {
                if let Some(env) = step.env {
                    env_tokens(env, step.route.key("env"), &mut found);
                }
                if let (Some(uses), Some(with)) = (&step.uses, step.with) {
                    for (action, input, registry) in TOKEN_INPUTS {
                        let Some(slug) = uses.slug() else { continue };
                        if slug != *action {
                            continue;
                        }
                        if let Some(node) = with.get(input) {
                            for (loc, name) in secret_refs(node, step.route.key("with").key(input))
                            {
                                found.push((
                                    loc,
                                    format!("`secrets.{name}` (`{input}:` input)"),
                                    *registry,
                                ));
                            }
                        }
                    }
                }
                if let Some(run) = step.run {
                    for cmd in shell::commands(run) {
                        let registry = shell::publish_command(&cmd)
                            .filter(|r| r.has_trusted_publishing())
                            .or_else(|| {
                                LOGIN_MARKERS
                                    .iter()
                                    .find(|(m, _)| cmd.raw.contains(m))
                                    .map(|(_, r)| *r)
                            });
                        let Some(registry) = registry else { continue };
                        for e in expressions(cmd.raw) {
                            for name in secrets_read(e.inner) {
                                if name != "GITHUB_TOKEN" {
                                    found.push((
                                        Loc::value(step.route.key("run")).with_needle(e.raw),
                                        format!("`secrets.{name}` (on the command line)"),
                                        registry,
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            for (loc, what, registry) in found {
                let registry = publishes
                    .first()
                    .map(|p| p.registry)
                    .filter(|_| registry == Registry::Other)
                    .unwrap_or(registry);
                let mut message = format!(
                    "{what} is a long-lived {} token used to publish; {} supports trusted publishing",
                    registry.name(),
                    registry.name()
                );
                if has_id_token {
                    message.push_str(&format!(
                        " and job `{}` already has `id-token: write`",
                        job.id
                    ));
                }
                let mut draft = Draft::new(&META, message, loc, "long-lived registry token");
                draft = match publishes.first() {
                    Some(p) => draft.related(p.loc.clone(), "publishes here"),
                    None => draft.confidence(Confidence::Medium),
                };
                out.push(draft);
            }
        }
        out
    }
}

fn env_tokens(env: &Node, route: Route, found: &mut Vec<(Loc, String, Registry)>) {
    for entry in env.as_map().unwrap_or_default() {
        let Some(key) = entry.key.as_str() else {
            continue;
        };
        let Some((_, registry)) = TOKEN_VARIABLES
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(key))
        else {
            continue;
        };
        for (loc, name) in secret_refs(&entry.value, route.key(key)) {
            found.push((loc, format!("`{key}: secrets.{name}`"), *registry));
        }
    }
}
