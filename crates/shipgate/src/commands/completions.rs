//! `shipgate completions SHELL`: the shell completion script, on stdout.

use std::process::ExitCode;

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::exit::{CliError, CmdResult};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  shipgate completions bash > ~/.local/share/bash-completion/completions/shipgate
  shipgate completions zsh > \"${fpath[1]}/_shipgate\"
  shipgate completions fish > ~/.config/fish/completions/shipgate.fish
  shipgate completions powershell >> $PROFILE")]
pub struct Args {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: ShellArg,
}

pub fn run(args: Args) -> CmdResult {
    let shell = match args.shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
    };
    let mut cmd = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "shipgate", &mut script);
    use std::io::Write as _;
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| CliError::usage(format!("cannot write the completion script: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
