//! The `shipgate` binary: command-line parsing, output and exit codes only.
//! Every check lives in a library crate that returns typed errors; this crate
//! turns them into messages and picks the exit code (0 ok, 1 a check failed,
//! 2 usage, configuration or input error).

#[macro_use]
mod output;
mod commands;
mod exit;
mod logging;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// `shipgate --version`: the version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SHIPGATE_COMMIT"),
    ")"
);

/// Trustworthy releases, from the CI job that builds them to the user who installs them.
#[derive(Debug, Parser)]
#[command(name = "shipgate", version = VERSION, about, long_about = None)]
#[command(
    after_help = "Example:\n  shipgate keygen -s shipgate.key -p shipgate.pub\n  shipgate sign modules/hello -s shipgate.key\n  shipgate verify modules/hello -p shipgate.pub\n\nSet SHIPGATE_LOG=debug (or pass -v) to see the precise reason behind any failure on stderr."
)]
pub(crate) struct Cli {
    /// Log more detail to stderr (-v: debug, -vv: trace). SHIPGATE_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    logging::init(cli.verbose);
    // Every command that has `--json` takes it as a plain flag, so its
    // presence on the command line is what the command saw.
    let json = std::env::args_os().skip(1).any(|arg| arg == "--json");
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(err) if json && !output::wrote_stdout() => err.report_json(),
        Err(err) => err.report(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command and subcommand must show an example in `--help`.
    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let help = sub.get_after_help().map(|h| h.to_string());
                if !help.is_some_and(|h| h.contains("Example")) {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cli, "shipgate", &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example in --help: {missing:?}"
        );
    }
}
