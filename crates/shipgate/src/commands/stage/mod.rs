//! `shipgate stage --gate URL --package NAME --version V FILE... [--token T]
//! [--wait [--timeout 30m]] [--token-command CMD] [--json]`: CI uploads a
//! release for review. Staging never publishes. With `--wait` the command
//! then waits for the maintainers' decision and, once the release is
//! released, prints the gate's execution token for it on stdout.

mod ci_token;
mod countdown;
mod until_published;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use shipgate_client::client::Client;
use shipgate_client::wait::{WaitOutcome, wait_for_decision};
use shipgate_protocol::wire::{ExecutionTokenResponse, ReleaseView, StageResponse};

use super::gate_ui::{
    Bar, ci_client_error, client_error, connect, format_size, print_json, printable,
};
use crate::exit::{CliError, CmdResult, check_failed};
use countdown::{Countdown, format_remaining};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  # in a GitHub Actions job with `permissions: id-token: write`:
  shipgate stage --gate https://gate.example.com --package hello --version 1.2.0 dist/hello-1.2.0.tar.gz
  # stage, wait up to 30 minutes for the maintainers, keep the execution token:
  TOKEN=$(shipgate stage --wait --timeout 30m --gate https://gate.example.com --package hello --version 1.2.0 dist/*)
  # elsewhere, with a command that prints a fresh CI token each time it runs:
  shipgate stage --wait --token-command ./print-ci-token.sh --gate http://127.0.0.1:8080 --package hello --version 1.2.0 hello.tar.gz

The CI token comes from --token, else SHIPGATE_OIDC_TOKEN, else --token-command, else
(inside GitHub Actions) ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN for
the audience shipgate:<the --gate URL> (or --audience / SHIPGATE_AUDIENCE); when the gate
announces another audience in /v1/info nothing is minted (exit 2). --wait needs a second, fresh token after the
approval (staging uses the first one up): from --token-command, else from GitHub Actions.

With --wait, stdout carries only the execution token (or, with --json, one JSON object);
everything else goes to stderr. Exit codes: 0 staged (with --wait: released, token
printed); 1 the gate refused, or (with --wait) the release was rejected, the wait timed
out, or the execution token was refused; 2 usage error or gate unreachable.")]
pub struct Args {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// The package name (as configured on the gate).
    #[arg(long)]
    package: String,
    /// The version to stage.
    #[arg(long)]
    version: String,
    /// The files to stage (staged under their base names).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The audience of CI tokens minted here (GitHub Actions); refused when the gate announces another [default: shipgate:<the --gate URL>].
    #[arg(long, env = "SHIPGATE_AUDIENCE", value_name = "AUD")]
    audience: Option<String>,
    /// The CI OIDC token (prefer SHIPGATE_OIDC_TOKEN: arguments are visible to other processes).
    #[arg(long)]
    token: Option<String>,
    /// A shell command that prints a fresh CI OIDC token (run with `sh -c`).
    #[arg(long, value_name = "CMD")]
    token_command: Option<String>,
    /// After staging, wait for the maintainers' decision; once released, print the execution token.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits for the decision (e.g. 90s, 30m, 2h).
    #[arg(
        long,
        default_value = "30m",
        value_name = "DURATION",
        requires = "wait"
    )]
    timeout: String,
    /// What --wait waits for: `released` (the maintainers' decision) or
    /// `published` (also every registry target the gate publishes to).
    #[arg(long, value_enum, default_value = "released", requires = "wait")]
    until: until_published::Until,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The longest wait accepted: a GitHub Actions job ends after 6 hours.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

pub fn run(args: Args) -> CmdResult {
    for (kind, check) in [
        ("package", shipgate_protocol::names::package(&args.package)),
        ("version", shipgate_protocol::names::version(&args.version)),
    ] {
        check.map_err(|e| CliError::usage(e).hint(format!("check --{kind}")))?;
    }
    for file in &args.files {
        if !file.is_file() {
            return Err(CliError::usage(format!(
                "{}: not a readable file",
                file.display()
            )));
        }
        // The gate would refuse the name only after spending the CI token.
        if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
            shipgate_protocol::names::file(name).map_err(|e| {
                CliError::usage(e).hint(format!(
                    "rename the file: staged names use ASCII letters, digits and {} only",
                    shipgate_protocol::names::FILE_PUNCTUATION
                ))
            })?;
        }
    }
    let timeout = shipgate_oidc::parse_duration(&args.timeout)
        .ok()
        .filter(|t| !t.is_zero() && *t <= MAX_WAIT)
        .ok_or_else(|| {
            CliError::usage(format!(
                "--timeout {:?}: expected a duration from 1s to 6h such as 90s, 30m or 2h",
                args.timeout
            ))
        })?;
    let client = connect(&args.gate)?;
    let first = ci_token::first(args.token.clone(), args.token_command.as_deref())?;
    // Known before staging: a wait that could never end in a token must not start.
    let fresh = if args.wait {
        Some(ci_token::fresh(args.token_command.as_deref())?)
    } else {
        None
    };
    let audience = ci_token::pinned_audience(args.audience.as_deref(), &args.gate)?;
    let token = ci_token::obtain(&first, &client, &args.gate, &audience)?;
    let progress = Arc::new(Bar::new());
    let staged = client
        .stage(&args.package, &args.version, &args.files, &token, progress)
        .map_err(|e| ci_client_error(e, &args.gate))?;
    let Some(fresh) = fresh else {
        if args.json {
            print_json(&staged)?;
        } else {
            print_staged(&staged, &args.gate, false);
        }
        return Ok(ExitCode::SUCCESS);
    };
    print_staged(&staged, &args.gate, true);
    wait_and_get_token(&args, &client, &staged, &fresh, timeout)
}

