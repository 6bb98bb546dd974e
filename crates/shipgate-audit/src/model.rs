//! Typed, read-only views over a workflow or composite action document.
//! Every view keeps its `Route`, so rules can point at any part of it.

use crate::route::Route;
use crate::yaml::{Node, Value};

/// What kind of file is audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Workflow,
    Action,
}

/// A `permissions:` block.
#[derive(Debug, Clone)]
pub enum Permissions {
    /// `read-all` / `write-all`.
    All { write: bool, route: Route },
    /// `{}` or a map of scopes.
    Scopes { scopes: Vec<Grant>, route: Route },
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub scope: String,
    pub level: String,
    pub route: Route,
}

impl Permissions {
    fn parse(node: &Node, route: Route) -> Self {
        match node.as_str() {
            Some(s) => Permissions::All {
                write: s == "write-all",
                route,
            },
            None => {
                let scopes = node
                    .as_map()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| {
                        let scope = e.key.as_str()?;
                        Some(Grant {
                            scope: scope.to_owned(),
                            level: e.value.as_str().unwrap_or("").to_owned(),
                            route: route.key(scope),
                        })
                    })
                    .collect();
                Permissions::Scopes { scopes, route }
            }
        }
    }

    pub fn route(&self) -> &Route {
        match self {
            Permissions::All { route, .. } | Permissions::Scopes { route, .. } => route,
        }
    }

    /// The grant that gives `id-token: write`, if any (`write-all` counts).
    pub fn id_token_write(&self) -> Option<Route> {
        match self {
            Permissions::All { write: true, route } => Some(route.clone()),
            Permissions::All { .. } => None,
            Permissions::Scopes { scopes, .. } => scopes
                .iter()
                .find(|g| g.scope == "id-token" && g.level == "write")
                .map(|g| g.route.clone()),
        }
    }

    /// Every write grant (`write-all` is one).
    pub fn writes(&self) -> Vec<(String, Route)> {
        match self {
            Permissions::All { write: true, route } => {
                vec![("write-all".to_owned(), route.clone())]
            }
            Permissions::All { .. } => Vec::new(),
            Permissions::Scopes { scopes, .. } => scopes
                .iter()
                .filter(|g| g.level == "write")
                .map(|g| (g.scope.clone(), g.route.clone()))
                .collect(),
        }
    }
}

/// How a `uses:` names an action of the repository at the running commit
/// (GitHub's self-repository reference): no checkout is needed for it.
pub const SELF_REPOSITORY: &str = "$/";

/// The repository-relative path of a local action (`./a` or `$/a` gives `a`
/// with the `./` kept, so both read the same directory).
pub fn local_action_path(uses: &str) -> String {
    let uses = uses.trim();
    match uses.strip_prefix(SELF_REPOSITORY) {
        Some(rest) => format!("./{rest}"),
        None => uses.to_owned(),
    }
}

/// Whether a local action runs without the repository being checked out
/// first (`$/path`, resolved by GitHub at the running commit).
pub fn needs_no_checkout(uses: &str) -> bool {
    uses.trim().starts_with(SELF_REPOSITORY)
}

/// A `uses:` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uses {
    /// `./path` (from the checkout) or `$/path` (the self-repository
    /// reference, resolved at the running commit without a checkout): code
    /// from the repository itself, kept as written.
    Local(String),
    /// `docker://image[:tag|@digest]`.
    Docker { image: String, pinned: bool },
    /// `owner/repo[/path]@ref`.
    Repository {
        owner: String,
        repo: String,
        path: Option<String>,
        git_ref: Option<String>,
    },
}

