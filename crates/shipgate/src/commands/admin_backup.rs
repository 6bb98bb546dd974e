//! `shipgate admin backup OUT` and `shipgate admin restore BACKUP`.

use std::path::PathBuf;
use std::process::ExitCode;

use shipgate_gate::backup::{self, BackupError, RestoreReport};

use super::admin::load_config;
use super::gate_ui::{format_time, print_json};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate admin backup /var/backups/shipgate/gate-$(date +%F).db --config /etc/shipgate/gate.toml\n\nSafe while the gate runs: the copy is one consistent snapshot of the database,\nwritten 0600 and checked with SQLite's integrity check. The keys and blobs are\nnot in it; the command lists them and where they are."
)]
pub struct BackupArgs {
    /// The file to write (must not exist).
    out: PathBuf,
    /// Print JSON (backup, other items to back up).
    #[arg(long)]
    json: bool,
    /// The gate's config file.
    #[arg(long, default_value = "gate.toml", value_name = "FILE")]
    config: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  systemctl stop shipgate-gate\n  shipgate admin restore /var/backups/shipgate/gate-2026-01-31.db --config /etc/shipgate/gate.toml\n\nRefuses while a gate serves the data directory. The replaced database is kept\nas DATA/gate.db.before-restore-TIME. Prints what the restore rolled back and\nwhat to do about it before starting the gate again."
)]
pub struct RestoreArgs {
    /// A file written by `shipgate admin backup`.
    backup: PathBuf,
    /// Print JSON (the comparison of the restored and the replaced database).
    #[arg(long)]
    json: bool,
    /// The gate's config file.
    #[arg(long, default_value = "gate.toml", value_name = "FILE")]
    config: PathBuf,
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, CliError> {
    shipgate_gate::block_on(future)
        .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))
}

fn backup_error(err: BackupError) -> CliError {
    match &err {
        BackupError::GateRunning { .. } => CliError::usage(&err),
        BackupError::NotShipgate { .. } => CliError::usage(&err)
            .hint("pass a file written by `shipgate admin backup` (the database, not a tarball)"),
        _ => CliError::usage(&err),
    }
}

pub fn backup(args: BackupArgs) -> CmdResult {
    let config = load_config(&args.config)?;
    block_on(backup::backup(&config, &args.out))?.map_err(backup_error)?;
    let others = backup::what_else(&config);
    if args.json {
        print_json(&serde_json::json!({
            "backup": args.out,
            "also_back_up": others,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "wrote {} (database, consistent copy, mode 0600)",
        args.out.display()
    );
    outln!("also back up (not in this file):");
    for item in &others {
        outln!("  {:<22} {}", item.what, item.path.display());
        outln!("  {:<22} {}", "", item.note);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: RestoreArgs) -> CmdResult {
    let config = load_config(&args.config)?;
    let report = block_on(backup::restore(&config, &args.backup))?.map_err(backup_error)?;
    if args.json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_report(&report, &args.config);
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &RestoreReport, config: &std::path::Path) {
    let restored = &report.restored;
    outln!(
        "restored the database: {} events (newest {}), log size {}",
        restored.newest_event_seq,
        if restored.newest_event_at > 0 {
            format_time(restored.newest_event_at)
        } else {
            "none".to_owned()
        },
        restored.log_size
    );
    match &report.kept_aside {
        Some(aside) => outln!("the replaced database is kept as {}", aside.display()),
        None => outln!("there was no database to replace"),
    }
    if report.replaced.is_none() {
        return;
    }
    outln!("rolled back:");
    outln!(
        "  {} events (releases staged, decided or revoked after the backup are gone)",
        report.events_rolled_back
    );
    outln!(
        "  {} used CI-token ids forgotten: such tokens could stage again until they expire",
        report.token_ids_forgotten
    );
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    outln!(
        "  burned TOTP steps of: {}",
        list(&report.totp_steps_rolled_back)
    );
    outln!(
        "  revocations of: {}",
        list(&report.revocations_rolled_back)
    );
    outln!("  lockouts of: {}", list(&report.lockouts_rolled_back));
    outln!("before starting the gate:");
    if !report.totp_steps_rolled_back.is_empty() {
        outln!("  wait at least one minute after the newest decision before starting it");
    }
    for user in &report.revocations_rolled_back {
        outln!(
            "  revoke again: shipgate admin revoke {user} --config {}",
            config.display()
        );
    }
    if report.events_rolled_back > 0 {
        outln!(
            "  the log is shorter than checkpoints clients may hold: they will report it as inconsistent; announce the restore (see docs/gate.md, backups)"
        );
    }
}