/// The staging summary: on stdout normally, on stderr with --wait (stdout
/// is then the token's).
fn print_staged(staged: &StageResponse, gate: &str, to_stderr: bool) {
    let total: u64 = staged.files.iter().map(|f| f.size).sum();
    let mut lines = vec![format!(
        "staged release {}: {} {} ({} file(s), {})",
        staged.id,
        printable(&staged.package),
        printable(&staged.version),
        staged.files.len(),
        format_size(total)
    )];
    for f in &staged.files {
        lines.push(format!(
            "  {}  {}",
            printable(&f.sha256),
            printable(&f.path)
        ));
    }
    lines.push(format!(
        "review it with `shipgate release show {} --gate {gate}`; a maintainer approves with `shipgate approve {} --gate {gate}`",
        staged.id, staged.id
    ));
    for line in lines {
        if to_stderr {
            errln!("{line}");
        } else {
            outln!("{line}");
        }
    }
}

fn wait_and_get_token(
    args: &Args,
    client: &Client,
    staged: &StageResponse,
    fresh: &ci_token::TokenSource,
    timeout: std::time::Duration,
) -> CmdResult {
    let what = format!(
        "release {} ({} {})",
        staged.id,
        printable(&staged.package),
        printable(&staged.version)
    );
    let mut countdown = Countdown::new(what.clone());
    let outcome = wait_for_decision(client, staged.id, timeout, &mut countdown);
    countdown.finish();
    let outcome = outcome.map_err(|e| client_error(e, &args.gate))?;
    let view = match outcome {
        WaitOutcome::Released(view) => view,
        WaitOutcome::Rejected(view) => return rejected(args, &what, &view),
        WaitOutcome::TimedOut(last) => return timed_out(args, &what, staged, last, timeout),
    };
    let approvers: Vec<String> = view
        .approvals
        .iter()
        .map(|a| printable(&a.maintainer))
        .collect();
    errln!("{what} released (approved by {})", approvers.join(", "));
    if args.until == until_published::Until::Published {
        until_published::wait(client, staged.id, timeout, &args.gate)?;
    }
    let audience = ci_token::pinned_audience(args.audience.as_deref(), &args.gate)?;
    let ci_token = ci_token::obtain(fresh, client, &args.gate, &audience)?;
    let issued = client
        .execution_token(staged.id, &ci_token)
        .map_err(|e| {
            let refused = e.is_refusal();
            let err = client_error(e, &args.gate);
            if refused {
                err.hint("the execution token goes only to the CI run that staged the release, with a fresh token for the same trusted-publisher binding")
            } else {
                err
            }
        })?;
    let left = issued
        .expires_at
        .saturating_sub(u64::try_from(shipgate_gate::unix_now()).unwrap_or(0));
    errln!(
        "execution token for {what}: audience {}, digest {}, expires in {}",
        printable(&issued.audience),
        printable(&issued.digest),
        format_remaining(std::time::Duration::from_secs(left))
    );
    errln!(
        "check it with `shipgate oidc verify --issuer {} --audience {} --expect digest={} --token \"$TOKEN\"` (TOKEN holds what this command printed on stdout)",
        printable(&issued.issuer),
        printable(&issued.audience),
        printable(&issued.digest)
    );
    if args.json {
        print_json(&WaitJson::released(staged, &view, &issued))?;
    } else {
        rawln!("{}", issued.token);
    }
    Ok(ExitCode::SUCCESS)
}

fn rejected(args: &Args, what: &str, view: &ReleaseView) -> CmdResult {
    let reason = view.reject_reason.as_deref().unwrap_or("(no reason given)");
    if args.json {
        print_json(&WaitJson::ended(view.summary.id, "rejected", Some(reason)))?;
    }
    errln!("error: {what} was rejected: {}", printable(reason));
    errln!(
        "hint: fix what the reason says and stage a new version (a rejected version may also be staged again)"
    );
    Ok(check_failed())
}

fn timed_out(
    args: &Args,
    what: &str,
    staged: &StageResponse,
    last: Option<ReleaseView>,
    timeout: std::time::Duration,
) -> CmdResult {
    if args.json {
        print_json(&WaitJson::ended(staged.id, "timed_out", None))?;
    }
    let approvals = last.map_or_else(String::new, |v| {
        format!(" ({} of {} approval(s))", v.approvals.len(), v.quorum)
    });
    errln!(
        "error: no decision on {what} within {}{approvals}; it stays staged",
        format_remaining(timeout)
    );
    errln!(
        "hint: a maintainer can still approve it (`shipgate approve {} --gate {}`); the execution token goes only to the run that staged it, so re-run this job or stage a new version",
        staged.id,
        args.gate
    );
    Ok(check_failed())
}

/// What `stage --wait --json` prints.
#[derive(Debug, serde::Serialize)]
struct WaitJson<'a> {
    id: i64,
    /// `released`, `rejected` or `timed_out`.
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    staged: Option<&'a StageResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_by: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_token: Option<&'a ExecutionTokenResponse>,
}

impl<'a> WaitJson<'a> {
    fn released(
        staged: &'a StageResponse,
        view: &'a ReleaseView,
        issued: &'a ExecutionTokenResponse,
    ) -> Self {
        Self {
            id: staged.id,
            outcome: "released",
            reject_reason: None,
            staged: Some(staged),
            approved_by: Some(
                view.approvals
                    .iter()
                    .map(|a| a.maintainer.as_str())
                    .collect(),
            ),
            execution_token: Some(issued),
        }
    }

    fn ended(id: i64, outcome: &'a str, reject_reason: Option<&'a str>) -> Self {
        Self {
            id,
            outcome,
            reject_reason,
            staged: None,
            approved_by: None,
            execution_token: None,
        }
    }
}
