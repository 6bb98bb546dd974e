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
//!
//! A secret put in `env:` under any other name (`CRATES_TOKEN`,
//! `MATURIN_PYPI_TOKEN`, ...) at workflow, job or step level is followed into
//! the scripts that can see it: passed to a publish command
//! (`cargo publish --token "$CRATES_TOKEN"`) or written into a registry
//! login (`.npmrc`, also from a here-document), it is a publish token too.
//!
//! Container registries that accept short-lived credentials (GHCR with the
//! job's `GITHUB_TOKEN`; ECR and ECR Public, Artifact Registry/GCR and ACR
//! through their cloud's OIDC login) are reported when `docker/login-action`
//! gets a long-lived password from `secrets`.
//!
//! A NuGet key for another feed than nuget.org (MyGet, GitHub Packages, a
//! private feed: none has trusted publishing) is not reported: its push names
//! the feed (`--source URL`), or the `env:` block holding the key also sets a
//! feed URL none of which is nuget.org.

use std::collections::HashSet;

use crate::analysis::{SecretRef, credentials, publish_steps, secret_refs};
use crate::expr::{expressions, secrets_read};
use crate::finding::{Confidence, Draft, Severity};
use crate::model::{Job, Step, Workflow};
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

use crate::publishing::registry_token_variable;

/// Action inputs that carry a registry credential.
const TOKEN_INPUTS: &[(&str, &str, Registry)] = &[
    ("pypa/gh-action-pypi-publish", "password", Registry::PyPI),
    ("js-devtools/npm-publish", "token", Registry::Npm),
    ("katyo/publish-crates", "registry-token", Registry::CratesIo),
    ("rohith/publish-nuget", "NUGET_KEY", Registry::NuGet),
    ("brandedoutcast/publish-nuget", "NUGET_KEY", Registry::NuGet),
];

/// Command-line fragments that log in to a registry with a token.
const LOGIN_MARKERS: &[(&str, Registry)] = &[
    ("_authToken", Registry::Npm),
    ("pypi-token", Registry::PyPI),
    ("cargo login", Registry::CratesIo),
    ("credentials.toml", Registry::CratesIo),
    (".gem/credentials", Registry::RubyGems),
];

/// Container registries that accept a short-lived credential instead of a
/// stored password, matched on the `registry:` input of `docker/login-action`.
const SHORT_LIVED_REGISTRIES: &[(&str, &str)] = &[
    (
        "ghcr.io",
        "the job's `GITHUB_TOKEN` (with `packages: write`)",
    ),
    (
        ".amazonaws.com",
        "`aws-actions/configure-aws-credentials` with an OIDC role",
    ),
    (
        "public.ecr.aws",
        "`aws-actions/configure-aws-credentials` with an OIDC role (then `aws-actions/amazon-ecr-login` with `registry-type: public`)",
    ),
    (
        ".pkg.dev",
        "`google-github-actions/auth` with workload identity federation",
    ),
    (
        "gcr.io",
        "`google-github-actions/auth` with workload identity federation",
    ),
    (".azurecr.io", "`azure/login` with OIDC"),
];

/// One long-lived token found in a job.
struct Found {
    loc: Loc,
    what: String,
    registry: Registry,
    /// What replaces it, when the registry is not one with trusted publishing.
    instead: Option<&'static str>,
}

pub struct LongLivedPublishToken;

