//! `shipgate admin enroll|unlock|revoke|status`: local administration on the
//! gate's config and data directory. There is no HTTP route for any of it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shipgate_gate::admin::{self, AdminError, MaintainerStatus};
use shipgate_gate::config::GateConfig;
use shipgate_gate::lockout::{self, LockReason};
use shipgate_gate::storage::StorageError;

use super::gate_ui::{format_time, print_json};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Enrol a maintainer: prints their maintainer token and TOTP secret (once).
    #[command(
        after_help = "Example:\n  shipgate admin enroll alice --package hello --config /etc/shipgate/gate.toml\n  shipgate admin enroll alice --package hello --json > alice.json   # for provisioning scripts\n\nThe user must be listed in `maintainers` of each package in gate.toml.\nHand the printed token and QR code to the maintainer over a private channel;\nthe gate keeps only a hash of the token.\n\nPasskeys:\n  shipgate admin enroll alice --package hello --passkey   # credentials and a passkey link\n  shipgate admin enroll alice --passkey                   # a new passkey link for an enrolled maintainer\nThe link works once, for an hour; the maintainer opens it and creates the passkey."
    )]
    Enroll {
        /// The user name (as listed in gate.toml).
        user: String,
        /// A package the user may approve (repeat for several). With
        /// `--passkey` it may be left out for a maintainer already enrolled.
        #[arg(
            long = "package",
            value_name = "NAME",
            required_unless_present = "passkey"
        )]
        packages: Vec<String>,
        /// Also print a one-time link (valid for an hour) with which the
        /// maintainer registers a passkey in the browser.
        #[arg(long)]
        passkey: bool,
        /// Print the credentials as JSON (user, packages, token, totp_secret,
        /// otpauth_uri, digits) instead of text and a QR code.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Unlock a maintainer locked after 5 wrong TOTP codes in 15 minutes
    /// (not one who used up the yearly budget of 30: re-enrol them).
    #[command(
        after_help = "Example:\n  shipgate admin unlock alice --config gate.toml\n\nFailures still count against the yearly budget of 30 wrong codes; a maintainer\nwho reaches it stays locked until re-enrolled (`admin revoke`, then `admin enroll`)."
    )]
    Unlock {
        /// The user name.
        user: String,
        /// Print JSON (user, wrong codes counted in the yearly budget).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Revoke a maintainer: their token stops working and their approvals of
    /// still-staged releases are withdrawn.
    #[command(after_help = "Example:\n  shipgate admin revoke alice --config gate.toml")]
    Revoke {
        /// The user name.
        user: String,
        /// Revoke only this passkey (its credential id, as the log and
        /// `admin enroll --passkey` show it); the maintainer stays enrolled.
        // A base64url credential id may begin with '-'.
        #[arg(long, value_name = "CREDENTIAL_ID", allow_hyphen_values = true)]
        passkey: Option<String>,
        /// Print JSON (user, ids of the releases whose approvals were withdrawn).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show maintainers: active, locked (and why) or revoked, with their wrong
    /// TOTP codes counted by each lockout rule.
    #[command(
        after_help = "Example:\n  shipgate admin status --config gate.toml\n  shipgate admin status alice --json --config gate.toml"
    )]
    Status {
        /// Only this user.
        user: Option<String>,
        /// Print JSON (with the policy's numbers).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Write a consistent copy of the database while the gate runs, and list
    /// what else to back up.
    Backup(super::admin_backup::BackupArgs),
    /// Replace the database of a stopped gate with a backup, and say what
    /// that rolled back.
    Restore(super::admin_backup::RestoreArgs),
    /// Copy a stopped gate's embedded database into PostgreSQL, and verify it.
    Migrate(super::admin_migrate::MigrateArgs),
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
        CliError::usage(e).hint("see docs/gate.md (section `gate.toml`) for the format")
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
        AdminError::Storage(StorageError::LockedUntilReenrolled(user)) => CliError::usage(&err)
            .hint(reenrol_hint(user, config)),
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
        Command::Backup(args) => super::admin_backup::backup(args),
        Command::Restore(args) => super::admin_backup::restore(args),
        Command::Migrate(args) => super::admin_migrate::migrate(args),
        Command::Enroll {
            user,
            packages,
            passkey,
            json,
            config,
        } => {
            let gate = load_config(&config.config)?;
            if passkey && packages.is_empty() {
                return print_passkey_link(&gate, &user, json, now, &config.config);
            }
            let creds = block_on(admin::enroll(&gate, &user, &packages, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            if passkey && json {
                // One JSON document: the credentials and the link.
                let link = block_on(admin::passkey_link(&gate, &user, now))?
                    .map_err(|e| admin_error(e, &config.config))?;
                print_json(&serde_json::json!({
                    "user": user,
                    "packages": packages,
                    "token": creds.token,
                    "totp_secret": creds.totp_secret,
                    "otpauth_uri": creds.otpauth_uri,
                    "digits": shipgate_gate::credentials::TOTP_DIGITS,
                    "gate": gate.public_url,
                    "passkey_link": link,
                    "passkey_link_expires_in_seconds": shipgate_gate::web::ENROLMENT_LINK_SECONDS,
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            if json {
                print_json(&serde_json::json!({
                    "user": user,
                    "packages": packages,
                    "token": creds.token,
                    "totp_secret": creds.totp_secret,
                    "otpauth_uri": creds.otpauth_uri,
                    "digits": shipgate_gate::credentials::TOTP_DIGITS,
                    "gate": gate.public_url,
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("enrolled {user} for {}", packages.join(", "));
            outln!();
            outln!("maintainer token (shown once; the gate stores only its hash):");
            outln!("  {}", creds.token);
            outln!();
            outln!(
                "TOTP secret (RFC 6238, SHA-1, {} digits, 30 s; the URI tells the app):",
                shipgate_gate::credentials::TOTP_DIGITS
            );
            outln!("  {}", creds.totp_secret);
            outln!("  {}", creds.otpauth_uri);
            if let Some(qr) = admin::terminal_qr(&creds.otpauth_uri) {
                outln!();
                outln!("{qr}");
            }
            outln!(
                "the maintainer stores the token in SHIPGATE_MAINTAINER_TOKEN or ~/.config/shipgate/credentials.toml (mode 0600),"
            );
            outln!(
                "adds the secret to an authenticator app, and approves with `shipgate approve ID --gate {}`",
                gate.public_url
            );
            if passkey {
                outln!();
                return print_passkey_link(&gate, &user, false, now, &config.config);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Unlock { user, json, config } => {
            let gate = load_config(&config.config)?;
            let counts = block_on(admin::unlock(&gate, &user, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            if json {
                print_json(&serde_json::json!({
                    "user": user,
                    "unlocked": true,
                    "wrong_codes_last_365_days": counts.year,
                    "yearly_budget": lockout::YEARLY_BUDGET,
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("unlocked {user}");
            outln!(
                "{} of the yearly budget of {} wrong TOTP codes used in the last 365 days; at {} only re-enrolment unlocks",
                counts.year,
                lockout::YEARLY_BUDGET,
                lockout::YEARLY_BUDGET
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke {
            user,
            passkey: Some(credential_id),
            json,
            config,
        } => {
            let gate = load_config(&config.config)?;
            block_on(admin::revoke_passkey(&gate, &user, &credential_id, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            if json {
                print_json(&serde_json::json!({
                    "user": user,
                    "revoked_passkey": credential_id,
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("revoked passkey {credential_id} of {user}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke {
            user,
            passkey: None,
            json,
            config,
        } => {
            let gate = load_config(&config.config)?;
            let withdrawn = block_on(admin::revoke(&gate, &user, now))?
                .map_err(|e| admin_error(e, &config.config))?;
            if json {
                print_json(&serde_json::json!({
                    "user": user,
                    "revoked": true,
                    "withdrawn_approvals": withdrawn,
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("revoked {user}");
            if !withdrawn.is_empty() {
                let ids: Vec<String> = withdrawn.iter().map(i64::to_string).collect();
                outln!(
                    "withdrew their approvals of staged release(s) {}",
                    ids.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { user, json, config } => {
            let gate = load_config(&config.config)?;
            let statuses = block_on(admin::status(&gate, user.as_deref(), now))?
                .map_err(|e| admin_error(e, &config.config))?;
            if json {
                print_json(&serde_json::json!({
                    "policy": lockout::policy(),
                    "maintainers": statuses,
                }))?;
            } else {
                print_status(&statuses, &config.config);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn reenrol_hint(user: &str, config: &Path) -> String {
    format!(
        "only re-enrolment lifts this lock (it issues a new token and TOTP secret, so a stolen token dies too): `shipgate admin revoke {user} --config {0}`, then `shipgate admin enroll {user} --package NAME --config {0}`",
        config.display()
    )
}

fn print_status(statuses: &[MaintainerStatus], config: &Path) {
    let policy = lockout::policy();
    outln!(
        "policy: {}-digit codes; {} wrong within {} minutes lock until `admin unlock`; {} within 365 days lock until re-enrolment",
        policy.digits,
        policy.short_limit,
        policy.short_window_seconds / 60,
        policy.yearly_budget
    );
    outln!(
        "        at most {} guesses a year with a stolen token, odds of success at most {:.2e}",
        policy.max_guesses_per_year,
        policy.odds_per_year
    );
    if statuses.is_empty() {
        outln!("no maintainers enrolled");
        return;
    }
    outln!();
    let name_width = statuses
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    outln!(
        "{:<name_width$}  {:<24}  {:>14}  {:>14}  PACKAGES",
        "USER",
        "STATE",
        "WRONG (15 MIN)",
        "WRONG (365 D)"
    );
    for status in statuses {
        let state = match status.lock_reason {
            _ if status.state == "revoked" => "revoked".to_owned(),
            Some(LockReason::Failures) => "locked: admin unlock".to_owned(),
            Some(LockReason::Budget) => "locked: re-enrol".to_owned(),
            None => "active".to_owned(),
        };
        outln!(
            "{:<name_width$}  {:<24}  {:>14}  {:>14}  {}",
            status.name,
            state,
            format!("{} of {}", status.failures.recent, policy.short_limit),
            format!("{} of {}", status.failures.year, policy.yearly_budget),
            status.packages.join(", ")
        );
    }
    for status in statuses.iter().filter(|s| s.state == "locked") {
        let (Some(reason), Some(at)) = (status.lock_reason, status.locked_at) else {
            continue;
        };
        outln!();
        outln!(
            "{} is locked since {}: {}",
            status.name,
            format_time(at),
            reason.describe()
        );
        let next = match reason {
            LockReason::Failures => format!(
                "if {0} mistyped, `shipgate admin unlock {0} --config {1}`; if not, treat the token as stolen and {2}",
                status.name,
                config.display(),
                "re-enrol them (`admin revoke`, then `admin enroll`)"
            ),
            LockReason::Budget => reenrol_hint(&status.name, config),
        };
        outln!("hint: {next}");
    }
}

/// Prints a one-time passkey enrolment link for an enrolled maintainer.
fn print_passkey_link(
    gate: &GateConfig,
    user: &str,
    json: bool,
    now: i64,
    config: &Path,
) -> CmdResult {
    let link =
        block_on(admin::passkey_link(gate, user, now))?.map_err(|e| match e {
            AdminError::Storage(StorageError::NoSuchMaintainer(_)) => {
                CliError::usage(&e).hint(format!(
                    "enrol them first, with the packages they approve: `shipgate admin enroll {user} --package NAME --passkey`"
                ))
            }
            other => admin_error(other, config),
        })?;
    let expires = shipgate_gate::web::ENROLMENT_LINK_SECONDS;
    if json {
        print_json(&serde_json::json!({
            "user": user,
            "passkey_link": link,
            "passkey_link_expires_in_seconds": expires,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "passkey enrolment link for {user} (works once, for {} minutes):",
        expires / 60
    );
    outln!("  {link}");
    outln!("hand it to the maintainer over a private channel; they open it and create the passkey");
    Ok(ExitCode::SUCCESS)
}
