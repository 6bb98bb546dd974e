//! `shipgate releases --gate URL [--state staged|released|rejected]`.

use std::process::ExitCode;

use shipgate_protocol::release::ReleaseState;

use super::gate_ui::{client_error, connect, format_time, print_json, printable};
use crate::exit::CmdResult;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate releases --gate https://gate.example.com --state staged\n  shipgate releases --gate https://gate.example.com --json"
)]
pub struct Args {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// Only releases in this state.
    #[arg(long, value_parser = ["staged", "released", "rejected"])]
    state: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    let client = connect(&args.gate)?;
    let state = args.state.as_deref().and_then(ReleaseState::parse);
    let list = client
        .list(state)
        .map_err(|e| client_error(e, &args.gate))?;
    if args.json {
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.releases.is_empty() {
        outln!(
            "no releases{}",
            args.state
                .map(|s| format!(" in state {s}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:>6}  {:<9} {:<24} {:<16} STAGED",
        "ID",
        "STATE",
        "PACKAGE",
        "VERSION"
    );
    for r in &list.releases {
        outln!(
            "{:>6}  {:<9} {:<24} {:<16} {}",
            r.id,
            r.state.as_str(),
            printable(&r.package),
            printable(&r.version),
            format_time(r.created_at)
        );
    }
    if list
        .releases
        .iter()
        .any(|r| r.state == ReleaseState::Staged)
    {
        outln!(
            "\nreview one with `shipgate release show ID --gate {}`",
            args.gate
        );
    }
    Ok(ExitCode::SUCCESS)
}