impl Rule for LongLivedPublishToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_workflow(&self, wf: &Workflow<'_>, _cx: &Context<'_>) -> Vec<Draft> {
        let mut out = Vec::new();
        // Workflow-level `env` entries are reported once, not per job.
        let mut reported: HashSet<String> = HashSet::new();
        for job in wf.jobs.iter().filter(|j| j.uses.is_none()) {
            let steps = publish_steps(wf, job);
            let publishes: Vec<_> = steps
                .iter()
                .filter(|p| p.registry.has_trusted_publishing())
                .collect();
            let has_id_token = credentials(wf, job).iter().any(|c| c.is_id_token);
            let mut found: Vec<Found> = Vec::new();
            if let Some(env) = wf.env {
                env_tokens(env, Route::root().key("env"), None, &mut found);
            }
            if let Some(env) = job.node.get("env") {
                env_tokens(env, job.route.key("env"), None, &mut found);
            }
            for step in &job.steps {
                if let Some(env) = step.env {
                    env_tokens(env, step.route.key("env"), Some(step), &mut found);
                }
                action_tokens(step, &mut found);
                if let Some(run) = step.run {
                    command_line_tokens(step, run, &mut found);
                    followed_tokens(wf, job, step, run, &mut found);
                }
            }
            for f in found {
                if !reported.insert(format!("{:?}", f.loc)) {
                    continue;
                }
                let publish = match f.registry {
                    Registry::Container => steps.iter().find(|p| p.registry == Registry::Container),
                    _ => publishes.first().copied(),
                };
                let registry = publish
                    .map(|p| p.registry)
                    .filter(|_| f.registry == Registry::Other)
                    .unwrap_or(f.registry);
                let mut message = match f.instead {
                    Some(instead) => format!(
                        "{} is a long-lived registry password; this registry accepts {instead} instead",
                        f.what
                    ),
                    None => format!(
                        "{} is a long-lived {} token used to publish; {} supports trusted publishing",
                        f.what,
                        registry.name(),
                        registry.name()
                    ),
                };
                if has_id_token && f.instead.is_none() {
                    message.push_str(&format!(
                        " and job `{}` already has `id-token: write`",
                        job.id
                    ));
                }
                let mut draft = Draft::new(&META, message, f.loc, "long-lived registry token");
                draft = match publish {
                    Some(p) => draft.related(p.loc.clone(), "publishes here"),
                    None => draft.confidence(Confidence::Medium),
                };
                out.push(draft);
            }
        }
        out
    }
}

/// Token inputs of publish actions, and `docker/login-action` passwords for
/// registries that take short-lived credentials.
fn action_tokens(step: &Step<'_>, found: &mut Vec<Found>) {
    let (Some(uses), Some(with)) = (&step.uses, step.with) else {
        return;
    };
    let Some(slug) = uses.slug() else { return };
    // An upload to another index than PyPI (a project's own, like
    // Jazzband's) has no trusted publishing to move to.
    let other_index = ["repository-url", "repository_url"].iter().any(|i| {
        step.input(i).is_some_and(|url| {
            let url = url.trim().to_ascii_lowercase();
            !url.is_empty() && !url.contains("pypi.org")
        })
    });
    for (action, input, registry) in TOKEN_INPUTS {
        if slug != *action || (*registry == Registry::PyPI && other_index) {
            continue;
        }
        if let Some(node) = with.get(input) {
            for secret in secret_refs(node, step.route.key("with").key(input)) {
                found.push(Found {
                    what: format!("{} (`{input}:` input)", secret.phrase()),
                    loc: secret.loc,
                    registry: *registry,
                    instead: None,
                });
            }
        }
    }
    // Logins to a container registry: `docker/login-action`, or an action
    // that logs in and pushes in one step.
    let (action, registry, password_input) = if uses.is("docker/login-action") {
        let registry = step.input("registry").unwrap_or("").trim();
        (
            "docker/login-action",
            registry.to_ascii_lowercase(),
            "password",
        )
    } else if let Some((a, registry)) = crate::registries::image_publish_action(step) {
        (a.action, registry, a.password_input)
    } else {
        return;
    };
    let Some(instead) = short_lived_alternative(&registry) else {
        return;
    };
    if let Some(node) = with.get(password_input) {
        let route = step.route.key("with").key(password_input);
        for secret in secret_refs(node, route) {
            found.push(Found {
                what: format!(
                    "{} (`{password_input}:` of `{action}` for `{registry}`)",
                    secret.phrase()
                ),
                loc: secret.loc,
                registry: Registry::Container,
                instead: Some(instead),
            });
        }
    }
}

/// What replaces a stored password for a container registry that accepts a
/// short-lived credential, or `None` for the others (Docker Hub, Quay).
fn short_lived_alternative(registry: &str) -> Option<&'static str> {
    SHORT_LIVED_REGISTRIES
        .iter()
        .find(|(host, _)| registry_matches(registry, host))
        .map(|(_, instead)| *instead)
}

/// A command-line login (`docker login -p ... ghcr.io`) to a container
/// registry that accepts short-lived credentials: the registry and what
/// replaces the password.
fn short_lived_cli_login(cmd: &shell::Command<'_>) -> Option<(String, &'static str)> {
    let registry = crate::registries::login_target(cmd)?;
    let instead = short_lived_alternative(&registry)?;
    Some((registry, instead))
}

