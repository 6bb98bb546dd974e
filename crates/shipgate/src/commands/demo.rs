//! `shipgate demo` (not implemented yet).

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  (not implemented yet)")]
pub struct Args {}

pub fn run(_args: Args) -> CmdResult {
    Err(CliError::usage("`shipgate demo` is not implemented yet"))
}
