//! `shipgate man --out DIR`: one roff manual page per command and subcommand
//! (`shipgate.1`, `shipgate-stage.1`, `shipgate-admin-enroll.1`, ...).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  shipgate man --out man/ && man -l man/shipgate-stage.1
  sudo shipgate man --out /usr/local/share/man/man1 && man shipgate-fetch

Prints the path of each page it writes.")]
pub struct Args {
    /// Directory to write the pages to (created if missing; existing pages are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args) -> CmdResult {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", args.out.display())))?;
    let mut cmd = crate::Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its full name (`shipgate-admin-enroll`), which
    // becomes the page's title and file name.
    cmd.build();
    write_pages(cmd, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

fn write_pages(cmd: clap::Command, out: &Path) -> Result<(), CliError> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), out)?;
    }
    let page = clap_mangen::Man::new(cmd);
    let path = out.join(page.get_filename());
    let mut roff = Vec::new();
    page.render(&mut roff)
        .map_err(|e| CliError::usage(format!("cannot render {}: {e}", path.display())))?;
    std::fs::write(&path, roff)
        .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
    outln!("{}", path.display());
    Ok(())
}