/// `ghcr.io` matches `ghcr.io` (and `ghcr.io/owner`); `.pkg.dev` matches any
/// `*.pkg.dev`; `gcr.io` matches `gcr.io` and `eu.gcr.io`.
fn registry_matches(registry: &str, host: &str) -> bool {
    let registry = registry.split('/').next().unwrap_or("");
    if host.starts_with('.') {
        return registry.ends_with(host);
    }
    registry == host || registry.ends_with(&format!(".{host}"))
}

/// Secrets written on the command line of a publish or registry-login command.
fn command_line_tokens(step: &Step<'_>, run: &str, found: &mut Vec<Found>) {
    for cmd in shell::commands(run) {
        let registry = shell::publish_command(&cmd)
            .filter(|r| r.has_trusted_publishing())
            .or_else(|| login_registry(cmd.raw));
        let (registry, instead, passwords) = match registry {
            // Every word, so a secret on a continuation line counts too.
            Some(r) => (r, None, cmd.words.clone()),
            None => match short_lived_cli_login(&cmd) {
                Some((_, instead)) => (
                    Registry::Container,
                    Some(instead),
                    login_passwords(&cmd, line_of(run, cmd.raw)),
                ),
                None => continue,
            },
        };
        let passwords: Vec<String> = passwords;
        for e in passwords.iter().flat_map(|p| expressions(p)) {
            let names: Vec<String> = secrets_read(e.inner)
                .into_iter()
                .filter(|n| n != "GITHUB_TOKEN")
                .collect();
            if names.is_empty() {
                continue;
            }
            let secret = SecretRef {
                loc: Loc::value(step.route.key("run")).with_needle(e.raw),
                names,
            };
            found.push(Found {
                what: format!("{} (on the command line)", secret.phrase()),
                loc: secret.loc,
                registry,
                instead,
            });
        }
    }
}

fn login_registry(text: &str) -> Option<Registry> {
    LOGIN_MARKERS
        .iter()
        .find(|(m, _)| text.contains(m))
        .map(|(_, r)| *r)
}

/// Whether a script text reads shell variable `name` (`$NAME`, `${NAME}`,
/// `${NAME:-x}`).
fn reads_variable(text: &str, name: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let candidate = after.strip_prefix('{').unwrap_or(after);
        if let Some(tail) = candidate.strip_prefix(name)
            && !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            return true;
        }
        rest = after;
    }
    false
}

/// Secrets in `env:` under names not in [`TOKEN_VARIABLES`], followed into
/// the publish commands and registry logins of a step that can see them.
fn followed_tokens(
    wf: &Workflow<'_>,
    job: &Job<'_>,
    step: &Step<'_>,
    run: &str,
    found: &mut Vec<Found>,
) {
    let scopes = [
        (wf.env, Route::root().key("env")),
        (job.node.get("env"), job.route.key("env")),
        (step.env, step.route.key("env")),
    ];
    // Later scopes override earlier ones: keep the innermost definition.
    let mut visible: Vec<(String, SecretRef)> = Vec::new();
    for (env, route) in scopes {
        for entry in env.and_then(Node::as_map).unwrap_or_default() {
            let Some(key) = entry.key.as_str() else {
                continue;
            };
            if registry_token_variable(key).is_some() {
                continue;
            }
            visible.retain(|(k, _)| k != key);
            if let Some(secret) = secret_refs(&entry.value, route.key(key)).into_iter().next() {
                visible.push((key.to_owned(), secret));
            }
        }
    }
    if visible.is_empty() {
        return;
    }
    let commands = shell::commands(run);
    for (name, secret) in visible {
        let used = commands.iter().find_map(|cmd| {
            let registry = shell::publish_command(cmd).filter(|r| r.has_trusted_publishing())?;
            cmd.words
                .iter()
                .any(|w| reads_variable(w, &name))
                .then(|| (registry, cmd.raw.to_owned(), None))
        });
        // Registry logins, also inside here-documents (`.npmrc` bodies).
        let used = used.or_else(|| {
            run.lines().find_map(|line| {
                let registry = login_registry(line)?;
                reads_variable(line, &name).then(|| (registry, line.trim().to_owned(), None))
            })
        });
        // Container registry logins that take short-lived credentials,
        // with the password on the line (`-p "$X"`, `echo "$X" | docker
        // login --password-stdin ghcr.io`).
        let used = used.or_else(|| {
            commands.iter().find_map(|cmd| {
                let (_, instead) = short_lived_cli_login(cmd)?;
                let line = line_of(run, cmd.raw);
                login_passwords(cmd, line)
                    .iter()
                    .any(|p| reads_variable(p, &name))
                    .then(|| (Registry::Container, line.trim().to_owned(), Some(instead)))
            })
        });
        let Some((registry, line, instead)) = used else {
            continue;
        };
        found.push(Found {
            what: format!("`{name}: {}` (passed to `{line}`)", secret.bare()),
            loc: secret.loc,
            registry,
            instead,
        });
    }
}

