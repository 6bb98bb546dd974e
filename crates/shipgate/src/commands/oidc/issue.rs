//! `shipgate oidc issue`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value};
use shipgate_oidc::{Issuer, MAX_TTL, RESERVED_CLAIMS, TokenRequest, parse_duration};

use super::{check_issuer, load_keys};
use crate::exit::{CliError, CmdResult};

pub const EXAMPLE: &str = "Example:
  shipgate oidc issue --keys keys --issuer https://ci.example.com \\
      --audience deploy --subject execution:42 --ttl 10m \\
      --claim execution_id=42 --claim commit_sha=4e9b7dbc --claim pipeline_file=.ci/deploy.yml

Prints one compact JWT on stdout, signed by the newest key in KEYDIR, with
iss, sub, aud, iat, nbf (= now), exp (= now + ttl), a random jti and the
given claims (string values).";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Key directory; the newest key signs.
    #[arg(long, value_name = "KEYDIR")]
    keys: PathBuf,

    /// Issuer URL (`iss`): where the discovery document is served.
    #[arg(long, value_name = "URL")]
    issuer: String,

    /// Audience (`aud`): who the token is for.
    #[arg(long, value_name = "AUD")]
    audience: String,

    /// Subject (`sub`).
    #[arg(long, value_name = "SUB")]
    subject: String,

    /// Lifetime, like 90s, 10m or 1h (at most 24h).
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    ttl: String,

    /// An extra string claim; repeat for more.
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    claims: Vec<String>,

    /// Print `{token, jti, kid, expires_at}` as JSON instead of the bare token.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CmdResult {
    check_issuer(&args.issuer)?;
    let ttl = parse_ttl(&args.ttl)?;
    let claims = parse_claims(&args.claims)?;
    if args.audience.is_empty() || args.subject.is_empty() {
        return Err(CliError::usage(
            "--audience and --subject must not be empty",
        ));
    }
    let ring = load_keys(&args.keys)?;
    let issuer = Issuer::new(&args.issuer, ring.newest().clone())
        .map_err(|err| CliError::usage(err.to_string()))?;
    let token = issuer
        .issue(&TokenRequest {
            subject: args.subject,
            audience: vec![args.audience],
            ttl,
            claims,
        })
        .map_err(|err| CliError::usage(format!("cannot issue the token: {err}")))?;
    tracing::debug!(
        kid = issuer.key().kid(),
        jti = token.jti.as_str(),
        "token issued"
    );
    if args.json {
        jsonln!(
            "{}",
            serde_json::json!({
                "token": token.token,
                "jti": token.jti,
                "kid": issuer.key().kid(),
                "expires_at": token.expires_at,
            })
        );
    } else {
        rawln!("{}", token.token);
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_ttl(text: &str) -> Result<Duration, CliError> {
    let ttl = parse_duration(text).map_err(|err| CliError::usage(format!("--ttl: {err}")))?;
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(
            CliError::usage(format!("--ttl {text}: must be between 1s and 24h"))
                .hint("execution tokens should live minutes, e.g. --ttl 10m"),
        );
    }
    Ok(ttl)
}

fn parse_claims(items: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut claims = Map::new();
    for item in items {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--claim {item:?} is not KEY=VALUE")))?;
        if key.is_empty() {
            return Err(CliError::usage(format!(
                "--claim {item:?} has an empty name"
            )));
        }
        if RESERVED_CLAIMS.contains(&key) {
            return Err(
                CliError::usage(format!("--claim {key}: `{key}` is set by the issuer")).hint(
                    "use --issuer, --subject, --audience and --ttl for the registered claims",
                ),
            );
        }
        if claims
            .insert(key.to_owned(), Value::String(value.to_owned()))
            .is_some()
        {
            return Err(CliError::usage(format!("--claim {key} is given twice")));
        }
    }
    Ok(claims)
}
