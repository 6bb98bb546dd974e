//! `shipgate fetch --gate URL PACKAGE VERSION --out DIR [--gate-key FILE]`:
//! download a released version and verify every file against the manifest
//! the gate signed.

use std::path::PathBuf;
use std::process::ExitCode;

use shipgate_client::fetch::{self, FetchError, FetchOptions, KeySource};
use shipgate_client::tlog::replay::ApprovalKind;
use shipgate_client::user_config;

use super::gate_ui::{Bar, client_error, connect, format_size, print_json, printable};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate fetch --gate https://gate.example.com hello 1.2.0 --out ./hello-1.2.0 --gate-key gate.pub\n  shipgate fetch --gate https://gate.example.com hello 1.2.0 --out ./hello-1.2.0   # trust on first use\n\nWithout --gate-key the gate's key is trusted on first use: its fingerprint is\nprinted and remembered in ~/.config/shipgate/known_gates.toml; a later\ndifferent key is refused (exit 1). The signed manifest is saved next to the\nfiles as shipgate.manifest + shipgate.manifest.minisig, so\n`minisign -Vm DIR/shipgate.manifest -p gate.pub` checks it again.\n\nThe release must also be in the gate's transparency log: its `released` event\nmust be included in a checkpoint signed by the same key, and that checkpoint\nmust extend the one remembered from the last fetch or `log verify` against this\ngate (log_checkpoints.toml beside known_gates.toml); a rolled-back or forked\nlog is refused (exit 1).\n\nWith --require-passkey-approvals it also downloads the whole log, replays it\n(as `shipgate log verify --entries` does) and refuses (exit 1) a release whose\napprovals are not a quorum of passkey assertions that verify, offline, against\ncredentials enrolled and not revoked earlier in the log, over exactly this\nrelease's manifest digest; TOTP approvals do not count. --json lists them."
)]
pub struct Args {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// The package name.
    package: String,
    /// The version.
    version: String,
    /// Directory to write the files to (created if needed; must not hold them already).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The gate's public key file (minisign format) to pin.
    #[arg(long, value_name = "FILE")]
    gate_key: Option<PathBuf>,
    #[command(flatten)]
    witnesses: super::witness::WitnessFlags,
    /// Refuse the release unless the log proves a quorum of passkey approvals (downloads the whole log).
    #[arg(long, env = "SHIPGATE_REQUIRE_PASSKEY_APPROVALS")]
    require_passkey_approvals: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    let witnesses = args.witnesses.policy()?;
    let client = connect(&args.gate)?;
    // Needed for a key trusted on first use; with a pinned key only to
    // remember the log checkpoint (skipped when there is no such directory).
    let config_dir = match &args.gate_key {
        Some(_) => user_config::config_dir().ok(),
        None => Some(user_config::config_dir().map_err(CliError::usage)?),
    };
    let options = FetchOptions {
        package: &args.package,
        version: &args.version,
        out: &args.out,
        gate_key: args.gate_key.as_deref(),
        config_dir: config_dir.as_deref(),
        witnesses: witnesses.as_ref(),
        require_passkey_approvals: args.require_passkey_approvals,
    };
    let gate = args.gate.clone();
    let on_first_use = move |fp: &str| {
        errln!("warning: first contact with {gate}: trusting its key on first use");
        errln!("         key fingerprint (SHA-256) {fp}");
        errln!(
            "         compare it with the one the gate operator published; pin it with --gate-key next time"
        );
    };
    let report = fetch::fetch(&client, &options, &Bar::new(), &on_first_use)
        .map_err(|e| fetch_error(e, &args.gate))?;
    if args.json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let total: u64 = report.files.iter().map(|f| f.size).sum();
    outln!(
        "fetched {} {}: {} file(s), {}, every file verified against the gate-signed manifest",
        printable(&report.package),
        printable(&report.version),
        report.files.len(),
        format_size(total)
    );
    for f in &report.files {
        outln!(
            "  {}  {}",
            printable(&f.sha256),
            printable(&report.out.join(&f.path).display().to_string())
        );
    }
    outln!("manifest sha256  {}", report.manifest_sha256);
    let source = match &report.key_source {
        KeySource::Pinned { path } => format!("pinned from {}", path.display()),
        KeySource::Remembered => "remembered from an earlier fetch".to_owned(),
        KeySource::FirstUse { remembered_in } => {
            format!(
                "trusted on first use, remembered in {}",
                remembered_in.display()
            )
        }
    };
    outln!("gate key         {} ({source})", report.key_fingerprint);
    let log = &report.log;
    let previous = match log.previous_checkpoint_size {
        Some(size) => format!(", consistent with the checkpoint of size {size} seen before"),
        None => String::new(),
    };
    outln!(
        "log              released event #{} included in {}'s signed checkpoint of size {}{previous}",
        log.index,
        printable(&log.origin),
        log.checkpoint_size
    );
    if let Some(report) = &log.witnesses {
        outln!("witnesses        {}", super::witness::describe(report));
    }
    if let Some(release) = &report.approvals {
        outln!(
            "approvals        {} verified passkey approval(s), quorum {} (whole log replayed)",
            release.passkey_approvals(),
            release.quorum
        );
        for approval in &release.approvals {
            outln!(
                "  {} ({}{}) at log leaf {}",
                printable(&approval.maintainer),
                match approval.approval {
                    ApprovalKind::Passkey => "passkey",
                    _ => "TOTP",
                },
                approval
                    .credential_id
                    .as_deref()
                    .map(|id| format!(", credential {}", printable(id)))
                    .unwrap_or_default(),
                approval.index
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fetch_error(err: FetchError, gate: &str) -> CliError {
    match err {
        FetchError::Client(e) => client_error(e, gate),
        FetchError::KeyChanged {
            ref file,
            ..
        } => {
            let file = file.display().to_string();
            CliError::check(err).hint(format!(
                "this is what an impersonated or compromised gate looks like. If the operator announced a key rotation, verify the new fingerprint out of band, then remove the entry for {gate} from {file} (or pin the new key with --gate-key)"
            ))
        }
        FetchError::Verify(_) | FetchError::FileMismatch { .. } => CliError::check(err)
            .hint("nothing unverified was left in --out under a final name; do not use this release and tell the gate operator"),
        FetchError::PinnedKey(_) => CliError::usage(err)
            .hint("pass the gate's minisign public key file (from its operator, or `curl GATE/v1/info`)"),
        FetchError::Exists(_) => CliError::usage(err),
        FetchError::Log(e) => super::log::log_error(e, gate),
        FetchError::Witnesses(e) => super::witness::witness_error(e),
        FetchError::Approvals(_) => CliError::check(err).hint(
            "nothing was written to --out; do not use this release and tell the package's maintainers",
        ),
        other => CliError::usage(other),
    }
}
