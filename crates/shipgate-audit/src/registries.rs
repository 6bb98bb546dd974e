//! Container registries as the release rules see them: which destinations
//! are throw-away test registries (a push there is not a release), and
//! which steps log in to a registry (a sign that the job pushes through a
//! tool the audit cannot read).

use crate::model::{Job, Step, Uses, Workflow};
use crate::shell::{self, Command};
use crate::yaml::Node;

/// Whether an image reference or registry host names a registry that lives
/// only for the test run: `localhost`, loopback addresses, `ttl.sh`
/// (anonymous images that expire within a day), the registry of a kind
/// cluster (`kind-registry`, `kind.local`), ko's local daemon (`ko.local`)
/// and any `*.local` host. `oci://` and `docker://` prefixes are ignored.
pub fn is_ephemeral(reference: &str) -> bool {
    let reference = reference.trim().trim_matches(|c| c == '"' || c == '\'');
    let reference = ["oci://", "docker://", "http://", "https://"]
        .iter()
        .find_map(|p| reference.strip_prefix(p))
        .unwrap_or(reference);
    let host = reference.split('/').next().unwrap_or("");
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]:5000`
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "localhost" | "127.0.0.1" | "0.0.0.0" | "::1" | "ttl.sh" | "kind-registry"
    ) || name.ends_with(".local")
        || name.starts_with("127.")
}

/// Actions that log in to a container registry, and the input naming it.
const LOGIN_ACTIONS: &[(&str, &str)] = &[
    ("docker/login-action", "registry"),
    ("aws-actions/amazon-ecr-login", "registries"),
    ("azure/docker-login", "login-server"),
    ("redhat-actions/podman-login", "registry"),
];

/// An action that logs in and pushes an image or chart in one step.
pub struct ImagePublishAction {
    pub action: &'static str,
    /// The input naming the registry, and the registry when it is left out.
    pub registry_input: &'static str,
    pub default_registry: &'static str,
    /// The input carrying the registry password or token.
    pub password_input: &'static str,
    /// An input and the value that make the action build without pushing.
    pub no_push: Option<(&'static str, &'static str)>,
}

/// Third-party actions that push images or charts to an OCI registry
/// (besides `docker/build-push-action`, whose `push:` and `outputs:` the
/// publish reader judges itself).
pub const IMAGE_PUBLISH_ACTIONS: &[ImagePublishAction] = &[
    ImagePublishAction {
        action: "appany/helm-oci-chart-releaser",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "registry_password",
        no_push: None,
    },
    ImagePublishAction {
        action: "jerray/publish-docker-action",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "password",
        no_push: None,
    },
    ImagePublishAction {
        action: "elgohr/publish-docker-github-action",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "password",
        no_push: Some(("no_push", "true")),
    },
    ImagePublishAction {
        action: "mr-smithers-excellent/docker-build-push",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "password",
        no_push: Some(("pushImage", "false")),
    },
    ImagePublishAction {
        action: "redhat-actions/push-to-registry",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "password",
        no_push: None,
    },
    ImagePublishAction {
        action: "whoan/docker-build-with-cache-action",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "password",
        no_push: Some(("push_image_and_stages", "false")),
    },
    ImagePublishAction {
        action: "aevea/action-kaniko",
        registry_input: "registry",
        default_registry: "docker.io",
        password_input: "password",
        no_push: None,
    },
];

/// The image publish action a step is and the registry it pushes to (lower
/// case), unless it is told not to push or pushes to a test registry.
pub fn image_publish_action(step: &Step<'_>) -> Option<(&'static ImagePublishAction, String)> {
    let uses = step.uses.as_ref()?;
    let action = IMAGE_PUBLISH_ACTIONS.iter().find(|a| uses.is(a.action))?;
    if action
        .no_push
        .is_some_and(|(input, off)| step.input(input).is_some_and(|v| v.trim() == off))
    {
        return None;
    }
    let registry = step
        .input(action.registry_input)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(action.default_registry)
        .to_ascii_lowercase();
    (!is_ephemeral(&registry)).then_some((action, registry))
}

/// Actions that exchange the job's OIDC token for a registry's publish
/// credential (trusted publishing) and leave it for later steps (`gem
/// push`, `rake release`, `dotnet nuget push`): a job using one publishes,
/// even through a tool the audit cannot read (a fastlane lane, a script).
pub const CREDENTIAL_ACTIONS: &[(&str, &str)] = &[
    ("rubygems/configure-rubygems-credentials", "RubyGems"),
    ("nuget/login", "NuGet"),
];

