//! `shipgate log verify|show`: audit a gate's transparency log from outside.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use shipgate_client::fetch::{FetchError, KeySource, TrustedKey, trusted_key};
use shipgate_client::tlog::audit::{self, AuditReport, LogCheckError};
use shipgate_client::tlog::saved;
use shipgate_client::tlog::witnesses::unix_now;
use shipgate_client::user_config::{self, UserConfigError};
use shipgate_log::{CheckpointError, NoteError};
use shipgate_protocol::leaf::LogEvent;

use super::gate_ui::{Bar, client_error, connect, format_time, print_json, printable};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check that a gate's log only grew since a checkpoint saved earlier, then save the new one.
    #[command(
        after_help = "Example:\n  shipgate log verify --gate https://gate.example.com --checkpoint gate.checkpoint\n  shipgate log verify --gate https://gate.example.com --gate-key gate.pub --entries\n\nThe gate's current checkpoint must be signed by the gate key (pinned with\n--gate-key, else remembered from the first contact), and a consistency proof\nmust show it extends the saved one: the one in --checkpoint FILE, else the one\nremembered for this gate (by `shipgate fetch` or an earlier `log verify`).\nThe new checkpoint is then saved in the same place. --entries also downloads\nevery leaf, re-hashes it, recomputes the root and replays the events: every\nrelease must have its quorum of approvals by maintainers enrolled, listed and\nnot revoked; nothing released twice, decided twice or about a release never\nstaged; execution tokens only for released releases.\n\nExit codes: 0 consistent; 1 NOT consistent (rewritten, dropped or forked\nhistory, a shrunk log, a bad signature, leaves that do not give the root,\nevents that break the gate's rules); 2 usage, unreadable file or gate\nunreachable.\n\nWith --witness KEYFILE (repeatable) the checkpoint must also carry valid\ncosignatures by --witnesses-required of those witnesses (default all), and\nwith --max-age the newest must be recent (exit 1 otherwise)."
    )]
    Verify(VerifyArgs),
    /// List the log's events: index, time, kind, package, version, actor.
    #[command(
        after_help = "Example:\n  shipgate log show --gate https://gate.example.com\n  shipgate log show --gate https://gate.example.com --from 100 --limit 20 --json\n\nA listing only: it checks that each leaf is a well-formed event, not that the\nlog is consistent (that is `shipgate log verify`)."
    )]
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// A checkpoint file saved by an earlier run (created when missing).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// The gate's public key file (minisign format) to pin.
    #[arg(long, value_name = "FILE")]
    gate_key: Option<PathBuf>,
    /// Also download every entry, re-hash it, recompute the root and check what the events mean.
    #[arg(long)]
    entries: bool,
    #[command(flatten)]
    witnesses: super::witness::WitnessFlags,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// First leaf index to show.
    #[arg(long, default_value_t = 0, value_name = "N")]
    from: u64,
    /// Most events to show.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command) -> CmdResult {
    match command {
        Command::Verify(args) => verify(args),
        Command::Show(args) => show(args),
    }
}

/// Where the previous checkpoint comes from and the new one goes.
enum Store {
    File(PathBuf),
    Remembered(PathBuf),
}

impl Store {
    fn describe(&self) -> String {
        match self {
            Store::File(path) => path.display().to_string(),
            Store::Remembered(dir) => dir
                .join(saved::SAVED_CHECKPOINTS_FILE)
                .display()
                .to_string(),
        }
    }
}

