//! `shipgate admin migrate --to-database postgres://...`.

use std::path::PathBuf;
use std::process::ExitCode;

use shipgate_gate::migrate::{self, MigrateError};

use super::admin::load_config;
use super::gate_ui::print_json;
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  systemctl stop shipgate-gate\n  PGPASSWORD=... shipgate admin migrate --to-database postgres://shipgate@db.internal/shipgate --config /etc/shipgate/gate.toml\n  PGPASSWORD=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... shipgate admin migrate \\\n      --to-database postgres://shipgate@db.internal/shipgate --to-blobs s3://releases/gate\n\nCopies the embedded database of a stopped gate into an empty PostgreSQL\ndatabase in one transaction, then verifies it: every table row for row, the\nsame log size and root, and the root recomputed from the copied leaves. The\nembedded database is left as it was. Then set `database` in gate.toml."
)]
pub struct MigrateArgs {
    /// The PostgreSQL database to copy into (must be empty; the password may
    /// come from PGPASSWORD or ~/.pgpass instead of the URL).
    #[arg(long, value_name = "URL")]
    to_database: String,
    /// Also copy every blob the database references into this bucket
    /// (`s3://BUCKET/PREFIX`, reached as `[blobs_s3]` in gate.toml or the
    /// AWS_* variables say); each blob is hashed on the way.
    #[arg(long, value_name = "S3_URL")]
    to_blobs: Option<String>,
    /// Print JSON (rows per table, log size and root).
    #[arg(long)]
    json: bool,
    /// The gate's config file.
    #[arg(long, default_value = "gate.toml", value_name = "FILE")]
    config: PathBuf,
}

pub fn migrate(args: MigrateArgs) -> CmdResult {
    let config = load_config(&args.config)?;
    let report = shipgate_gate::block_on(migrate::migrate(
        &config,
        &args.to_database,
        args.to_blobs.as_deref(),
    ))
        .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))?
        .map_err(|err| match &err {
            MigrateError::Lock(_) => CliError::usage(&err),
            MigrateError::BadTarget(_) => {
                CliError::usage(&err).hint("pass --to-database postgres://USER@HOST:PORT/DATABASE")
            }
            MigrateError::Blobs(_) => CliError::check(&err).hint(
                "the database copy is complete; fix the blob store and run the same command with an empty target database again (blobs already copied are checked, not copied twice)",
            ),
            _ => CliError::usage(&err),
        })?;
    if args.json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("copied into {} and verified:", report.database);
    for (table, rows) in &report.rows {
        outln!("  {table:<20} {rows} rows");
    }
    outln!(
        "  log                  size {}, root {}",
        report.log_size,
        report.log_root
    );
    match &report.blobs {
        Some(blobs) => outln!(
            "  blobs                {} copied ({} bytes), {} already there, all hashed, into {}",
            blobs.copied,
            blobs.bytes,
            blobs.already_present,
            blobs.target
        ),
        None => outln!(
            "the blobs ({} referenced) stay in the blob store",
            report.referenced_blobs
        ),
    }
    outln!(
        "next: set `database = \"{}\"` in {} and start the gate",
        report.database,
        args.config.display()
    );
    Ok(ExitCode::SUCCESS)
}
