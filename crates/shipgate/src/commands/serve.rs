//! `shipgate serve [--config gate.toml]` and `shipgate serve --dev`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shipgate_gate::dev::{self, DEV_MAINTAINER, DEV_PACKAGE, DevSetup};

use super::admin::load_config;
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate serve --config /etc/shipgate/gate.toml\n  shipgate serve --dev      # creates ./shipgate-dev/ on first run and serves on 127.0.0.1\n\nPrints `listening on http://ADDR` once bound. Stops gracefully on SIGTERM or ctrl-c."
)]
pub struct Args {
    /// The gate's config file.
    #[arg(
        long,
        default_value = "gate.toml",
        value_name = "FILE",
        conflicts_with = "dev"
    )]
    config: PathBuf,
    /// Run a local development gate from ./shipgate-dev/ (created on first run).
    #[arg(long)]
    dev: bool,
}

/// The directory `serve --dev` creates and reuses.
const DEV_DIR: &str = "shipgate-dev";

pub fn run(args: Args) -> CmdResult {
    if args.dev {
        let setup = shipgate_gate::block_on(dev::prepare(Path::new(DEV_DIR)))
            .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))?
            .map_err(|e| {
                CliError::usage(e).hint(format!(
                    "remove ./{DEV_DIR} to start over with a fresh dev gate"
                ))
            })?;
        let config = setup.config.clone();
        return serve(config, move |_| print_dev_banner(&setup));
    }
    if !args.config.exists() {
        return Err(CliError::usage(format!(
            "no gate config at {}",
            args.config.display()
        ))
        .hint("to try the gate out, run `shipgate serve --dev` (a local gate with a test maintainer, nothing to configure)")
        .hint("for a real gate, write a gate.toml (see docs/gate.md) and pass it with --config FILE"));
    }
    let config = load_config(&args.config)?;
    serve(config, |_| {})
}

fn serve(
    config: shipgate_gate::config::GateConfig,
    after_bound: impl FnOnce(std::net::SocketAddr),
) -> CmdResult {
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    shipgate_gate::server::serve_blocking(config, |addr| {
        outln!("listening on {scheme}://{addr}");
        after_bound(addr);
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| {
        CliError::usage(e).hint("check the config's listen address, data_dir and gate_key")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Everything a developer needs to try the flow against this dev gate.
fn print_dev_banner(setup: &DevSetup) {
    let url = &setup.config.public_url;
    let dir = setup.dir.display();
    let m = &setup.maintainer;
    if setup.created {
        outln!(
            "created ./{dir}: gate key, a stand-in CI issuer (served at {url}/dev-issuer), package `{DEV_PACKAGE}`, maintainer `{DEV_MAINTAINER}`"
        );
    } else {
        outln!("using ./{dir} (remove it to start over)");
    }
    outln!();
    outln!("maintainer `{DEV_MAINTAINER}` (package {DEV_PACKAGE}, quorum 1):");
    outln!("  maintainer token  {}", m.token);
    outln!("  TOTP secret       {}", m.totp_secret);
    outln!("  {}", m.otpauth_uri);
    if setup.created
        && let Some(qr) = shipgate_gate::admin::terminal_qr(&m.otpauth_uri)
    {
        outln!("{qr}");
    }
    let mint: Vec<String> = dev::mint_args(setup, "1.0.0");
    outln!();
    outln!("try the whole flow (in another terminal, in this directory):");
    outln!("  # 1. mint a CI token (the dev issuer stands in for GitHub Actions)");
    outln!("  shipgate {} > token.jwt", mint.join(" "));
    outln!("  # 2. stage a file, as CI would");
    outln!("  echo hello > hello.txt");
    outln!(
        "  SHIPGATE_OIDC_TOKEN=$(cat token.jwt) shipgate stage --gate {url} --package {DEV_PACKAGE} --version 1.0.0 hello.txt"
    );
    outln!("  # 3. review and approve with the code from your authenticator app");
    outln!("  shipgate release show 1 --gate {url}");
    outln!(
        "  SHIPGATE_MAINTAINER_TOKEN={} shipgate approve 1 --gate {url}",
        m.token
    );
    outln!("  # 4. fetch and verify against the gate key");
    outln!(
        "  shipgate fetch --gate {url} {DEV_PACKAGE} 1.0.0 --out fetched --gate-key {dir}/gate.pub"
    );
    match dev::actions_env(setup, "1.1.0") {
        Some((request_url, request_token)) => {
            outln!();
            outln!(
                "or as a GitHub Actions publish job would (this gate stands in for the runner's token endpoint):"
            );
            outln!("  export ACTIONS_ID_TOKEN_REQUEST_URL='{request_url}'");
            outln!("  export ACTIONS_ID_TOKEN_REQUEST_TOKEN={request_token}");
            outln!("  echo hello again > hello.txt");
            // A dev directory from an older version keeps its own audience.
            let audience = if setup.config.audience == shipgate_protocol::audience::default_for(url)
            {
                String::new()
            } else {
                format!(" --audience {}", setup.config.audience)
            };
            outln!(
                "  TOKEN=$(shipgate stage --wait --timeout 10m --gate {url}{audience} --package {DEV_PACKAGE} --version 1.1.0 hello.txt)"
            );
            outln!(
                "  # (approve it from another terminal; then check the execution token like a deploy step:)"
            );
            outln!(
                "  shipgate oidc verify --issuer {url} --audience deploy:{DEV_PACKAGE} --token \"$TOKEN\" --expect version=1.1.0 --expect commit_sha=0000000000000000000000000000000000000000"
            );
        }
        None => outln!(
            "(this dev directory predates the stand-in GitHub token endpoint; remove ./{dir} to get it)"
        ),
    }
    outln!("dev gate ready");
}
