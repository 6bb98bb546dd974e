//! `shipgate keygen`: an Ed25519 key pair in minisign's file formats.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shipgate_manifest::keys::{PASSWORD_ENV, SECRET_KEY_ENV, generate_key_pair};
use shipgate_manifest::module::write_atomically_with_mode;

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate keygen -s shipgate.key -p shipgate.pub\n  SHIPGATE_KEY_PASSWORD=... shipgate keygen -s shipgate.key -p shipgate.pub --password\n  shipgate keygen -s ci.key -p ci.pub --json\n\nThe secret key is unencrypted by default so that CI can hold it in a secret\n(SHIPGATE_SECRET_KEY); the public key works with `minisign -V -p shipgate.pub`."
)]
pub struct Args {
    /// Secret key file to write (created with mode 0600).
    #[arg(short = 's', long = "secret-key", value_name = "SECRET_KEY_FILE")]
    secret_key: PathBuf,
    /// Public key file to write.
    #[arg(short = 'p', long = "public-key", value_name = "PUBLIC_KEY_FILE")]
    public_key: PathBuf,
    /// Encrypt the secret key with a password (from SHIPGATE_KEY_PASSWORD, or asked for on the terminal).
    #[arg(long)]
    password: bool,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
    /// Print `{secret_key, public_key, key_id, encrypted}` as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads a new password: `$SHIPGATE_KEY_PASSWORD`, or asked twice on the terminal.
fn new_password() -> Result<String, CliError> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        if password.is_empty() {
            return Err(CliError::usage(format!("{PASSWORD_ENV} is set but empty")));
        }
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            CliError::usage("--password needs a terminal to ask for the password")
                .hint(format!("set {PASSWORD_ENV} instead")),
        );
    }
    let first = rpassword::prompt_password("Password for the new secret key: ")
        .map_err(|e| CliError::usage(format!("cannot read the password: {e}")))?;
    let second = rpassword::prompt_password("Password (again): ")
        .map_err(|e| CliError::usage(format!("cannot read the password: {e}")))?;
    if first != second {
        return Err(CliError::usage("the two passwords differ"));
    }
    if first.is_empty() {
        return Err(
            CliError::usage("empty password").hint("omit --password for an unencrypted key")
        );
    }
    Ok(first)
}

fn write_key(path: &Path, contents: &str, mode: u32) -> Result<(), CliError> {
    write_atomically_with_mode(path, contents.as_bytes(), Some(mode)).map_err(CliError::usage)
}

pub fn run(args: Args) -> CmdResult {
    if args.secret_key == args.public_key {
        return Err(CliError::usage(
            "the secret and public key files must differ",
        ));
    }
    if !args.force {
        for path in [&args.secret_key, &args.public_key] {
            if path.symlink_metadata().is_ok() {
                return Err(CliError::usage(format!("{}: already exists; refusing to overwrite it", path.display()))
                    .hint("pass --force to replace the key pair (signatures made with the old key will no longer verify)"));
            }
        }
    }
    let password = if args.password {
        Some(new_password()?)
    } else {
        None
    };
    let pair = generate_key_pair(password.as_deref()).map_err(CliError::usage)?;
    write_key(&args.secret_key, &pair.secret_key_file, 0o600)?;
    write_key(&args.public_key, &pair.public_key_file, 0o644)?;
    if args.json {
        jsonln!(
            "{}",
            serde_json::json!({
                "secret_key": args.secret_key.display().to_string(),
                "public_key": args.public_key.display().to_string(),
                "key_id": pair.key_id.to_string(),
                "encrypted": password.is_some(),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let encryption = if password.is_some() {
        "encrypted with your password"
    } else {
        "unencrypted"
    };
    outln!(
        "✓ secret key {} ({encryption}, mode 0600)",
        args.secret_key.display()
    );
    outln!(
        "✓ public key {} (key ID {})",
        args.public_key.display(),
        pair.key_id
    );
    outln!(
        "Keep the secret key out of the repository; in CI store its contents in the {SECRET_KEY_ENV} secret."
    );
    Ok(ExitCode::SUCCESS)
}
