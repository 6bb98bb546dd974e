//! `shipgate release show ID --gate URL`: everything a reviewer needs.

use std::process::ExitCode;

use shipgate_protocol::release::ReleaseState;
use shipgate_protocol::wire::ReleaseView;

use super::gate_ui::{client_error, connect, format_size, format_time, print_json, printable};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show a release: files, digests, provenance, approvals and the diff
    /// against the previous released version.
    #[command(
        after_help = "Example:\n  shipgate release show 42 --gate https://gate.example.com\n  shipgate release show 42 --gate https://gate.example.com --json"
    )]
    Show(ShowArgs),
    /// Download the files of a release as staged (maintainers of its package
    /// only), each checked against the SHA-256 announced at staging.
    #[command(
        after_help = "Example:\n  export SHIPGATE_MAINTAINER_TOKEN=sgm_alice_...\n  shipgate release download 42 --gate https://gate.example.com --out review/"
    )]
    Download(super::release_download::Args),
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The release id (from `shipgate stage` or `shipgate releases`).
    id: String,
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Parses a release id argument.
pub fn parse_id(text: &str) -> Result<i64, CliError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            CliError::usage(format!("release id {text:?} is not a positive integer"))
                .hint("list releases with `shipgate releases --gate URL`")
        })
}

pub fn run(command: Command) -> CmdResult {
    let args = match command {
        Command::Show(args) => args,
        Command::Download(args) => return super::release_download::run(args),
    };
    let id = parse_id(&args.id)?;
    let client = connect(&args.gate)?;
    let view = client.show(id).map_err(|e| client_error(e, &args.gate))?;
    if args.json {
        print_json(&view)?;
    } else {
        print_view(&view, &args.gate);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_view(view: &ReleaseView, gate: &str) {
    let s = &view.summary;
    outln!(
        "release {}: {} {} ({})",
        s.id,
        printable(&s.package),
        printable(&s.version),
        s.state.as_str()
    );
    outln!("staged      {}", format_time(s.created_at));
    if let Some(at) = s.decided_at {
        outln!("{:<11} {}", s.state.as_str(), format_time(at));
    }
    if let Some(reason) = &view.reject_reason {
        outln!("reason      {}", printable(reason));
    }
    let p = &view.provenance;
    outln!("built by");
    outln!("  issuer      {}", printable(&p.issuer));
    outln!("  subject     {}", printable(&p.subject));
    match &p.repository_owner_id {
        Some(owner) => outln!(
            "  repository  {} (owner id {})",
            printable(&p.repository),
            printable(owner)
        ),
        None => outln!("  repository  {}", printable(&p.repository)),
    }
    outln!("  workflow    {}", printable(&p.workflow));
    outln!("  ref         {}", printable(&p.git_ref));
    outln!("  commit      {}", printable(&p.commit_sha));
    outln!("  run         {}", printable(&p.run_id));
    if let Some(env) = &p.environment {
        outln!("  environment {}", printable(env));
    }
    if let Some(event) = &p.event_name {
        outln!("  event       {}", printable(event));
    }
    let total: u64 = view.files.iter().map(|f| f.size).sum();
    outln!("files ({}, {})", view.files.len(), format_size(total));
    for f in &view.files {
        outln!(
            "  {}  {:>10}  {}",
            printable(&f.sha256),
            format_size(f.size),
            printable(&f.path)
        );
    }
    let d = &view.diff;
    match &d.previous_version {
        None => outln!("changes: first release of {}", printable(&s.package)),
        Some(prev) => {
            outln!("changes since {}", printable(prev));
            for f in &d.added {
                outln!("  + {}  ({})", printable(&f.path), format_size(f.size));
            }
            for f in &d.removed {
                outln!("  - {}  ({})", printable(&f.path), format_size(f.size));
            }
            for c in &d.changed {
                outln!(
                    "  ~ {}  {} -> {} ({:+} bytes)",
                    printable(&c.path),
                    format_size(c.old_size),
                    format_size(c.new_size),
                    c.size_delta
                );
            }
            outln!("  {} unchanged", d.unchanged);
        }
    }
    super::release_publishing::print(view);
    let names: Vec<String> = view
        .approvals
        .iter()
        .map(|a| {
            format!(
                "{} ({})",
                printable(&a.maintainer),
                format_time(a.approved_at)
            )
        })
        .collect();
    outln!(
        "approvals {} of {}{}{}",
        view.approvals.len(),
        view.quorum,
        if names.is_empty() { "" } else { ": " },
        names.join(", ")
    );
    if s.state == ReleaseState::Staged {
        outln!(
            "next: `shipgate approve {id} --gate {gate}` or `shipgate reject {id} --gate {gate} --reason TEXT`",
            id = s.id
        );
    }
}
