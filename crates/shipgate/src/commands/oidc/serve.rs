//! `shipgate oidc serve`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use shipgate_oidc::KeyDir;
use shipgate_oidc::server::{self, Documents};

use super::{block_on, check_issuer};
use crate::exit::{CliError, CmdResult};

pub const EXAMPLE: &str = "Example:
  shipgate oidc serve --keys keys --issuer https://ci.example.com --listen 127.0.0.1:8080
  shipgate oidc serve --keys keys --issuer http://127.0.0.1:0 --listen 127.0.0.1:0

Serves ISSUER_PATH/.well-known/openid-configuration and .../jwks.json with
`Cache-Control: public, max-age=300`, and re-reads KEYDIR when it changes.
Prints `listening on http://ADDR` once bound. With port 0 the system picks a
free port; an issuer URL with port 0 takes that port too.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key directory; every key in it is published.
    #[arg(long, value_name = "KEYDIR")]
    keys: PathBuf,

    /// Issuer URL (named in the discovery document).
    #[arg(long, value_name = "URL")]
    issuer: String,

    /// Address to listen on, like 127.0.0.1:8080 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
}

pub fn run(args: Args) -> CmdResult {
    check_issuer(&args.issuer)?;
    block_on(serve(args))?
}

async fn serve(args: Args) -> CmdResult {
    let (listener, bound) = server::bind(args.listen)
        .await
        .map_err(|err| CliError::usage(format!("cannot listen on {}: {err}", args.listen)))?;
    let issuer = server::issuer_with_bound_port(&args.issuer, bound.port());
    let documents = Documents::load(KeyDir::new(&args.keys), &issuer).map_err(|err| {
        CliError::usage(format!("key directory {err}")).hint(format!(
            "create a key with `shipgate oidc keygen --dir {}`",
            args.keys.display()
        ))
    })?;
    outln!("listening on http://{bound}");
    tracing::info!("issuer {issuer}");
    server::serve(listener, Arc::new(documents))
        .await
        .map_err(|err| CliError::usage(format!("server stopped: {err}")))?;
    Ok(ExitCode::SUCCESS)
}
