//! `shipgate oidc publish`

use std::path::PathBuf;
use std::process::ExitCode;

use super::{check_issuer, load_keys};
use crate::exit::{CliError, CmdResult};

pub const EXAMPLE: &str = "Example:
  shipgate oidc publish --keys keys --issuer https://ci.example.com --out site
  # then host site/ at https://ci.example.com/

Writes DIR/.well-known/openid-configuration (issuer, jwks_uri =
ISSUER/.well-known/jwks.json) and DIR/.well-known/jwks.json (the public part
of every key in KEYDIR, each with kid, alg and use: sig).";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key directory; every key in it is published.
    #[arg(long, value_name = "KEYDIR")]
    keys: PathBuf,

    /// Issuer URL the documents are hosted at.
    #[arg(long, value_name = "URL")]
    issuer: String,

    /// Output directory (the site root).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// Print `{written: [paths]}` as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    check_issuer(&args.issuer)?;
    let ring = load_keys(&args.keys)?;
    let written = shipgate_oidc::documents::publish(&args.issuer, &ring, &args.out)
        .map_err(|err| CliError::usage(format!("cannot write to {}: {err}", args.out.display())))?;
    if args.json {
        let paths: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        jsonln!("{}", serde_json::json!({ "written": paths }));
        return Ok(ExitCode::SUCCESS);
    }
    for path in written {
        outln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
