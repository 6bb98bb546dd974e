//! `shipgate reject ID --gate URL --reason TEXT [--code CODE]`.

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate reject 42 --gate https://gate.example.com --reason \"built from an unreviewed commit\"\n\nCredentials as for `shipgate approve` (SHIPGATE_MAINTAINER_TOKEN or\n~/.config/shipgate/credentials.toml, and a TOTP code)."
)]
pub struct Args {
    /// The release id.
    id: String,
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// Why the release is rejected (kept with the release).
    #[arg(long)]
    reason: String,
    /// The current TOTP code (prompted for when omitted).
    #[arg(long)]
    code: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    if args.reason.trim().is_empty() {
        return Err(CliError::usage("--reason must not be empty")
            .hint("say why, e.g. --reason \"built from an unreviewed commit\""));
    }
    super::approve::decide(
        &args.id,
        &args.gate,
        args.code,
        Some(&args.reason),
        args.json,
    )
}