impl Uses {
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if text.starts_with("./")
            || text.starts_with("../")
            || text == "."
            || text.starts_with(SELF_REPOSITORY)
        {
            return Uses::Local(text.to_owned());
        }
        if let Some(image) = text.strip_prefix("docker://") {
            let pinned = image
                .split_once("@sha256:")
                .is_some_and(|(_, d)| d.len() == 64 && d.chars().all(|c| c.is_ascii_hexdigit()));
            return Uses::Docker {
                image: image.to_owned(),
                pinned,
            };
        }
        let (name, git_ref) = match text.split_once('@') {
            Some((n, r)) => (n, Some(r.to_owned())),
            None => (text, None),
        };
        let mut parts = name.splitn(3, '/');
        let owner = parts.next().unwrap_or("").to_owned();
        let repo = parts.next().unwrap_or("").to_owned();
        let path = parts.next().map(str::to_owned);
        Uses::Repository {
            owner,
            repo,
            path,
            git_ref,
        }
    }

    /// `owner/repo` lower-cased (or `owner/repo/path`), for matching known actions.
    pub fn slug(&self) -> Option<String> {
        match self {
            Uses::Repository {
                owner, repo, path, ..
            } => Some(match path {
                Some(p) => format!("{owner}/{repo}/{p}").to_ascii_lowercase(),
                None => format!("{owner}/{repo}").to_ascii_lowercase(),
            }),
            _ => None,
        }
    }

    /// Whether this is `owner/repo` (case-insensitive), with any sub-path.
    pub fn is(&self, owner_repo: &str) -> bool {
        match self {
            Uses::Repository { owner, repo, .. } => {
                let (o, r) = owner_repo.split_once('/').unwrap_or((owner_repo, ""));
                owner.eq_ignore_ascii_case(o) && repo.eq_ignore_ascii_case(r)
            }
            _ => false,
        }
    }

    pub fn git_ref(&self) -> Option<&str> {
        match self {
            Uses::Repository { git_ref, .. } => git_ref.as_deref(),
            _ => None,
        }
    }

    /// Major version of a version-tag ref (`v4`, `v4.1.2`, `4.1`), if the ref is one.
    pub fn major_version(&self) -> Option<u32> {
        let r = self.git_ref()?;
        let r = r.strip_prefix('v').unwrap_or(r);
        if r.is_empty() || !r.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        r.split('.').next()?.parse().ok()
    }
}

/// Whether `s` is a full 40-hex commit SHA.
pub fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub index: usize,
    pub route: Route,
    pub node: &'a Node,
    pub uses: Option<Uses>,
    pub run: Option<&'a str>,
    pub with: Option<&'a Node>,
    pub env: Option<&'a Node>,
    pub working_directory: Option<&'a str>,
}

impl<'a> Step<'a> {
    fn parse(index: usize, node: &'a Node, route: Route) -> Self {
        Step {
            index,
            uses: node.get("uses").and_then(Node::as_str).map(Uses::parse),
            run: node.get("run").and_then(Node::as_str),
            with: node.get("with"),
            env: node.get("env"),
            working_directory: node.get("working-directory").and_then(Node::as_str),
            route,
            node,
        }
    }

    /// A `with:` input as text.
    pub fn input(&self, name: &str) -> Option<&'a str> {
        self.with?.get(name)?.as_str()
    }

    pub fn uses_action(&self, owner_repo: &str) -> bool {
        self.uses.as_ref().is_some_and(|u| u.is(owner_repo))
    }
}

#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub id: &'a str,
    pub route: Route,
    pub node: &'a Node,
    pub permissions: Option<Permissions>,
    pub environment: Option<&'a Node>,
    pub steps: Vec<Step<'a>>,
    /// A reusable-workflow call (`jobs.<id>.uses`).
    pub uses: Option<Uses>,
    pub needs: Vec<&'a str>,
    pub concurrency: Option<&'a Node>,
}

