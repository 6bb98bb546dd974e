//! `shipgate oidc`: issue, publish, serve and verify short-lived OIDC
//! execution tokens. The logic lives in `shipgate-oidc`; these files parse
//! flags, print and choose exit codes.

mod issue;
mod keygen;
mod publish;
mod serve;
mod verify;

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a new private signing key to a key directory.
    #[command(after_help = keygen::EXAMPLE)]
    Keygen(keygen::Args),
    /// Print one signed token (a compact JWT) for a subject and audience.
    #[command(after_help = issue::EXAMPLE)]
    Issue(issue::Args),
    /// Write the discovery document and JWKS for static hosting.
    #[command(after_help = publish::EXAMPLE)]
    Publish(publish::Args),
    /// Serve the discovery document and JWKS over HTTP.
    #[command(after_help = serve::EXAMPLE)]
    Serve(serve::Args),
    /// Verify a token against its issuer's published keys and expected claims.
    #[command(after_help = verify::EXAMPLE)]
    Verify(verify::Args),
}

pub fn run(command: Command) -> CmdResult {
    match command {
        Command::Keygen(args) => keygen::run(args),
        Command::Issue(args) => issue::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Verify(args) => verify::run(args),
    }
}

/// Loads KEYDIR, turning errors into one clear line with a hint.
fn load_keys(dir: &std::path::Path) -> Result<shipgate_oidc::KeyRing, CliError> {
    shipgate_oidc::KeyDir::new(dir).load().map_err(|err| {
        let missing = matches!(&err, shipgate_oidc::KeyDirError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound);
        let hint = match err {
            shipgate_oidc::KeyDirError::Empty(_) => {
                format!(
                    "create a key with `shipgate oidc keygen --dir {}`",
                    dir.display()
                )
            }
            _ if missing => {
                format!(
                    "create a key with `shipgate oidc keygen --dir {}`",
                    dir.display()
                )
            }
            _ => {
                "every *.pem file in the key directory must be a key made by `shipgate oidc keygen`"
                    .to_owned()
            }
        };
        CliError::usage(format!("key directory {err}")).hint(hint)
    })
}

/// Checks an issuer URL given on the command line.
fn check_issuer(issuer: &str) -> Result<(), CliError> {
    shipgate_oidc::check_url(issuer).map(|_| ()).map_err(|err| {
        CliError::usage(format!("--issuer {err}"))
            .hint("use an https URL, or http://127.0.0.1:PORT for a local issuer")
    })
}

/// Runs a future of the library's async API to completion.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, CliError> {
    shipgate_oidc::server::block_on(future)
        .map_err(|err| CliError::usage(format!("cannot start the async runtime: {err}")))
}
