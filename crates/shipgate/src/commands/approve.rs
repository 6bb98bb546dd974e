//! `shipgate approve ID --gate URL [--code CODE]`: approve a staged release
//! with the maintainer token and a TOTP code.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use shipgate_client::user_config;
use shipgate_protocol::release::ReleaseState;
use shipgate_protocol::wire::ReleaseView;

use super::gate_ui::{client_error, connect, format_size, print_json, printable};
use super::release::parse_id;
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  export SHIPGATE_MAINTAINER_TOKEN=sgm_alice_...\n  shipgate approve 42 --gate https://gate.example.com          # prompts for the TOTP code\n  shipgate approve 42 --gate https://gate.example.com --code 12345678\n\nThe maintainer token comes from SHIPGATE_MAINTAINER_TOKEN or from\n~/.config/shipgate/credentials.toml (mode 0600):\n  [[gate]]\n  url = \"https://gate.example.com\"\n  maintainer_token = \"sgm_alice_...\""
)]
pub struct Args {
    /// The release id.
    id: String,
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// The current TOTP code (prompted for when omitted).
    #[arg(long)]
    code: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    decide(&args.id, &args.gate, args.code, None, args.json)
}

/// Shared by `approve` and `reject`.
pub fn decide(
    id: &str,
    gate: &str,
    code: Option<String>,
    reason: Option<&str>,
    json: bool,
) -> CmdResult {
    let id = parse_id(id)?;
    let code = code.map(checked_code).transpose()?;
    let client = connect(gate)?;
    let token = maintainer_token(gate)?;
    // Say what is being decided before a code is spent on it, so the human
    // at the prompt (or the log of a script) sees the package, version and
    // provenance the decision applies to.
    let view = client.show(id).map_err(|e| client_error(e, gate))?;
    errln!(
        "{}",
        decision_summary(
            &view,
            client.base_url(),
            if reason.is_some() {
                "rejecting"
            } else {
                "approving"
            }
        )
    );
    let code = match code {
        Some(code) => code,
        None => checked_code(prompt_code()?)?,
    };
    let answer = client
        .decide(id, &token, code.trim(), reason)
        .map_err(|e| client_error(e, gate))?;
    if json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    match answer.state {
        ReleaseState::Staged => outln!(
            "approved release {id}: {} of {} approvals; it is released when the quorum is met",
            answer.approvals,
            answer.quorum
        ),
        ReleaseState::Released => {
            outln!("approved release {id}: quorum met, the gate signed and released it");
            if let Some(digest) = &answer.manifest_sha256 {
                outln!("manifest sha256 {digest}");
            }
        }
        ReleaseState::Rejected => outln!("rejected release {id}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn maintainer_token(gate: &str) -> Result<String, CliError> {
    if let Some(token) = std::env::var("SHIPGATE_MAINTAINER_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(token.trim().to_owned());
    }
    let dir = user_config::config_dir().map_err(CliError::usage)?;
    match user_config::maintainer_token(&dir, gate) {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(CliError::usage("no maintainer token").hint(format!(
            "set SHIPGATE_MAINTAINER_TOKEN, or add [[gate]] url = \"{gate}\" and maintainer_token to {} (mode 0600)",
            dir.join(user_config::CREDENTIALS_FILE).display()
        ))),
        Err(err @ user_config::UserConfigError::TooOpen { .. }) => {
            Err(CliError::usage(err).hint("run `chmod 600` on it"))
        }
        Err(err) => Err(CliError::usage(err)),
    }
}

fn prompt_code() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        err!("TOTP code: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read the TOTP code: {e}")))?;
    let code = line.trim().to_owned();
    if code.is_empty() {
        return Err(CliError::usage("no TOTP code given")
            .hint("type the 8-digit code from your authenticator app, or pass --code"));
    }
    Ok(code)
}

/// A few lines naming what an approval or rejection applies to.
fn decision_summary(view: &ReleaseView, gate: &str, verb: &str) -> String {
    let release = &view.summary;
    let origin = &view.provenance;
    let bytes: u64 = view.files.iter().map(|f| f.size).sum();
    let changes = match &view.diff.previous_version {
        Some(previous) => format!(
            "since {}: {} added, {} removed, {} changed",
            printable(previous),
            view.diff.added.len(),
            view.diff.removed.len(),
            view.diff.changed.len()
        ),
        None => format!("first release of {}", printable(&release.package)),
    };
    format!(
        "{verb} release {}: {} {} ({}), {} approval(s) of {}\n  built by {} at {} (commit {}, run {})\n  {} file(s), {}; {changes}\n  full review: shipgate release show {} --gate {gate}",
        release.id,
        printable(&release.package),
        printable(&release.version),
        release.state.as_str(),
        view.approvals.len(),
        view.quorum,
        printable(&origin.repository),
        printable(&origin.git_ref),
        printable(&origin.commit_sha),
        printable(&origin.run_id),
        view.files.len(),
        format_size(bytes),
        release.id,
    )
}

/// A code the gate could accept: exactly the TOTP digits, nothing else.
fn checked_code(code: String) -> Result<String, CliError> {
    let digits = usize::from(shipgate_gate::credentials::TOTP_DIGITS);
    let code = code.trim().to_owned();
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::usage(format!("the TOTP code must be {digits} digits")).hint(
            "a 6-digit code means the authenticator entry predates 8-digit codes: ask the gate operator to re-enrol you (`shipgate admin revoke`, then `admin enroll`)",
        ));
    }
    Ok(code)
}