impl<'a> Job<'a> {
    fn parse(id: &'a str, node: &'a Node, route: Route) -> Self {
        let steps = node
            .get("steps")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, s)| Step::parse(i, s, route.key("steps").index(i)))
            .collect();
        Job {
            id,
            permissions: node
                .get("permissions")
                .map(|p| Permissions::parse(p, route.key("permissions"))),
            environment: node.get("environment"),
            uses: node.get("uses").and_then(Node::as_str).map(Uses::parse),
            needs: node.get("needs").map(Node::strings).unwrap_or_default(),
            concurrency: node.get("concurrency"),
            steps,
            route,
            node,
        }
    }
}

/// One trigger (`on.<event>`), with its configuration node when it has one.
#[derive(Debug, Clone)]
pub struct Trigger<'a> {
    pub event: &'a str,
    pub config: Option<&'a Node>,
    pub route: Route,
}

#[derive(Debug, Clone)]
pub struct Workflow<'a> {
    pub root: &'a Node,
    /// The key used for triggers (`on`, or `true` when a YAML 1.1 tool rewrote it).
    pub on_route: Route,
    pub triggers: Vec<Trigger<'a>>,
    pub permissions: Option<Permissions>,
    pub env: Option<&'a Node>,
    pub concurrency: Option<&'a Node>,
    pub jobs: Vec<Job<'a>>,
    pub jobs_route: Route,
}

/// Why a YAML document is not a workflow (or not an action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAWorkflow {
    pub message: String,
}

/// Keys a YAML 1.1 tool may have written for `on:` (it reads `on` as a boolean).
const ON_ALIASES: &[&str] = &["on", "true", "True", "TRUE", "On", "ON", "yes", "Yes", "y"];

impl<'a> Workflow<'a> {
    pub fn parse(root: &'a Node) -> Result<Self, NotAWorkflow> {
        if root.as_map().is_none() {
            return Err(NotAWorkflow {
                message: "the document is not a mapping, so it is not a GitHub Actions workflow"
                    .to_owned(),
            });
        }
        let Some(jobs_node) = root.get("jobs") else {
            return Err(NotAWorkflow {
                message: "no `jobs:` key: this YAML file is not a GitHub Actions workflow"
                    .to_owned(),
            });
        };
        let Some(job_entries) = jobs_node.as_map() else {
            return Err(NotAWorkflow {
                message: "`jobs:` is not a mapping of job ids to jobs".to_owned(),
            });
        };
        let on_key = ON_ALIASES
            .iter()
            .find(|k| root.get(k).is_some())
            .ok_or_else(|| NotAWorkflow {
                message: "no `on:` key: a workflow must say which events trigger it".to_owned(),
            })?;
        let on_route = Route::root().key(on_key);
        let on = root.get(on_key);
        let triggers = on.map(|n| parse_triggers(n, &on_route)).unwrap_or_default();
        let jobs_route = Route::root().key("jobs");
        let jobs = job_entries
            .iter()
            .filter_map(|e| {
                let id = e.key.as_str()?;
                e.value
                    .as_map()
                    .is_some()
                    .then(|| Job::parse(id, &e.value, jobs_route.key(id)))
            })
            .collect();
        Ok(Workflow {
            root,
            on_route,
            triggers,
            permissions: root
                .get("permissions")
                .map(|p| Permissions::parse(p, Route::root().key("permissions"))),
            env: root.get("env"),
            concurrency: root.get("concurrency"),
            jobs,
            jobs_route,
        })
    }

    pub fn trigger(&self, event: &str) -> Option<&Trigger<'a>> {
        self.triggers.iter().find(|t| t.event == event)
    }

    /// The permissions a job effectively runs with: its own, else the workflow's.
    pub fn effective_permissions<'s>(&'s self, job: &'s Job<'a>) -> Option<&'s Permissions> {
        job.permissions.as_ref().or(self.permissions.as_ref())
    }

    pub fn job(&self, id: &str) -> Option<&Job<'a>> {
        self.jobs.iter().find(|j| j.id == id)
    }
}