/// What a step logs in to, when it is a registry login: a login action
/// (Docker Hub when `registry:` is left out), or a `run:` line with `docker
/// login`, `podman login`, `helm registry login`, `crane auth login`, `oras
/// login`, `gcloud auth configure-docker` or `az acr login`; or a local
/// action (`uses: ./path`, when the repository is on disk) whose steps log
/// in. Logins to a test registry ([`is_ephemeral`]) do not count.
pub fn login(step: &Step<'_>) -> Option<String> {
    if let Some(Uses::Local(path)) = &step.uses {
        let root = crate::memo::repository()?;
        return crate::local_actions::facts(&root, path, step.with)
            .login
            .clone();
    }
    login_here(step)
}

/// Like [`login`], without following local actions.
pub fn login_here(step: &Step<'_>) -> Option<String> {
    if let Some(uses) = &step.uses {
        let (action, input) = LOGIN_ACTIONS.iter().find(|(a, _)| uses.is(a))?;
        let registry = step.input(input).unwrap_or("docker.io").trim();
        if is_ephemeral(registry) {
            return None;
        }
        let slug = match uses {
            Uses::Repository { .. } => uses.slug().unwrap_or_else(|| (*action).to_owned()),
            _ => (*action).to_owned(),
        };
        return Some(format!("`{slug}` logs in to `{registry}`"));
    }
    let run = step.run?;
    // Most scripts log in to nothing: skip reading them as shell.
    if !run.contains("login") && !run.contains("configure-docker") {
        return None;
    }
    login_command_text(run).map(|raw| format!("`{}` logs in to a registry", raw.trim()))
}

/// The text of the first registry-login command of a script, to point at.
pub fn login_command_text(run: &str) -> Option<&str> {
    shell::commands(run)
        .into_iter()
        .find(login_command)
        .map(|cmd| cmd.raw)
}

fn login_command(cmd: &Command<'_>) -> bool {
    login_target(cmd).is_some_and(|target| !is_ephemeral(&target))
}

/// Options of registry-login commands that take a value (`-u USER`).
const LOGIN_VALUE_OPTIONS: &[&str] = &["-u", "--username", "-p", "--password", "--authfile"];

/// The registry a login command logs in to (`docker login -u U -p P
/// ghcr.io` gives `ghcr.io`; without a server, Docker Hub's `docker.io`),
/// lower case, or `None` when the command is no registry login.
pub fn login_target(cmd: &Command<'_>) -> Option<String> {
    let at = |n| cmd.positional_after_options(n, LOGIN_VALUE_OPTIONS);
    let target = match (cmd.program(), at(0).unwrap_or(""), at(1).unwrap_or("")) {
        ("docker" | "podman" | "buildah" | "skopeo" | "oras", "login", _) => {
            at(1).unwrap_or("docker.io")
        }
        ("helm", "registry", "login") | ("crane", "auth", "login") => at(2)?,
        ("gcloud", "auth", "configure-docker") => at(2).unwrap_or("gcr.io"),
        ("az", "acr", "login") => "azurecr.io",
        _ => return None,
    };
    Some(target.to_ascii_lowercase())
}

/// The first registry login of a job's steps that can run, as its step and
/// a phrase.
pub fn job_login<'j, 'a>(wf: &Workflow<'_>, job: &'j Job<'a>) -> Option<(&'j Step<'a>, String)> {
    job.steps
        .iter()
        .filter(|s| crate::conditions::step_can_run(wf, job, s))
        .find_map(|s| login(s).map(|what| (s, what)))
}

/// The value of an environment variable set as plain text in `env:` of the
/// step, its job or the workflow (the innermost wins), if any.
pub fn env_value<'a>(
    wf: &Workflow<'a>,
    job: &Job<'a>,
    step: &Step<'a>,
    name: &str,
) -> Option<&'a str> {
    env_scopes(wf, job, step)
        .into_iter()
        .flatten()
        .find_map(|env: &'a Node| env.get(name))
        .and_then(Node::as_str)
}

