//! Finding the context from GitHub Actions' environment variables.

use super::Context;

/// Not a valid context name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown context '{0}' (expected local, install, push:<branch> or pr:<base-branch>)")]
pub struct ContextError(pub String);

/// How the context was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextSource {
    /// `--context` on the command line.
    Flag,
    /// GitHub Actions variables (name, value) that gave it.
    Environment(Vec<(String, String)>),
    /// No CI variables at all: a developer's machine.
    NotInCi,
    /// In CI, but no context could be determined (fail closed); why.
    Undetermined(String),
}

/// What the environment says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The context, when one could be determined.
    pub context: Option<Context>,
    /// How.
    pub source: ContextSource,
}

fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

/// Reads `GITHUB_EVENT_NAME`, `GITHUB_REF` and `GITHUB_BASE_REF`:
/// `pull_request*` events give `pr:<GITHUB_BASE_REF>`, `push` to
/// `refs/heads/<branch>` gives `push:<branch>`. With no CI variable at all
/// (`GITHUB_EVENT_NAME`, `GITHUB_ACTIONS`, `CI`) the context is `local`;
/// anything else in CI is undetermined, and the policy fails closed.
pub fn detect_context(env: &dyn Fn(&str) -> Option<String>) -> Detected {
    let undetermined = |why: String| Detected {
        context: None,
        source: ContextSource::Undetermined(why),
    };
    let Some(event) = var(env, "GITHUB_EVENT_NAME") else {
        if let Some(actions) = var(env, "GITHUB_ACTIONS") {
            return undetermined(format!(
                "GITHUB_ACTIONS={actions} but GITHUB_EVENT_NAME is not set"
            ));
        }
        if let Some(ci) = var(env, "CI").filter(|v| v != "false" && v != "0") {
            return undetermined(format!("CI={ci} but no GitHub Actions variables are set"));
        }
        return Detected {
            context: Some(Context::Local),
            source: ContextSource::NotInCi,
        };
    };
    let found = |context, vars: Vec<(&str, String)>| Detected {
        context: Some(context),
        source: ContextSource::Environment(
            vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ),
    };
    if event.starts_with("pull_request") {
        return match var(env, "GITHUB_BASE_REF") {
            Some(base) => found(
                Context::Pr(base.clone()),
                vec![("GITHUB_EVENT_NAME", event), ("GITHUB_BASE_REF", base)],
            ),
            None => undetermined(format!(
                "GITHUB_EVENT_NAME={event} but GITHUB_BASE_REF is not set"
            )),
        };
    }
    if event == "push" {
        return match var(env, "GITHUB_REF") {
            Some(git_ref) => match git_ref
                .strip_prefix("refs/heads/")
                .filter(|b| !b.is_empty())
            {
                Some(branch) => found(
                    Context::Push(branch.to_string()),
                    vec![
                        ("GITHUB_EVENT_NAME", event),
                        ("GITHUB_REF", git_ref.clone()),
                    ],
                ),
                None => undetermined(format!(
                    "GITHUB_EVENT_NAME=push but GITHUB_REF={git_ref} is not a branch"
                )),
            },
            None => undetermined("GITHUB_EVENT_NAME=push but GITHUB_REF is not set".to_string()),
        };
    }
    undetermined(format!(
        "GITHUB_EVENT_NAME={event} is neither push nor pull_request*; pass --context"
    ))
}
