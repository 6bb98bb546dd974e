//! `shipgate oidc keygen`

use std::path::PathBuf;
use std::process::ExitCode;

use shipgate_oidc::{Algorithm, KeyDir};

use crate::exit::{CliError, CmdResult};

pub const EXAMPLE: &str = "Example:
  shipgate oidc keygen --dir keys              # RS256 (RSA 2048), the default
  shipgate oidc keygen --dir keys --alg EdDSA

The key is written as <created>-<alg>.pem (PKCS#8, mode 0600); its kid is the
RFC 7638 thumbprint of the public key. The newest key signs; every key is
published. To rotate: add a key, wait until the longest-lived token signed by
the old key has expired, then delete the old file.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key directory (created with mode 0700 if missing).
    #[arg(long, value_name = "KEYDIR")]
    dir: PathBuf,

    /// Signature algorithm: RS256 (RSA 2048), ES256 (P-256) or EdDSA (Ed25519).
    #[arg(long, default_value = "RS256", value_parser = parse_alg)]
    alg: Algorithm,

    /// Print {"kid", "alg", "path"} as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_alg(text: &str) -> Result<Algorithm, String> {
    Algorithm::from_user(text).ok_or_else(|| format!("{text:?} is not one of RS256, ES256, EdDSA"))
}

pub fn run(args: Args) -> CmdResult {
    let key = KeyDir::new(&args.dir)
        .generate(args.alg)
        .map_err(|err| CliError::usage(format!("cannot create a key: {err}")))?;
    if args.json {
        let out = serde_json::json!({
            "kid": key.kid(),
            "alg": key.algorithm().as_str(),
            "path": key.path(),
        });
        jsonln!("{out}");
    } else {
        outln!(
            "created {} key {} in {}",
            key.algorithm(),
            key.kid(),
            key.path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
