//! `shipgate stage --gate URL --package NAME --version V FILE... [--token T]`:
//! CI uploads a release for review. Staging never publishes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use shipgate_gate::client::Client;

use super::gate_ui::{Bar, client_error, format_size, print_json};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  # in a GitHub Actions job with `permissions: id-token: write`:\n  shipgate stage --gate https://gate.example.com --package hello --version 1.2.0 dist/hello-1.2.0.tar.gz\n  # elsewhere, with a token minted for the gate's audience:\n  SHIPGATE_OIDC_TOKEN=$(cat token.jwt) shipgate stage --gate http://127.0.0.1:8080 --package hello --version 1.2.0 hello.tar.gz\n\nThe CI token comes from --token, else SHIPGATE_OIDC_TOKEN, else (inside GitHub\nActions) ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN with the\naudience the gate announces in /v1/info."
)]
pub struct Args {
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// The package name (as configured on the gate).
    #[arg(long)]
    package: String,
    /// The version to stage.
    #[arg(long)]
    version: String,
    /// The files to stage (staged under their base names).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The CI OIDC token (prefer SHIPGATE_OIDC_TOKEN: arguments are visible to other processes).
    #[arg(long)]
    token: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    for (kind, check) in [
        ("package", shipgate_gate::names::package(&args.package)),
        ("version", shipgate_gate::names::version(&args.version)),
    ] {
        check.map_err(|e| CliError::usage(e).hint(format!("check --{kind}")))?;
    }
    for file in &args.files {
        if !file.is_file() {
            return Err(CliError::usage(format!(
                "{}: not a readable file",
                file.display()
            )));
        }
    }
    let client = Client::new(&args.gate).map_err(|e| client_error(e, &args.gate))?;
    let token = ci_token(&client, args.token, &args.gate)?;
    let progress = Arc::new(Bar::new());
    let staged = client
        .stage(&args.package, &args.version, &args.files, &token, progress)
        .map_err(|e| client_error(e, &args.gate))?;
    if args.json {
        print_json(&staged)?;
        return Ok(ExitCode::SUCCESS);
    }
    let total: u64 = staged.files.iter().map(|f| f.size).sum();
    println!(
        "staged release {}: {} {} ({} file(s), {})",
        staged.id,
        staged.package,
        staged.version,
        staged.files.len(),
        format_size(total)
    );
    for f in &staged.files {
        println!("  {}  {}", f.sha256, f.path);
    }
    println!(
        "review it with `shipgate release show {} --gate {}`; a maintainer approves with `shipgate approve {} --gate {}`",
        staged.id, args.gate, staged.id, args.gate
    );
    Ok(ExitCode::SUCCESS)
}

fn ci_token(client: &Client, flag: Option<String>, gate: &str) -> Result<String, CliError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(token) = flag.filter(|t| !t.trim().is_empty()) {
        return Ok(token.trim().to_owned());
    }
    if let Some(token) = env("SHIPGATE_OIDC_TOKEN") {
        return Ok(token.trim().to_owned());
    }
    if let (Some(url), Some(request_token)) = (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        let info = client.info().map_err(|e| client_error(e, gate))?;
        tracing::debug!(audience = %info.audience, "requesting a GitHub Actions OIDC token");
        return client
            .github_actions_token(&url, &request_token, &info.audience)
            .map_err(|e| {
                CliError::usage(format!("cannot get a GitHub Actions OIDC token: {e}"))
                    .hint("the job needs `permissions: id-token: write`")
            });
    }
    Err(CliError::usage("no CI token").hint(
        "pass --token, set SHIPGATE_OIDC_TOKEN, or run inside GitHub Actions with `permissions: id-token: write`",
    ))
}