/// The texts that carry a login command's password (not its user name):
/// the value of `-p`/`--password`, and with `--password-stdin` what feeds
/// the command on its line (`echo "$X" | docker login ...`) or a
/// here-string (`<<< "$X"`).
fn login_passwords(cmd: &shell::Command<'_>, line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = cmd.words.iter();
    while let Some(w) = words.next() {
        let value = if w == "-p" || w == "--password" {
            words.next().map(String::as_str)
        } else {
            w.strip_prefix("--password=")
        };
        let Some(value) = value else { continue };
        // An unquoted `${{ secrets.X }}` is split into words: rejoin it.
        let mut value = value.to_owned();
        while value.contains("${{") && !value.contains("}}") {
            let Some(next) = words.next() else { break };
            value.push(' ');
            value.push_str(next);
        }
        out.push(value);
    }
    if cmd.has_flag("--password-stdin") {
        let start = cmd.raw.lines().next().unwrap_or("");
        if let Some(at) = line.find(start).filter(|_| !start.is_empty()) {
            out.push(line[..at].to_owned());
        }
        if let Some((_, fed)) = cmd.raw.split_once("<<<") {
            out.push(fed.to_owned());
        }
    }
    out
}

/// The line of `script` where the command text `raw` (a slice of it)
/// starts: a pipeline feeding the command is on it too.
fn line_of<'s>(script: &'s str, raw: &str) -> &'s str {
    let Some(at) = script.find(raw) else {
        return "";
    };
    let start = script[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = script[at..].find('\n').map_or(script.len(), |i| at + i);
    &script[start..end]
}

/// Whether a NuGet key in this `env:` block goes to another feed than
/// nuget.org (MyGet, GitHub Packages, a private feed; none of them has
/// trusted publishing): the block also sets a feed URL (`NUGET_URL:
/// https://www.myget.org/...`), and none of its URLs is nuget.org; or the
/// step's `nuget push` commands all name such a `--source`.
fn nuget_key_for_another_feed(env: &Node, step: Option<&Step<'_>>) -> bool {
    let urls: Vec<&str> = env
        .as_map()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.value.as_str())
        .filter(|v| shell::is_url(v))
        .collect();
    if !urls.is_empty() {
        return urls.iter().all(|u| !shell::is_nuget_org(u));
    }
    let Some(run) = step.and_then(|s| s.run) else {
        return false;
    };
    let pushes: Vec<Registry> = shell::commands(run)
        .iter()
        .filter(|c| matches!(c.program(), "dotnet" | "nuget"))
        .filter_map(shell::publish_command)
        .collect();
    !pushes.is_empty() && pushes.iter().all(|r| *r == Registry::Other)
}

fn env_tokens(env: &Node, route: Route, step: Option<&Step<'_>>, found: &mut Vec<Found>) {
    let other_feed = std::cell::OnceCell::new();
    for entry in env.as_map().unwrap_or_default() {
        let Some(key) = entry.key.as_str() else {
            continue;
        };
        let Some(registry) = registry_token_variable(key) else {
            continue;
        };
        if registry == Registry::NuGet
            && *other_feed.get_or_init(|| nuget_key_for_another_feed(env, step))
        {
            continue;
        }
        for secret in secret_refs(&entry.value, route.key(key)) {
            found.push(Found {
                what: format!("`{key}: {}`", secret.bare()),
                loc: secret.loc,
                registry,
                instead: None,
            });
        }
    }
}
