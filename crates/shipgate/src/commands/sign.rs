//! `shipgate sign`: write module manifests and sign them.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use shipgate_manifest::git::{BumpPart, bumped_version, modules_changed_since, version_at_ref};
use shipgate_manifest::github::{Origin, check_not_fork};
use shipgate_manifest::keys::{PASSWORD_ENV, SECRET_KEY_ENV};
use shipgate_manifest::module::{ManifestOptions, read_manifest, sign_module, write_manifest};
use shipgate_manifest::{ModuleName, ModuleVersion, SecretKeyFile, SigningKey};

use super::verify::HashProgress;
use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate sign modules/hello -s shipgate.key --version 1.2.0\n  SHIPGATE_SECRET_KEY=\"$(cat shipgate.key)\" shipgate sign modules/*\n  shipgate sign --checksum-only modules/hello\n  shipgate sign --changed-since origin/main modules --bump patch\n\nWrites DIR/shipgate.manifest and DIR/shipgate.manifest.minisig (verifiable\nwith `minisign -Vm DIR/shipgate.manifest -p shipgate.pub`)."
)]
pub struct Args {
    /// Module directories; with --changed-since, the one ROOT to search for modules.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Secret key file (default: the key file's contents in SHIPGATE_SECRET_KEY).
    #[arg(short = 's', long = "secret-key", value_name = "SECRET_KEY_FILE")]
    secret_key: Option<PathBuf>,
    /// Write or refresh the manifests only; no key needed (the dev-branch path).
    #[arg(long, conflicts_with = "secret_key")]
    checksum_only: bool,
    /// Module name to record (default: the existing manifest's, else the directory name).
    #[arg(long, value_name = "N")]
    name: Option<String>,
    /// Module version to record (default: the existing manifest's, else 0.0.0).
    #[arg(long, value_name = "V")]
    version: Option<String>,
    /// Sign only the modules under ROOT whose files differ from this git ref.
    #[arg(long, value_name = "GIT_REF")]
    changed_since: Option<String>,
    /// With --changed-since: raise each changed module's version (once) above its version at GIT_REF.
    #[arg(long, value_enum, requires = "changed_since")]
    bump: Option<Bump>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Bump {
    Patch,
    Minor,
    Major,
}

impl From<Bump> for BumpPart {
    fn from(bump: Bump) -> Self {
        match bump {
            Bump::Patch => BumpPart::Patch,
            Bump::Minor => BumpPart::Minor,
            Bump::Major => BumpPart::Major,
        }
    }
}

/// Reads the signing key from `-s FILE` or `$SHIPGATE_SECRET_KEY`, asking
/// for the password of an encrypted key (`$SHIPGATE_KEY_PASSWORD` or the terminal).
pub fn load_signing_key(path: Option<&Path>) -> Result<SigningKey, CliError> {
    let file = match path {
        Some(path) => SecretKeyFile::from_file(path).map_err(|e| {
            CliError::usage(e).hint("pass the secret key written by `shipgate keygen` or `minisign -G` (not the .pub file)")
        })?,
        None => match std::env::var(SECRET_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                SecretKeyFile::parse(&text, &format!("${SECRET_KEY_ENV}")).map_err(CliError::usage)?
            }
            _ => {
                return Err(CliError::usage("no secret key: pass -s SECRET_KEY_FILE or set SHIPGATE_SECRET_KEY")
                    .hint("use --checksum-only to write manifests without a key (dev branches)"));
            }
        },
    };
    let password = if file.is_encrypted() {
        Some(match std::env::var(PASSWORD_ENV) {
            Ok(password) => password,
            Err(_) if std::io::stdin().is_terminal() => {
                rpassword::prompt_password(format!("Password for {}: ", file.origin()))
                    .map_err(|e| CliError::usage(format!("cannot read the password: {e}")))?
            }
            Err(_) => {
                return Err(CliError::usage(format!(
                    "{}: secret key is encrypted and no password is available",
                    file.origin()
                ))
                .hint(format!("set {PASSWORD_ENV}, or run on a terminal")));
            }
        })
    } else {
        None
    };
    file.unlock(password.as_deref()).map_err(CliError::usage)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Signer {
    key: Option<SigningKey>,
    timestamp: u64,
    json: bool,
    results: Vec<Value>,
}

impl Signer {
    fn module(&mut self, dir: &Path, options: &ManifestOptions, why: &str) -> Result<(), CliError> {
        let progress = HashProgress::new(&dir.display().to_string());
        let report = |bytes: u64| progress.add(bytes);
        let callback: Option<&(dyn Fn(u64) + Sync)> = if progress.is_active() {
            Some(&report)
        } else {
            None
        };
        let (manifest, sha256, signed_by, note) = match &self.key {
            Some(key) => {
                let signed = sign_module(dir, key, options, self.timestamp, callback)
                    .map_err(CliError::usage)?;
                (
                    signed.manifest,
                    signed.sha256,
                    Some(key.key_id().to_string()),
                    String::new(),
                )
            }
            None => {
                let written = write_manifest(dir, options, callback).map_err(CliError::usage)?;
                let note = match (written.changed, written.removed_stale_signature) {
                    (false, _) => " (unchanged)",
                    (true, true) => " (removed the stale signature of the old manifest)",
                    (true, false) => "",
                };
                (written.manifest, written.sha256, None, note.to_string())
            }
        };
        drop(progress);
        let (files, bytes) = manifest.file_totals();
        if !self.json {
            let what = match &signed_by {
                Some(key) => format!("signed with key {key}"),
                None => "manifest written, not signed".to_string(),
            };
            outln!(
                "✓ {}: {} {}, {files} files, {bytes} bytes, {what}{note}{why}",
                dir.display(),
                manifest.name(),
                manifest.version()
            );
        }
        if files == 0 {
            // Almost always a wrong path or a module whose files are all
            // excluded: a manifest of nothing verifies anything.
            errln!(
                "warning: {}: the module has no files; its manifest covers nothing (check the directory)",
                dir.display()
            );
        }
        self.results.push(json!({
            "dir": dir.display().to_string(),
            "action": if signed_by.is_some() { "signed" } else { "checksummed" },
            "name": manifest.name().as_str(),
            "version": manifest.version().as_str(),
            "files": files,
            "bytes": bytes,
            "manifest_sha256": sha256.to_hex(),
            "key_id": signed_by,
            "reason": why.trim_start_matches(" — "),
            "warnings": if files == 0 { vec!["the module has no files"] } else { Vec::new() },
        }));
        Ok(())
    }
}

fn label<T>(
    text: Option<&String>,
    make: fn(String) -> Result<T, shipgate_manifest::manifest::LabelError>,
    what: &str,
) -> Result<Option<T>, CliError> {
    text.map(|t| make(t.clone()).map_err(|e| CliError::usage(format!("--{what} {e}"))))
        .transpose()
}

pub fn run(args: Args) -> CmdResult {
    let name = label(args.name.as_ref(), ModuleName::new, "name")?;
    let version = label(args.version.as_ref(), ModuleVersion::new, "version")?;
    if name.is_some() && (args.dirs.len() > 1 || args.changed_since.is_some()) {
        return Err(CliError::usage(
            "--name applies to one module: give exactly one DIR",
        ));
    }
    let key = if args.checksum_only {
        None
    } else {
        // Before the key is even read: fork code must never reach it.
        let env = |n: &str| std::env::var(n).ok();
        match check_not_fork(&env).map_err(|e| {
            CliError::usage(e)
                .hint("sign after merging, or from a workflow that runs on the base repository")
        })? {
            Origin::SameRepository(repo) => {
                tracing::debug!("pull request from {repo} itself: signing allowed")
            }
            Origin::NotAPullRequest => {}
        }
        Some(load_signing_key(args.secret_key.as_deref())?)
    };
    let mut signer = Signer {
        key,
        timestamp: now(),
        json: args.json,
        results: Vec::new(),
    };
    let options = ManifestOptions { name, version };
    match &args.changed_since {
        None => {
            for dir in &args.dirs {
                signer.module(dir, &options, "")?;
            }
        }
        Some(git_ref) => changed_since(&mut signer, &args, git_ref, &options)?,
    }
    if args.json {
        jsonln!("{}", json!({ "modules": signer.results }));
    }
    Ok(ExitCode::SUCCESS)
}

fn changed_since(
    signer: &mut Signer,
    args: &Args,
    git_ref: &str,
    options: &ManifestOptions,
) -> Result<(), CliError> {
    let [root] = &args.dirs[..] else {
        return Err(CliError::usage(
            "--changed-since takes exactly one ROOT directory",
        ));
    };
    if !root.is_dir() {
        return Err(CliError::usage(format!(
            "{}: module root does not exist",
            root.display()
        )));
    }
    let modules = modules_changed_since(root, git_ref).map_err(CliError::usage)?;
    if modules.is_empty() && !args.json {
        outln!(
            "no modules under {} (a module is a directory holding shipgate.manifest)",
            root.display()
        );
    }
    for change in modules {
        let dir = if change.module.is_empty() {
            root.clone()
        } else {
            root.join(&change.module)
        };
        if change.changed.is_empty() {
            if !args.json {
                outln!("- {}: skipped, no change since {git_ref}", dir.display());
            }
            signer.results.push(json!({
                "dir": dir.display().to_string(),
                "action": "skipped",
                "reason": format!("no change since {git_ref}"),
            }));
            continue;
        }
        let mut options = options.clone();
        if let Some(bump) = args.bump {
            let current = read_manifest(&dir).map_err(CliError::usage)?;
            if let Some(current) = current {
                let at_ref =
                    version_at_ref(root, git_ref, &change.module).map_err(CliError::usage)?;
                let version =
                    bumped_version(current.manifest.version(), at_ref.as_ref(), bump.into())
                        .map_err(|e| CliError::usage(format!("{}: {e}", current.path.display())))?;
                options.version = Some(version);
            }
        }
        let first = &change.changed[0];
        let more = change.changed.len() - 1;
        let why = if more == 0 {
            format!(" — changed since {git_ref}: {first}")
        } else {
            format!(" — changed since {git_ref}: {first} and {more} more")
        };
        signer.module(&dir, &options, &why)?;
    }
    Ok(())
}