fn parse_triggers<'a>(on: &'a Node, route: &Route) -> Vec<Trigger<'a>> {
    match &on.value {
        Value::Scalar(s, _) => vec![Trigger {
            event: s,
            config: None,
            route: route.clone(),
        }],
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                Some(Trigger {
                    event: n.as_str()?,
                    config: None,
                    route: route.index(i),
                })
            })
            .collect(),
        Value::Map(entries, _) => entries
            .iter()
            .filter_map(|e| {
                let event = e.key.as_str()?;
                Some(Trigger {
                    event,
                    config: (!e.value.is_null()).then_some(&e.value),
                    route: route.key(event),
                })
            })
            .collect(),
    }
}

/// A composite (or other) action's `action.yml`.
#[derive(Debug, Clone)]
pub struct Action<'a> {
    pub root: &'a Node,
    pub using: Option<&'a str>,
    pub steps: Vec<Step<'a>>,
}

impl<'a> Action<'a> {
    pub fn parse(root: &'a Node) -> Result<Self, NotAWorkflow> {
        let Some(runs) = root.get("runs") else {
            return Err(NotAWorkflow {
                message: "no `runs:` key: this YAML file is not a GitHub Actions action".to_owned(),
            });
        };
        let route = Route::root().key("runs").key("steps");
        let steps = runs
            .get("steps")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, s)| Step::parse(i, s, route.index(i)))
            .collect();
        Ok(Action {
            root,
            using: runs.get("using").and_then(Node::as_str),
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::load;

    #[test]
    fn parses_uses_references() {
        assert_eq!(Uses::parse("./local"), Uses::Local("./local".into()));
        assert_eq!(
            Uses::parse("$/.github/actions/setup"),
            Uses::Local("$/.github/actions/setup".into())
        );
        assert_eq!(
            local_action_path("$/.github/actions/setup"),
            "./.github/actions/setup"
        );
        assert_eq!(local_action_path("./a"), "./a");
        assert!(needs_no_checkout("$/a") && !needs_no_checkout("./a"));
        assert!(matches!(
            Uses::parse(
                "docker://alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000"
            ),
            Uses::Docker { pinned: true, .. }
        ));
        assert!(matches!(
            Uses::parse("docker://alpine:3"),
            Uses::Docker { pinned: false, .. }
        ));
        let u = Uses::parse("actions/checkout@v4");
        assert!(u.is("actions/checkout"));
        assert_eq!(u.major_version(), Some(4));
        assert_eq!(
            Uses::parse("actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c")
                .major_version(),
            None
        );
        assert_eq!(Uses::parse("a/b@v3.1.0").major_version(), Some(3));
        let u = Uses::parse("org/repo/.github/workflows/x.yml@main");
        assert_eq!(
            u.slug().as_deref(),
            Some("org/repo/.github/workflows/x.yml")
        );
    }

    #[test]
    fn reads_triggers_in_every_shape() {
        for (text, events) in [
            ("on: push\njobs: {}\n", vec!["push"]),
            ("on: [push, release]\njobs: {}\n", vec!["push", "release"]),
            (
                "on:\n  push:\n    tags: ['v*']\n  workflow_dispatch:\njobs: {}\n",
                vec!["push", "workflow_dispatch"],
            ),
            ("true: push\njobs: {}\n", vec!["push"]),
        ] {
            let src = SourceFile::new("t.yml", text);
            let doc = load(&src).unwrap();
            let wf = Workflow::parse(&doc.root).unwrap();
            let got: Vec<&str> = wf.triggers.iter().map(|t| t.event).collect();
            assert_eq!(got, events, "{text}");
        }
    }

    #[test]
    fn refuses_documents_that_are_not_workflows() {
        for text in [
            "- a\n- b\n",
            "name: x\n",
            "on: push\njobs: [a]\n",
            "jobs: {}\n",
        ] {
            let src = SourceFile::new("t.yml", text);
            let doc = load(&src).unwrap();
            assert!(Workflow::parse(&doc.root).is_err(), "{text}");
        }
    }
}