/// Whether `env:` of the step, its job or the workflow sets `name` (to
/// anything, a secret included), matched in any case.
pub fn env_is_set(wf: &Workflow<'_>, job: &Job<'_>, step: &Step<'_>, name: &str) -> bool {
    env_scopes(wf, job, step)
        .into_iter()
        .flatten()
        .filter_map(Node::as_map)
        .flatten()
        .any(|e| e.key.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
}

/// The `env:` blocks a step sees, innermost first.
fn env_scopes<'a>(wf: &Workflow<'a>, job: &Job<'a>, step: &Step<'a>) -> [Option<&'a Node>; 3] {
    [step.env, job.node.get("env"), wf.env]
}

/// The images or registries a container publish command writes to, as far
/// as the command line (and, for ko, `KO_DOCKER_REPO`) says. Empty when
/// the destination cannot be read.
pub fn push_destinations(cmd: &Command<'_>, ko_repo: Option<&str>) -> Vec<String> {
    let sub = cmd.positional(0).unwrap_or("");
    let tags = || -> Vec<String> {
        let mut out = Vec::new();
        let mut words = cmd.words.iter();
        while let Some(w) = words.next() {
            if w == "-t" || w == "--tag" {
                out.extend(words.next().cloned());
            } else if let Some(v) = w.strip_prefix("--tag=").or_else(|| w.strip_prefix("-t=")) {
                out.push(v.to_owned());
            }
        }
        out
    };
    let found: Vec<String> = match cmd.program() {
        "ko" => {
            let repo = cmd
                .words
                .windows(2)
                .find(|w| w[0] == "--repo")
                .map(|w| w[1].clone())
                .or_else(|| {
                    cmd.words
                        .iter()
                        .find_map(|w| w.strip_prefix("--repo=").map(str::to_owned))
                });
            repo.or_else(|| ko_repo.map(str::to_owned))
                .into_iter()
                .collect()
        }
        "docker" | "podman" if sub == "push" => {
            cmd.positional(1).map(str::to_owned).into_iter().collect()
        }
        "docker" | "podman" if sub == "image" || sub == "manifest" => {
            cmd.positional(2).map(str::to_owned).into_iter().collect()
        }
        "docker" if sub == "buildx" => tags(),
        "crane" | "gcrane" if sub == "tag" => {
            cmd.positional(1).map(str::to_owned).into_iter().collect()
        }
        "crane" | "gcrane" | "skopeo" | "helm" => last_positional(cmd).into_iter().collect(),
        _ => Vec::new(),
    };
    // `ttl.sh/e2e-${{ github.run_id }}` still names its registry; `$REPO/app` does not.
    found
        .into_iter()
        .filter(|d| !d.split('/').next().unwrap_or("").contains('$'))
        .collect()
}

/// The last word that is not an option.
fn last_positional(cmd: &Command<'_>) -> Option<String> {
    cmd.words
        .iter()
        .skip(1)
        .rfind(|w| !w.starts_with('-'))
        .cloned()
}

/// Whether a container push goes only to test registries: every destination
/// the command names is ephemeral (an unreadable destination is not).
pub fn pushes_only_to_test_registries(cmd: &Command<'_>, ko_repo: Option<&str>) -> bool {
    let dests = push_destinations(cmd, ko_repo);
    !dests.is_empty() && dests.iter().all(|d| is_ephemeral(d))
}

#[cfg(test)]
mod tests {
    use super::is_ephemeral;

    #[test]
    fn test_registries_are_ephemeral_and_real_ones_are_not() {
        for yes in [
            "localhost:5000/app",
            "localhost/app:latest",
            "127.0.0.1:5001/x",
            "[::1]:5000/x",
            "ttl.sh/abc:1h",
            "kind-registry:5000/policy",
            "registry.local:5000/policy-controller",
            "ko.local",
            "kind.local/app",
            "oci://localhost:5000/charts",
        ] {
            assert!(is_ephemeral(yes), "{yes}");
        }
        for no in [
            "ghcr.io/acme/app",
            "docker.io/acme/app",
            "acme/app:1.0",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
            "oci://ghcr.io/acme/charts",
            "localhost-registry.example.com/app",
            "",
        ] {
            assert!(!is_ephemeral(no), "{no}");
        }
    }
}
