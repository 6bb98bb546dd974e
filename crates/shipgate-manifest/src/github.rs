//! The fork check: signing must never run where a fork's code could reach
//! the key. A GitHub Actions run for a pull request whose head repository
//! is not the base repository (or a `workflow_run` triggered by one) is
//! refused, and so is one whose event file cannot be read.

use std::path::PathBuf;

use serde_json::Value;

use crate::limits::MAX_EVENT_FILE_BYTES;

/// What the environment says about where the code came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Not a pull-request-like GitHub event (or not GitHub Actions).
    NotAPullRequest,
    /// A pull request from a branch of the base repository itself.
    SameRepository(String),
}

/// Signing is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForkError {
    /// The pull request comes from a fork.
    #[error(
        "refusing to sign: GITHUB_EVENT_NAME={event} is a pull request from the fork '{head}' into '{base}'; fork code must never reach the signing key"
    )]
    Fork {
        /// The event name.
        event: String,
        /// Head repository (or `<deleted>`).
        head: String,
        /// Base repository.
        base: String,
    },
    /// `GITHUB_EVENT_PATH` is not set for a pull-request event.
    #[error(
        "refusing to sign: GITHUB_EVENT_NAME={0} but GITHUB_EVENT_PATH is not set, so the pull request's origin cannot be checked"
    )]
    NoEventPath(String),
    /// The event file cannot be read or parsed.
    #[error("refusing to sign: {}: {message} (GITHUB_EVENT_NAME={event}; the pull request's origin cannot be checked)", path.display())]
    BadEventFile {
        /// The event.
        event: String,
        /// `GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn repo_name(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Checks the GitHub Actions event. `pull_request`, `pull_request_target`,
/// `pull_request_review`, `pull_request_review_comment`: head repository
/// (`pull_request.head.repo.full_name`) must equal the base repository
/// (`pull_request.base.repo.full_name`). `workflow_run`: the triggering
/// run's `head_repository` must equal `repository`. A missing, unreadable
/// or malformed event file fails closed.
pub fn check_not_fork(env: &dyn Fn(&str) -> Option<String>) -> Result<Origin, ForkError> {
    let Some(event) = env("GITHUB_EVENT_NAME").filter(|e| !e.is_empty()) else {
        return Ok(Origin::NotAPullRequest);
    };
    let (head_pointer, base_pointer) = if event.starts_with("pull_request") {
        (
            "/pull_request/head/repo/full_name",
            "/pull_request/base/repo/full_name",
        )
    } else if event == "workflow_run" {
        (
            "/workflow_run/head_repository/full_name",
            "/repository/full_name",
        )
    } else {
        return Ok(Origin::NotAPullRequest);
    };
    let path = env("GITHUB_EVENT_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| ForkError::NoEventPath(event.clone()))?;
    let bad = |message: String| ForkError::BadEventFile {
        event: event.clone(),
        path: path.clone(),
        message,
    };
    let bytes = crate::keys::read_capped(&path, MAX_EVENT_FILE_BYTES)
        .map_err(|e| bad(format!("cannot read: {e}")))?
        .ok_or_else(|| bad(format!("larger than {MAX_EVENT_FILE_BYTES} bytes")))?;
    let json: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let base = repo_name(&json, base_pointer).ok_or_else(|| bad(format!("no {base_pointer}")))?;
    // A deleted fork has a null head repository: treat it as a fork.
    let head = repo_name(&json, head_pointer).unwrap_or_else(|| "<deleted or missing>".to_string());
    if head != base {
        return Err(ForkError::Fork { event, head, base });
    }
    Ok(Origin::SameRepository(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(event: &str, payload: Option<&str>) -> Result<Origin, ForkError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        if let Some(payload) = payload {
            std::fs::write(&path, payload).unwrap();
        }
        let path = path.display().to_string();
        let event = event.to_string();
        check_not_fork(&move |name: &str| match name {
            "GITHUB_EVENT_NAME" => Some(event.clone()),
            "GITHUB_EVENT_PATH" => Some(path.clone()),
            _ => None,
        })
    }

    fn pr(head: &str, base: &str) -> String {
        format!(
            r#"{{"pull_request":{{"head":{{"repo":{{"full_name":"{head}"}}}},"base":{{"repo":{{"full_name":"{base}"}}}}}}}}"#
        )
    }

    #[test]
    fn same_repository_pull_requests_may_sign() {
        for event in ["pull_request", "pull_request_review", "pull_request_target"] {
            assert_eq!(
                check(event, Some(&pr("o/r", "o/r"))).unwrap(),
                Origin::SameRepository("o/r".into())
            );
        }
        assert_eq!(check("push", None).unwrap(), Origin::NotAPullRequest);
    }

    #[test]
    fn forks_and_unreadable_events_are_refused() {
        for event in ["pull_request", "pull_request_review", "pull_request_target"] {
            assert!(matches!(
                check(event, Some(&pr("evil/r", "o/r"))),
                Err(ForkError::Fork { .. })
            ));
        }
        let deleted =
            r#"{"pull_request":{"head":{"repo":null},"base":{"repo":{"full_name":"o/r"}}}}"#;
        assert!(matches!(
            check("pull_request", Some(deleted)),
            Err(ForkError::Fork { .. })
        ));
        assert!(matches!(
            check("pull_request", None),
            Err(ForkError::BadEventFile { .. })
        ));
        assert!(matches!(
            check("pull_request", Some("{not json")),
            Err(ForkError::BadEventFile { .. })
        ));
        assert!(matches!(
            check("pull_request", Some("{}")),
            Err(ForkError::BadEventFile { .. })
        ));
        let run = r#"{"workflow_run":{"head_repository":{"full_name":"evil/r"}},"repository":{"full_name":"o/r"}}"#;
        assert!(matches!(
            check("workflow_run", Some(run)),
            Err(ForkError::Fork { .. })
        ));
        let no_path = check_not_fork(&|n: &str| {
            (n == "GITHUB_EVENT_NAME").then(|| "pull_request".to_string())
        });
        assert!(matches!(no_path, Err(ForkError::NoEventPath(_))));
    }
}
