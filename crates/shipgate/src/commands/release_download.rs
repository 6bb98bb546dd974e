//! `shipgate release download ID --out DIR`: a maintainer downloads the
//! files of a release as staged, to look inside before approving. Each file
//! is checked against the size and SHA-256 announced at staging (shown by
//! `release show`); a mismatch exits 1 naming the file and removes it.

use std::path::PathBuf;
use std::process::ExitCode;

use shipgate_client::client::{Client, NoProgress};

use super::gate_ui::{client_error, printable};
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release id.
    id: String,
    /// The gate's base URL.
    #[arg(long, env = "SHIPGATE_GATE", value_name = "URL")]
    gate: String,
    /// Directory to write the files into (created; existing files are not overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args) -> CmdResult {
    let id = super::release::parse_id(&args.id)?;
    let client = Client::new(&args.gate).map_err(|e| client_error(e, &args.gate))?;
    let token = super::approve::maintainer_token(&args.gate)?;
    let view = client.show(id).map_err(|e| client_error(e, &args.gate))?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", args.out.display())))?;
    for file in &view.files {
        let dest = args.out.join(&file.path);
        let (size, sha256) = client
            .download_as_maintainer(
                &format!("/v1/releases/{id}/files/{}", file.path),
                &token,
                &dest,
                file.size,
                &NoProgress,
            )
            .map_err(|e| client_error(e, &args.gate))?;
        if size != file.size || sha256 != file.sha256 {
            let _ = std::fs::remove_file(&dest);
            return Err(CliError::check(format!(
                "{}: the gate sent {size} bytes with SHA-256 {sha256}, but {} bytes with SHA-256 {} were announced at staging",
                printable(&file.path),
                file.size,
                file.sha256
            )));
        }
        outln!("{}  {}", file.sha256, dest.display());
    }
    Ok(ExitCode::SUCCESS)
}
