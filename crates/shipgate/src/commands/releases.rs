//! `shipgate releases --gate URL [--state staged|released|rejected]
//! [--package NAME] [--limit N] [--before ID]`: one page, newest first.

use std::process::ExitCode;

use shipgate_protocol::release::ReleaseState;
use shipgate_protocol::wire::ReleaseQuery;

use super::gate_ui::{client_error, connect, format_time, print_json, printable};
use crate::exit::CmdResult;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate releases --gate https://gate.example.com --state staged\n  shipgate releases --gate https://gate.example.com --package hello --limit 20\n  shipgate releases --gate https://gate.example.com --json"
)]
pub struct Args {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// Only releases in this state.
    #[arg(long, value_parser = ["staged", "released", "rejected"])]
    state: Option<String>,
    /// Only releases of this package.
    #[arg(long, value_name = "NAME")]
    package: Option<String>,
    /// At most this many releases (1 to 500; the gate's default is 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=500))]
    limit: Option<u32>,
    /// Only releases older than this id (the next page: what the previous
    /// page printed).
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(i64).range(1..))]
    before: Option<i64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    let client = connect(&args.gate)?;
    let state = args.state.as_deref().and_then(ReleaseState::parse);
    let list = client
        .list(&ReleaseQuery {
            state,
            package: args.package.as_deref(),
            before: args.before,
            limit: args.limit,
        })
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
    if let Some(next) = list.next_before {
        outln!(
            "\nmore releases follow: `shipgate releases --gate {} --before {next}`",
            args.gate
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