fn verify(args: VerifyArgs) -> CmdResult {
    let gate = args.gate.as_str();
    let witnesses = args.witnesses.policy()?;
    let client = connect(gate)?;
    // A pinned key and a checkpoint file need no config directory.
    let config_dir = match (&args.gate_key, &args.checkpoint) {
        (Some(_), Some(_)) => user_config::config_dir().ok(),
        _ => Some(user_config::config_dir().map_err(CliError::usage)?),
    };
    let store = match (&args.checkpoint, &config_dir) {
        (Some(file), _) => Store::File(file.clone()),
        (None, Some(dir)) => Store::Remembered(dir.clone()),
        (None, None) => {
            return Err(
                CliError::usage("no place to keep checkpoints").hint("pass --checkpoint FILE")
            );
        }
    };
    let on_first_use = |fp: &str| {
        errln!("warning: first contact with {gate}: trusting its key on first use");
        errln!("         key fingerprint (SHA-256) {fp}");
    };
    let trusted = trusted_key(
        &client,
        args.gate_key.as_deref(),
        config_dir.as_deref(),
        &on_first_use,
    )
    .map_err(|e| key_error(e, gate))?;

    let new = audit::fetch_checkpoint(&client, &trusted.key).map_err(|e| log_error(e, gate))?;
    let witnessed = witnesses
        .as_ref()
        .map(|policy| policy.check(&new.note, unix_now()))
        .transpose()
        .map_err(super::witness::witness_error)?;
    let previous_note = match &store {
        Store::File(path) => saved::read_note_file(path),
        Store::Remembered(dir) => saved::remembered(dir, client.base_url()),
    }
    .map_err(config_error)?;
    let previous = match &previous_note {
        Some(note) => {
            let what = format!("the saved checkpoint in {}", store.describe());
            let old = audit::open_checkpoint(note.as_bytes(), &trusted.key, &what)
                .map_err(saved_checkpoint_error)?;
            audit::check_extends(&client, &old.checkpoint, &new.checkpoint)
                .map_err(|e| log_error(e, gate))?;
            Some(old.checkpoint)
        }
        None => None,
    };
    let audited = if args.entries {
        Some(
            audit::audit_entries(&client, &new.checkpoint, &Bar::new())
                .map_err(|e| log_error(e, gate))?,
        )
    } else {
        None
    };
    if let Some(report) = &audited
        && !report.means_what_it_says()
    {
        return Err(broken_rules(report, &args, &new.checkpoint, gate)?);
    }
    match &store {
        Store::File(path) => saved::write_note_file(path, &new.note).map_err(config_error)?,
        Store::Remembered(dir) => {
            saved::remember(dir, client.base_url(), &new.note).map_err(config_error)?;
        }
    }
    let key = key_description(trusted)?;

    let checkpoint = &new.checkpoint;
    if args.json {
        print_json(&json!({
            "gate": gate,
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": checkpoint.root.to_hex(),
            "consistent": true,
            "previous_size": previous.as_ref().map(|p| p.size),
            "entries": audited,
            "saved_to": store.describe(),
            "gate_key": key,
            "witnesses": witnessed,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "checkpoint  {} at size {}, root {} (signature verified: {key})",
        printable(&checkpoint.origin),
        checkpoint.size,
        checkpoint.root.to_hex()
    );
    match &previous {
        Some(old) if old.size == checkpoint.size => outln!(
            "consistent  same size and root as the saved checkpoint ({} leaves): nothing new",
            old.size
        ),
        Some(old) => outln!(
            "consistent  extends the saved checkpoint of size {} (consistency proof verified): the log only grew",
            old.size
        ),
        None => outln!(
            "first look  no saved checkpoint yet: later runs check that the log only grows from here"
        ),
    }
    if let Some(report) = &witnessed {
        outln!("witnesses   {}", super::witness::describe(report));
    }
    if let Some(report) = &audited {
        outln!(
            "entries     all {} leaves re-hashed from their data; the root matches ({})",
            report.entries,
            kinds(report)
        );
        outln!(
            "meaning     every event replayed: each release has its quorum of approvals by maintainers enrolled, listed and not revoked; nothing decided twice or about a release never staged"
        );
        let releases = &report.meaning.releases;
        let passkey_only = releases
            .iter()
            .filter(|r| !r.approvals.is_empty() && r.passkey_approvals() == r.approvals.len())
            .count();
        outln!(
            "approvals   {} releases: {passkey_only} approved by passkeys only (each assertion verified against its enrolled key), {} with TOTP approvals (the gate's word; --json lists every approval)",
            releases.len(),
            releases.len() - passkey_only
        );
        // A log from before policies were logged can have many: the first
        // few, then a count (`--json` lists them all).
        const SHOWN: usize = 10;
        let unchecked = &report.meaning.unchecked;
        for note in unchecked.iter().take(SHOWN) {
            outln!(
                "unchecked   leaf {}: {}",
                note.index,
                printable(&note.message)
            );
        }
        let more = (unchecked.len().saturating_sub(SHOWN) as u64) + report.meaning.more_unchecked;
        if more > 0 {
            outln!("unchecked   ... and {more} more releases (see --json)");
        }
    }
    outln!("saved       {}", store.describe());
    Ok(ExitCode::SUCCESS)
}

/// The entries verify but break the gate's rules: each violation on its own
/// line (stderr), the JSON report (stdout) with `--json`, exit 1, and the
/// checkpoint is not saved.
fn broken_rules(
    report: &AuditReport,
    args: &VerifyArgs,
    checkpoint: &shipgate_log::Checkpoint,
    gate: &str,
) -> Result<CliError, CliError> {
    if args.json {
        print_json(&json!({
            "gate": gate,
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": checkpoint.root.to_hex(),
            "consistent": true,
            "entries": report,
            "saved_to": Value::Null,
        }))?;
    }
    let meaning = &report.meaning;
    let count = meaning.violations.len() as u64 + meaning.more_violations;
    for violation in &meaning.violations {
        errln!(
            "error: log leaf {} {}",
            violation.index,
            printable(&violation.message)
        );
    }
    if meaning.more_violations > 0 {
        errln!(
            "error: ... and {} more leaves that break the rules",
            meaning.more_violations
        );
    }
    Ok(CliError::check(format!(
        "{count} log leaves break the gate's rules: the log is consistent, but it records decisions a gate following its rules cannot have taken"
    ))
    .hint("do not trust releases from this gate and tell its operator; the checkpoint was not saved"))
}

fn kinds(report: &AuditReport) -> String {
    if report.kinds.is_empty() {
        return "empty log".into();
    }
    report
        .kinds
        .iter()
        .map(|(kind, n)| format!("{n} {}", printable(kind)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_description(trusted: TrustedKey) -> Result<String, CliError> {
    let fingerprint = shipgate_protocol::manifest::fingerprint(&trusted.key);
    let source = trusted.remember().map_err(config_error)?;
    Ok(match source {
        KeySource::Pinned { path } => {
            format!("gate key {fingerprint} pinned from {}", path.display())
        }
        KeySource::Remembered => {
            format!("gate key {fingerprint} remembered from an earlier contact")
        }
        KeySource::FirstUse { remembered_in } => format!(
            "gate key {fingerprint} trusted on first use, remembered in {}",
            remembered_in.display()
        ),
    })
}

fn show(args: ShowArgs) -> CmdResult {
    let gate = args.gate.as_str();
    let client = connect(gate)?;
    let note = client.log_checkpoint().map_err(|e| client_error(e, gate))?;
    let size = audit::unverified_size(&note).map_err(|e| log_error(e, gate))?;
    let events = audit::list_entries(&client, args.from, args.limit, size)
        .map_err(|e| log_error(e, gate))?;
    if args.json {
        let entries: Vec<Value> = events
            .iter()
            .map(|(index, event)| json!({"index": index, "event": event.to_value()}))
            .collect();
        print_json(&json!({"size": size, "entries": entries}))?;
        return Ok(ExitCode::SUCCESS);
    }
    if events.is_empty() {
        outln!("no events from index {} (the log holds {size})", args.from);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:>6}  {:<23}  {:<19}  {:<16} {:<12} {:<16} DETAIL",
        "INDEX",
        "TIME",
        "KIND",
        "PACKAGE",
        "VERSION",
        "ACTOR"
    );
    for (index, event) in &events {
        outln!(
            "{:>6}  {:<23}  {:<19}  {:<16} {:<12} {:<16} {}",
            index,
            format_time(event.time),
            printable(&event.kind),
            printable(event.package.as_deref().unwrap_or("-")),
            printable(event.version.as_deref().unwrap_or("-")),
            printable(&event.actor),
            printable(&detail_summary(event)),
        );
    }
    let last = events.last().map_or(args.from, |(i, _)| *i);
    outln!(
        "\nevents {}..={last} of {size}; `shipgate log verify --gate {gate} --entries` checks them against the signed checkpoint",
        args.from
    );
    Ok(ExitCode::SUCCESS)
}

/// One short line about the kind's own fields.
fn detail_summary(event: &LogEvent) -> String {
    let field = |key: &str| event.detail.get(key);
    let names = |value: Option<&Value>| {
        value
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    match event.kind.as_str() {
        "staged" => {
            let files = field("files").and_then(Value::as_array).map_or(0, Vec::len);
            let commit = field("provenance")
                .and_then(|p| p.get("commit_sha"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!(
                "{files} file(s), commit {}",
                commit.get(..12).unwrap_or(commit)
            )
        }
        "package_policy" => format!(
            "{}: quorum {} of {}",
            event.detail_str("package").unwrap_or("?"),
            field("quorum").map(Value::to_string).unwrap_or_default(),
            names(field("maintainers"))
        ),
        "released" => format!(
            "manifest {}, key {}, approved by {}",
            event.detail_str("manifest_sha256").unwrap_or("?"),
            event.detail_str("signature_key_id").unwrap_or("?"),
            names(field("approved_by"))
        ),
        "rejected" => format!("reason: {}", event.detail_str("reason").unwrap_or("")),
        "maintainer_enrolled" => format!(
            "{} for {}",
            event.detail_str("maintainer").unwrap_or("?"),
            names(field("packages"))
        ),
        "maintainer_locked" => {
            let maintainer = event.detail_str("maintainer").unwrap_or("?");
            let count = |name| field(name).map(Value::to_string).unwrap_or_default();
            match event.detail_str("reason") {
                // Since the yearly budget (issue 6): both counts and the reason.
                Some(reason) => format!(
                    "{maintainer} ({}: {} wrong codes in 15 minutes, {} in 365 days)",
                    if reason == "budget" {
                        "until re-enrolled"
                    } else {
                        "until unlocked"
                    },
                    count("failures_15_minutes"),
                    count("failures_365_days")
                ),
                None => format!("{maintainer} after {} failed codes", count("failures")),
            }
        }
        "maintainer_revoked" => {
            let withdrawn = names(field("withdrawn_approvals"));
            let maintainer = event.detail_str("maintainer").unwrap_or("?");
            if withdrawn.is_empty() {
                maintainer.to_owned()
            } else {
                format!("{maintainer} (approvals withdrawn from release {withdrawn})")
            }
        }
        "approved" => String::new(),
        _ => match event.detail_str("maintainer") {
            Some(name) => name.to_owned(),
            None => Value::Object(event.detail.clone()).to_string(),
        },
    }
}

fn config_error(err: UserConfigError) -> CliError {
    CliError::usage(err)
}

fn key_error(err: FetchError, gate: &str) -> CliError {
    match err {
        FetchError::Client(e) => client_error(e, gate),
        FetchError::KeyChanged { ref file, .. } => {
            let file = file.display().to_string();
            CliError::check(err).hint(format!(
                "a gate that changed its key is not the gate you saw before; if the operator announced a rotation, verify the new fingerprint out of band and remove the entry for {gate} from {file}"
            ))
        }
        FetchError::Verify(_) => CliError::check(err),
        other => CliError::usage(other),
    }
}

/// A saved checkpoint that cannot be read is an input error (2); one whose
/// signature does not verify with the gate key is a failed check (1).
fn saved_checkpoint_error(err: LogCheckError) -> CliError {
    let bad_signature = matches!(
        &err,
        LogCheckError::Checkpoint {
            error: CheckpointError::Note(
                NoteError::InvalidSignature { .. } | NoteError::NoKnownSignature
            ),
            ..
        }
    );
    if bad_signature {
        CliError::check(err).hint(
            "the saved checkpoint is not signed by this gate's key: it is from another gate or key, or was altered",
        )
    } else {
        CliError::usage(err).hint("pass a checkpoint file written by `shipgate log verify`")
    }
}

/// Maps a log check failure: the gate unreachable is 2, everything the gate
/// answered that does not verify is 1.
pub(super) fn log_error(err: LogCheckError, gate: &str) -> CliError {
    match err {
        LogCheckError::Client(e) => client_error(e, gate),
        LogCheckError::Inconsistent(_) => CliError::check(err).hint(
            "the gate rewrote, dropped or forked its history since the checkpoint you saved (or this is not the same gate). Keep the saved checkpoint: it is signed by the gate key and proves what the gate showed before. Tell the gate operator and do not trust releases from it until this is explained",
        ),
        LogCheckError::Checkpoint { .. } => CliError::check(err).hint(
            "the gate's checkpoint is not signed by the gate key you trust (or is malformed): do not trust this gate's log",
        ),
        other => CliError::check(other)
            .hint("the gate's log does not verify: do not trust releases from it and tell the gate operator"),
    }
}
