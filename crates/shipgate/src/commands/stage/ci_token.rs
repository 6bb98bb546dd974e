//! Where `shipgate stage` gets its CI OIDC tokens.
//!
//! Staging burns the token's `jti`, and CI tokens live minutes, so `stage
//! --wait` needs a second, fresh token after the approval to ask for the
//! execution token. Only two sources can mint one: GitHub Actions' token
//! endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` + `_TOKEN`, the way the first
//! one was obtained) and `--token-command`. A token given with `--token` or
//! `SHIPGATE_OIDC_TOKEN` cannot be refreshed; `--wait` then refuses to start
//! rather than fail half an hour later after the approval.

use std::process::{Command, Stdio};

use shipgate_client::client::Client;

use crate::commands::gate_ui::{client_error, printable};
use crate::exit::CliError;

/// Where a token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// `--token` (can be used once).
    Given(String),
    /// `SHIPGATE_OIDC_TOKEN` (can be used once).
    Env(String),
    /// `--token-command CMD`: run with `sh -c`, prints a fresh token.
    Command(String),
    /// The GitHub Actions token endpoint.
    GitHubActions {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: String,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn github_actions() -> Option<TokenSource> {
    match (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        (Some(url), Some(request_token)) => Some(TokenSource::GitHubActions { url, request_token }),
        _ => None,
    }
}

/// The source of the staging token: `--token`, else `SHIPGATE_OIDC_TOKEN`,
/// else `--token-command`, else GitHub Actions.
pub fn first(flag: Option<String>, command: Option<&str>) -> Result<TokenSource, CliError> {
    if let Some(token) = flag.filter(|t| !t.trim().is_empty()) {
        return Ok(TokenSource::Given(token.trim().to_owned()));
    }
    if let Some(token) = env("SHIPGATE_OIDC_TOKEN") {
        return Ok(TokenSource::Env(token.trim().to_owned()));
    }
    if let Some(command) = command {
        return Ok(TokenSource::Command(command.to_owned()));
    }
    github_actions().ok_or_else(|| {
        CliError::usage("no CI token").hint(
            "pass --token or --token-command, set SHIPGATE_OIDC_TOKEN, or run inside GitHub Actions with `permissions: id-token: write`",
        )
    })
}

/// The source of the fresh token `--wait` needs after the approval:
/// `--token-command`, else GitHub Actions.
pub fn fresh(command: Option<&str>) -> Result<TokenSource, CliError> {
    if let Some(command) = command {
        return Ok(TokenSource::Command(command.to_owned()));
    }
    github_actions().ok_or_else(|| {
        CliError::usage(
            "--wait needs a fresh CI token after the approval (the staging token is used up), and none can be minted here",
        )
        .hint("inside GitHub Actions give the job `permissions: id-token: write`; elsewhere pass --token-command CMD, a command that prints a fresh CI token")
    })
}

/// The audience this client mints CI tokens for: `--audience` /
/// `SHIPGATE_AUDIENCE`, else `shipgate:` + the gate URL (see
/// [`shipgate_protocol::audience`]).
pub fn pinned_audience(flag: Option<&str>, gate: &str) -> Result<String, CliError> {
    match flag {
        Some(audience) if audience.trim().is_empty() || audience.trim() != audience => {
            Err(CliError::usage(format!(
                "--audience {audience:?}: must be non-empty, without surrounding spaces"
            )))
        }
        Some(audience) => Ok(audience.to_owned()),
        None => Ok(shipgate_protocol::audience::default_for(gate)),
    }
}

/// Gets a token from `source`. A token minted here (GitHub Actions) is for
/// `audience` only: when the gate announces another one, nothing is minted,
/// so a wrong or hostile `--gate` cannot obtain a token meant for another
/// service.
pub fn obtain(
    source: &TokenSource,
    client: &Client,
    gate: &str,
    audience: &str,
) -> Result<String, CliError> {
    match source {
        TokenSource::Given(token) | TokenSource::Env(token) => Ok(token.clone()),
        TokenSource::Command(command) => run_command(command),
        TokenSource::GitHubActions { url, request_token } => {
            let info = client.info().map_err(|e| client_error(e, gate))?;
            if info.audience != audience {
                return Err(CliError::usage(format!(
                    "the gate at {gate} asks for CI tokens with audience {}, but this client mints them only for {audience}; no token was requested",
                    printable(&info.audience)
                ))
                .hint(format!(
                    "if {gate} is the gate you meant and its operator confirms that audience, pass --audience (or set SHIPGATE_AUDIENCE) to it; a gate should use `audience = \"{}\"` in gate.toml",
                    shipgate_protocol::audience::default_for(gate)
                )));
            }
            tracing::debug!(audience, "requesting a GitHub Actions OIDC token");
            client
                .github_actions_token(url, request_token, audience)
                .map(|t| t.trim().to_owned())
                .map_err(|e| {
                    CliError::usage(format!("cannot get a GitHub Actions OIDC token: {e}"))
                        .hint("the job needs `permissions: id-token: write`")
                })
        }
    }
}

/// Runs `sh -c COMMAND`; its stdout (trimmed) is the token. Its stderr is
/// passed through so the user sees why it failed.
fn run_command(command: &str) -> Result<String, CliError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| CliError::usage(format!("--token-command: cannot run `sh`: {e}")))?;
    if !output.status.success() {
        let code = output
            .status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| c.to_string());
        return Err(
            CliError::usage(format!("--token-command exited with {code}"))
                .hint("run the command by hand: it must print one CI token on stdout"),
        );
    }
    let token = String::from_utf8(output.stdout)
        .map_err(|_| CliError::usage("--token-command printed something that is not UTF-8"))?;
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(CliError::usage(
            "--token-command must print exactly one token on stdout",
        ));
    }
    Ok(token.to_owned())
}
