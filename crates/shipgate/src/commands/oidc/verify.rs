//! `shipgate oidc verify`

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use shipgate_oidc::{
    DiskCache, Expectation, MAX_TOKEN_BYTES, RemoteOptions, Validation, Verifier, VerifyError,
    parse_duration,
};

use super::{block_on, check_issuer};
use crate::exit::{CliError, CmdResult};

pub const EXAMPLE: &str = "Example:
  export SHIPGATE_OIDC_TOKEN=...   # handed to the CI job by the orchestrator
  shipgate oidc verify --issuer https://ci.example.com --audience deploy \\
      --expect node_id=deploy-prod --expect-glob pipeline_file='.ci/*.yml'

Exit codes: 0 the token is valid and every expected claim matches; 1 the
token was refused for any reason (only `token verification failed` is
printed; run with -v or SHIPGATE_LOG=debug to log why); 2 usage error, or
the issuer's documents could not be fetched or are wrong.

Keys are cached in SHIPGATE_CACHE_DIR / --cache-dir, else
$XDG_CACHE_HOME/shipgate/jwks, else ~/.cache/shipgate/jwks.";

/// Longest leeway accepted: more would make `exp` meaningless.
const MAX_LEEWAY: Duration = Duration::from_secs(600);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issuer URL the token must come from, exactly (`iss`).
    #[arg(long, value_name = "URL")]
    issuer: String,

    /// The audience the token must be for (`aud`).
    #[arg(long, value_name = "AUD")]
    audience: String,

    /// The token (visible to other users in `ps`; prefer SHIPGATE_OIDC_TOKEN or --token-file).
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    token: Option<String>,

    /// Read the token from FILE (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// A claim that must be present, non-empty and equal to VALUE; repeat for more.
    #[arg(long = "expect", value_name = "KEY=VALUE")]
    expect: Vec<String>,

    /// A claim that must match a glob (`*` does not cross `/`, `**` does); repeat for more.
    #[arg(long = "expect-glob", value_name = "KEY=PATTERN")]
    expect_glob: Vec<String>,

    /// Clock-skew allowance for exp, nbf and iat (at most 10m).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    leeway: String,

    /// Accept a token whose `aud` also names other audiences.
    #[arg(long)]
    allow_extra_audiences: bool,

    /// Print the verified claims as JSON on stdout.
    #[arg(long)]
    json: bool,

    /// Directory of the JWKS cache.
    #[arg(long, env = "SHIPGATE_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Do not read or write the JWKS cache (wins over --cache-dir).
    #[arg(long)]
    no_cache: bool,
}

pub fn run(args: Args) -> CmdResult {
    check_issuer(&args.issuer)?;
    if args.audience.is_empty() {
        return Err(CliError::usage("--audience must not be empty"));
    }
    let validation = validation(&args)?;
    let token = read_token(&args)?;
    let options = RemoteOptions {
        disk_cache: cache(&args),
        ..RemoteOptions::default()
    };
    let verifier = Verifier::remote(&args.issuer, options)
        .map_err(|err| CliError::usage(format!("--issuer: {err}")))?;
    match block_on(verifier.verify(&token, &validation))? {
        Ok(verified) => {
            tracing::info!(kid = verified.kid.as_str(), alg = %verified.alg, "token verified");
            if args.json {
                let text = serde_json::to_string_pretty(&verified.claims.to_json())
                    .map_err(|err| CliError::usage(format!("cannot print the claims: {err}")))?;
                jsonln!("{text}");
            } else {
                outln!(
                    "token verified: sub={} (key {})",
                    verified.claims.subject().unwrap_or("(none)"),
                    verified.kid
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Keys(err)) => Err(CliError::usage(format!(
            "cannot get the keys of {}: {err}",
            args.issuer
        ))
        .hint("check --issuer and that its discovery document and JWKS are reachable")),
        Err(err) => {
            // The precise reason goes to the log only; every refused token
            // prints the same line.
            tracing::info!("token verification failed: {err}");
            Err(CliError::check("token verification failed"))
        }
    }
}

fn validation(args: &Args) -> Result<Validation, CliError> {
    let leeway =
        parse_duration(&args.leeway).map_err(|err| CliError::usage(format!("--leeway: {err}")))?;
    if leeway > MAX_LEEWAY {
        return Err(CliError::usage(format!(
            "--leeway {}: at most 10m",
            args.leeway
        )));
    }
    let mut validation = Validation::new(&args.audience);
    validation.leeway = leeway;
    validation.allow_extra_audiences = args.allow_extra_audiences;
    for text in &args.expect {
        validation.expectations.push(
            Expectation::parse_exact(text)
                .map_err(|err| CliError::usage(format!("--expect {err}")))?,
        );
    }
    for text in &args.expect_glob {
        validation.expectations.push(
            Expectation::parse_glob(text)
                .map_err(|err| CliError::usage(format!("--expect-glob {err}")))?,
        );
    }
    Ok(validation)
}

/// `--token`, else `--token-file`, else `SHIPGATE_OIDC_TOKEN`; surrounding
/// whitespace (a trailing newline) is dropped.
fn read_token(args: &Args) -> Result<String, CliError> {
    let token = if let Some(token) = &args.token {
        token.clone()
    } else if let Some(path) = &args.token_file {
        read_limited(path)?
    } else {
        std::env::var("SHIPGATE_OIDC_TOKEN").unwrap_or_default()
    };
    let token = token.trim().to_owned();
    if token.is_empty()
        && let Some(path) = &args.token_file
    {
        return Err(CliError::usage(format!(
            "--token-file {}: the file is empty",
            path.display()
        ))
        .hint("write the token into it first (e.g. the output of the step that fetched it)"));
    }
    if token.is_empty() {
        return Err(CliError::usage("no token given")
            .hint("pass --token-file FILE, --token TOKEN, or set SHIPGATE_OIDC_TOKEN"));
    }
    Ok(token)
}

/// Reads at most a little more than the token size cap: a larger file is
/// refused by the verifier without being read whole.
fn read_limited(path: &PathBuf) -> Result<String, CliError> {
    let limit = (MAX_TOKEN_BYTES + 4096) as u64;
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|err| CliError::usage(format!("--token-file {}: {err}", path.display())))?;
    // Invalid UTF-8 cannot be a token; keep it a token problem (exit 1).
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn cache(args: &Args) -> Option<DiskCache> {
    if args.no_cache {
        return None;
    }
    match args.cache_dir.clone().or_else(DiskCache::default_dir) {
        Some(dir) => Some(DiskCache::new(dir)),
        None => {
            tracing::debug!(
                "no cache directory (HOME and XDG_CACHE_HOME unset); keys kept in memory"
            );
            None
        }
    }
}
