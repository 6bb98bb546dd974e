//! `shipgate witness keygen|serve`: run a transparency-log witness.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use shipgate_client::tlog::witnesses::{WitnessError, WitnessPolicy, WitnessReport};
use shipgate_witness::keys::public_key_path;
use shipgate_witness::{LogKey, Witness, WitnessState};

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate a witness key: KEYFILE (0600) and KEYFILE.pub (its verifier key).
    #[command(
        after_help = "Example:\n  shipgate witness keygen --name witness.example.com/w1 --key witness.key\n\nThe verifier key (also in witness.key.pub) is what gates list in their\n[[witness]] entries and what clients pass to --witness. An existing key file\nis never overwritten."
    )]
    Keygen(KeygenArgs),
    /// Serve the C2SP tlog-witness API for the given logs.
    #[command(
        after_help = "Example:\n  shipgate witness serve --key witness.key --listen 127.0.0.1:7380 --state witness-state \\\n      --log \"$(curl -s https://gate.example.com/v1/log/key)\"\n\n--log is ORIGIN=VERIFIER-KEY, or the verifier key alone when the origin is\nthe key's name (a shipgate gate's `GET /v1/log/key`). Prints `listening on\nhttp://ADDR` once bound; stops on SIGTERM or ctrl-c. The state directory keeps\nthe latest cosigned checkpoint per log and must survive restarts: a witness\nthat forgets its state can be made to cosign a fork."
    )]
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// The witness's name (a schema-less URL such as witness.example.com/w1).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The private key file to create (mode 0600); the verifier key goes to KEYFILE.pub.
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The witness private key file (from `shipgate witness keygen`).
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
    /// Address to listen on (`:0` picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7380")]
    listen: SocketAddr,
    /// Directory for the witness state (created if needed).
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// A log to witness: ORIGIN=VERIFIER-KEY, or VERIFIER-KEY (repeatable).
    #[arg(long = "log", value_name = "ORIGIN=VKEY", required = true)]
    logs: Vec<String>,
}

pub fn run(command: Command) -> CmdResult {
    match command {
        Command::Keygen(args) => keygen(args),
        Command::Serve(args) => serve(args),
    }
}

fn keygen(args: KeygenArgs) -> CmdResult {
    let signer =
        shipgate_witness::generate_key_files(&args.name, &args.key).map_err(CliError::usage)?;
    outln!("witness key      {} (mode 0600)", args.key.display());
    outln!(
        "verifier key     {} (in {})",
        signer.verifier(),
        public_key_path(&args.key).display()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> CmdResult {
    let signer = shipgate_witness::read_key_file(&args.key).map_err(CliError::usage)?;
    let logs = args
        .logs
        .iter()
        .map(|value| {
            LogKey::parse(value).map_err(|e| {
                CliError::usage(format!("--log {value}: {e}"))
                    .hint("pass ORIGIN=VERIFIER-KEY, e.g. the output of `curl GATE/v1/log/key`")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    LogKey::check_unique(&logs).map_err(|e| CliError::usage(format!("--log: {e}")))?;
    let state = WitnessState::open(&args.state, &logs).map_err(CliError::usage)?;
    let verifier = signer.verifier();
    let witness = Witness::new(signer, logs, state);
    // On stderr: a supervisor may read stdout's first line only and close it.
    errln!("witness key {verifier}");
    shipgate_witness::serve_blocking(args.listen, witness, |addr| {
        outln!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
    })
    .map_err(CliError::usage)?;
    Ok(ExitCode::SUCCESS)
}

/// The client flags of `fetch` and `log verify` that require witness cosignatures.
#[derive(Debug, clap::Args)]
pub struct WitnessFlags {
    /// A witness's verifier key file (repeatable): the gate's checkpoint must carry its valid cosignature.
    #[arg(long = "witness", value_name = "KEYFILE")]
    witness: Vec<PathBuf>,
    /// How many of the --witness keys must have cosigned (default: all of them).
    #[arg(long, value_name = "K")]
    witnesses_required: Option<usize>,
    /// Refuse the checkpoint when its newest valid cosignature is older than this (30s, 10m, 2h, 1d).
    #[arg(long, value_name = "DURATION")]
    max_age: Option<String>,
}

impl WitnessFlags {
    /// The policy these flags ask for; `None` without `--witness`.
    pub fn policy(&self) -> Result<Option<WitnessPolicy>, CliError> {
        let max_age = self
            .max_age
            .as_deref()
            .map(shipgate_oidc::parse_duration)
            .transpose()
            .map_err(|e| CliError::usage(format!("--max-age: {e}")))?;
        WitnessPolicy::from_files(&self.witness, self.witnesses_required, max_age)
            .map_err(witness_error)
    }
}

/// A failed witness check: exit 1; unusable flags or key files: exit 2.
pub fn witness_error(err: WitnessError) -> CliError {
    match err {
        WitnessError::NotEnough { .. } => CliError::check(err).hint(
            "without the cosignatures, nothing shows that other clients see the same log: a gate showing you a forked history looks like this. Do not trust releases from it until the witnesses cosign its checkpoint",
        ),
        WitnessError::TooOld { .. } => CliError::check(err).hint(
            "a gate that stopped advancing (or is cut off from its witnesses) looks like this; retry later or tell the gate operator",
        ),
        other => CliError::usage(other),
    }
}

/// One line saying which witnesses cosigned and how fresh.
pub fn describe(report: &WitnessReport) -> String {
    let names: Vec<&str> = report.cosigned_by.iter().map(|(n, _)| n.as_str()).collect();
    let age = report
        .newest_age_seconds
        .map(|a| format!(", newest {a}s old"))
        .unwrap_or_default();
    format!(
        "{} valid cosignature(s), {} required ({}){age}",
        report.cosigned_by.len(),
        report.required,
        names.join(", ")
    )
}
