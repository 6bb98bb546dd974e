//! `shipgate policy` (not implemented yet).

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Placeholder.
    #[command(after_help = "Example:\n  (not implemented yet)")]
    Todo,
}

pub fn run(_command: Command) -> CmdResult {
    Err(CliError::usage("`shipgate policy` is not implemented yet"))
}
