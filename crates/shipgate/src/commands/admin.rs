//! `shipgate admin enroll|unlock|revoke`: local administration on the gate's
//! config and data directory. There is no HTTP route for any of it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shipgate_gate::admin::{self, AdminError};
use shipgate_gate::config::GateConfig;
use shipgate_gate::storage::StorageError;

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Enrol a maintainer: prints their maintainer token and TOTP secret (once).
    #[command(
        after_help = "Example:\n  shipgate admin enroll alice --package hello --config /etc/shipgate/gate.toml\n\nThe user must be listed in `maintainers` of each package in gate.toml.\nHand the printed token and QR code to the maintainer over a private channel;\nthe gate keeps only a hash of the token."
    )]
    Enroll {
        /// The user name (as listed in gate.toml).
        user: String,
        /// A package the user may approve (repeat for several).
        #[arg(long = "package", value_name = "NAME", required = true)]
        packages: Vec<String>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Unlock a maintainer locked after 5 wrong TOTP codes in 15 minutes.
    #[command(after_help = "Example:\n  shipgate admin unlock alice --config gate.toml")]
    Unlock {
        /// The user name.
        user: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Revoke a maintainer: their token stops working and their approvals of
    /// still-staged releases are withdrawn.
    #[command(after_help = "Example:\n  shipgate admin revoke alice --config gate.toml")]
    Revoke {
        /// The user name.
        user: String,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The gate's config file.
    #[arg(long, default_value = "gate.toml", value_name = "FILE")]
    config: PathBuf,
}

/// Loads a gate config, mapping errors to exit 2 with a hint.
pub fn load_config(path: &Path) -> Result<GateConfig, CliError> {
    GateConfig::load(path).map_err(|e| {
        CliError::usage(e)
            .hint("see the README section \"The release gate\" for the gate.toml format")
    })
}

fn admin_error(err: AdminError, config: &Path) -> CliError {
    match &err {
        AdminError::NotListed { user, package } => CliError::usage(&err).hint(format!(
            "add {user:?} to `maintainers` of [[package]] {package:?} in {}",
            config.display()
        )),
        AdminError::Storage(StorageError::AlreadyEnrolled(user)) => CliError::usage(&err).hint(
            format!("to issue new credentials, run `shipgate admin revoke {user}` first, then enroll again"),
        ),
        AdminError::Storage(StorageError::NoSuchMaintainer(_)) => CliError::usage(&err),
        AdminError::Storage(_) | AdminError::Credential(_) => CliError::usage(&err)
            .hint("check that the data directory in the config is writable"),
        _ => CliError::usage(&err),
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, CliError> {
    shipgate_gate::block_on(future)
        .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))
}

pub fn run(command: Command) -> CmdResult {
    let now = shipgate_gate::unix_now();
    match command {
        Command::Enroll {
            user,
            packages,
            config,
        } => {
            let gate = load_config(&config.config)?;
            let creds = block_on(admin::enroll(&gate, &user, &packages, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            println!("enrolled {user} for {}", packages.join(", "));
            println!();
            println!("maintainer token (shown once; the gate stores only its hash):");
            println!("  {}", creds.token);
            println!();
            println!("TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s):");
            println!("  {}", creds.totp_secret);
            println!("  {}", creds.otpauth_uri);
            if let Some(qr) = admin::terminal_qr(&creds.otpauth_uri) {
                println!();
                println!("{qr}");
            }
            println!(
                "the maintainer stores the token in SHIPGATE_MAINTAINER_TOKEN or ~/.config/shipgate/credentials.toml (mode 0600),"
            );
            println!(
                "adds the secret to an authenticator app, and approves with `shipgate approve ID --gate {}`",
                gate.public_url
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Unlock { user, config } => {
            let gate = load_config(&config.config)?;
            block_on(admin::unlock(&gate, &user, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            println!("unlocked {user}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { user, config } => {
            let gate = load_config(&config.config)?;
            let withdrawn = block_on(admin::revoke(&gate, &user, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            println!("revoked {user}");
            if !withdrawn.is_empty() {
                let ids: Vec<String> = withdrawn.iter().map(i64::to_string).collect();
                println!(
                    "withdrew their approvals of staged release(s) {}",
                    ids.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
