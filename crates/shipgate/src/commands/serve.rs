//! `shipgate serve [--config gate.toml]` and `shipgate serve --dev`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::admin::load_config;
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate serve --config /etc/shipgate/gate.toml\n  shipgate serve --dev      # creates ./shipgate-dev/ on first run and serves on 127.0.0.1\n\nPrints `listening on http://ADDR` once bound. Stops gracefully on SIGTERM or ctrl-c."
)]
pub struct Args {
    /// The gate's config file.
    #[arg(
        long,
        default_value = "gate.toml",
        value_name = "FILE",
        conflicts_with = "dev"
    )]
    config: PathBuf,
    /// Run a local development gate from ./shipgate-dev/ (created on first run).
    #[arg(long)]
    dev: bool,
}

pub fn run(args: Args) -> CmdResult {
    if args.dev {
        return Err(CliError::usage(
            "`shipgate serve --dev` is not available yet",
        ));
    }
    let config = load_config(&args.config)?;
    serve(config)
}

fn serve(config: shipgate_gate::config::GateConfig) -> CmdResult {
    shipgate_gate::server::serve_blocking(config, |addr| {
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| {
        CliError::usage(e).hint("check the config's listen address, data_dir and gate_key")
    })?;
    Ok(ExitCode::SUCCESS)
}
