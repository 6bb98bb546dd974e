//! `shipgate verify`: check module trees against their manifests and
//! signatures under the trust policy's mode.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use shipgate_manifest::module::{ModuleReport, Outcome, SignatureCheck, verify_module};
use shipgate_manifest::signature::{CommentKind, SignatureErrorKind};
use shipgate_manifest::{PublicKey, SIGNATURE_FILE};

use super::policy::{PolicyArgs, resolution_json, resolve_policy, summary_line};
use crate::exit::{CliError, CmdResult, USAGE, check_failed};
use shipgate_oidc::civil_from_days;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate verify modules/hello -p shipgate.pub\n  shipgate verify modules/* --mode checksum-only\n  shipgate verify modules/hello -p old.pub -p new.pub --context install --json\n\nExit codes: 0 every module passed, 1 a module failed (a file added, missing or\nchanged, a signature missing or invalid), 2 usage or input error (unreadable\nkey, malformed manifest, module directory that does not exist)."
)]
pub struct Args {
    /// Module directories (each holds shipgate.manifest).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Trusted public key (minisign format); repeat to accept any of several keys.
    #[arg(short = 'p', long = "public-key", value_name = "PUBLIC_KEY_FILE")]
    public_keys: Vec<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// A progress bar for hashing on stderr, only when stderr is a terminal.
pub struct HashProgress(Option<indicatif::ProgressBar>);

impl HashProgress {
    pub fn new(label: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg}: {bytes} hashed ({bytes_per_sec})",
        ) {
            bar.set_style(style);
        }
        bar.set_message(label.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self(Some(bar))
    }

    /// Advances by `bytes`.
    pub fn add(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }

    pub fn is_active(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for HashProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn load_keys(paths: &[PathBuf]) -> Result<Vec<PublicKey>, CliError> {
    paths
        .iter()
        .map(|path| {
            PublicKey::from_file(path).map_err(|e| {
                CliError::usage(e).hint("pass the public key file written by `shipgate keygen` or `minisign -G` (the .pub file)")
            })
        })
        .collect()
}

pub fn run(args: Args) -> CmdResult {
    let (config, resolution) = resolve_policy(&args.policy)?;
    let keys = load_keys(&args.public_keys)?;
    let mut reports = Vec::with_capacity(args.dirs.len());
    for dir in &args.dirs {
        let progress = HashProgress::new(&dir.display().to_string());
        let report_progress = |bytes: u64| progress.add(bytes);
        let callback: Option<&(dyn Fn(u64) + Sync)> = if progress.is_active() {
            Some(&report_progress)
        } else {
            None
        };
        reports.push(verify_module(dir, &keys, resolution.mode, callback));
    }
    let code = exit_code(&reports);
    if args.policy.json {
        let modules: Vec<Value> = reports.iter().map(module_json).collect();
        let out = json!({
            "ok": code == 0,
            "exit_code": code,
            "policy": resolution_json(&config, &resolution),
            "modules": modules,
        });
        jsonln!("{out}");
    } else {
        outln!("{}", summary_line(&resolution));
        for report in &reports {
            print_report(report);
        }
        print_summary(&reports, code);
    }
    Ok(match code {
        0 => ExitCode::SUCCESS,
        1 => check_failed(),
        _ => ExitCode::from(USAGE),
    })
}

fn exit_code(reports: &[ModuleReport]) -> u8 {
    let outcomes: Vec<Outcome> = reports.iter().map(ModuleReport::outcome).collect();
    if outcomes.contains(&Outcome::Error) {
        2
    } else if outcomes.contains(&Outcome::Fail) {
        1
    } else {
        0
    }
}

fn signature_text(report: &ModuleReport) -> String {
    match &report.signature {
        SignatureCheck::Valid(verified) => {
            let legacy = if verified.prehashed {
                ""
            } else {
                ", legacy format"
            };
            match &verified.comment {
                CommentKind::Shipgate(comment) => format!(
                    "signed by key {} at {}{legacy}",
                    verified.key_id,
                    format_time(comment.timestamp)
                ),
                CommentKind::Foreign(_) => format!(
                    "signed by key {} (no shipgate trusted comment){legacy}",
                    verified.key_id
                ),
            }
        }
        SignatureCheck::Absent => "unsigned".to_string(),
        SignatureCheck::Invalid(error) if matches!(error.kind, SignatureErrorKind::NoPublicKey) => {
            "signed, but no public key was given to check the signature".to_string()
        }
        SignatureCheck::Invalid(_) => "signature INVALID".to_string(),
        SignatureCheck::NotChecked => "signature not checked".to_string(),
    }
}

fn print_report(report: &ModuleReport) {
    let dir = report.dir.display();
    if report.outcome() == Outcome::Error {
        for failure in report.failures() {
            errln!("error: {failure}");
        }
        outln!("✗ {dir}: could not be checked");
        return;
    }
    let label = report
        .manifest
        .as_ref()
        .map(|m| {
            let (files, _) = m.file_totals();
            format!(
                "{} {}, {files} files, {}",
                m.name(),
                m.version(),
                signature_text(report)
            )
        })
        .unwrap_or_default();
    match report.outcome() {
        Outcome::Pass => outln!("✓ {dir}: {label}"),
        _ => outln!("✗ {dir}: {label}"),
    }
    if let Some(Ok(diff)) = &report.tree {
        let base = report.dir.clone();
        for path in &diff.added {
            outln!("    added    {}", base.join(path.as_str()).display());
        }
        for path in &diff.missing {
            outln!("    missing  {}", base.join(path.as_str()).display());
        }
        for (path, change) in &diff.changed {
            outln!(
                "    changed  {}: {change}",
                base.join(path.as_str()).display()
            );
        }
    }
    for failure in report.failures() {
        if !failure.ends_with("differ from the manifest") {
            outln!("    {failure}");
        }
    }
    for warning in report.warnings() {
        errln!("warning: {warning}");
    }
}

fn print_summary(reports: &[ModuleReport], code: u8) {
    let failed = reports
        .iter()
        .filter(|r| r.outcome() != Outcome::Pass)
        .count();
    if code == 0 {
        outln!("all {} module(s) verified", reports.len());
        return;
    }
    if code == 2 {
        errln!(
            "error: {failed} of {} module(s) failed or could not be checked",
            reports.len()
        );
        return;
    }
    errln!(
        "error: {failed} of {} module(s) failed verification",
        reports.len()
    );
    let unsigned = reports
        .iter()
        .any(|r| matches!(r.signature, SignatureCheck::Absent) && r.outcome() == Outcome::Fail);
    if reports.iter().any(|r| r.manifest_missing) {
        errln!(
            "hint: write a manifest with `shipgate sign --checksum-only DIR` (or sign it with `shipgate sign DIR -s KEY`)"
        );
    } else if unsigned {
        errln!(
            "hint: this context requires a signature: sign with `shipgate sign DIR -s KEY` (CI signs on approval); `shipgate policy explain` shows why"
        );
    } else if reports.iter().any(|r| {
        matches!(&r.signature, SignatureCheck::Invalid(e) if matches!(e.kind, SignatureErrorKind::NoPublicKey))
    }) {
        errln!(
            "hint: the module is signed: pass the signer's public key, e.g. `shipgate verify DIR -p shipgate.pub` (a present signature is always checked)"
        );
    } else if reports
        .iter()
        .any(|r| matches!(r.signature, SignatureCheck::Invalid(_)))
    {
        errln!(
            "hint: pass the signer's public key with -p; if the module changed on purpose, re-sign it with `shipgate sign`"
        );
    } else {
        errln!(
            "hint: if the changes are intended, refresh the manifest with `shipgate sign --checksum-only DIR` (or re-sign it)"
        );
    }
}

fn module_json(report: &ModuleReport) -> Value {
    let outcome = match report.outcome() {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Error => "error",
    };
    let (added, missing, changed, tree_error) = match &report.tree {
        Some(Ok(diff)) => (
            diff.added.iter().map(|p| json!(p.as_str())).collect(),
            diff.missing.iter().map(|p| json!(p.as_str())).collect(),
            diff.changed
                .iter()
                .map(|(p, c)| json!({"path": p.as_str(), "reason": c.to_string()}))
                .collect(),
            Value::Null,
        ),
        Some(Err(e)) => (vec![], vec![], vec![], json!(e.to_string())),
        None => (vec![], vec![], vec![], Value::Null),
    };
    let signature = match &report.signature {
        SignatureCheck::NotChecked => json!({"status": "not-checked"}),
        SignatureCheck::Absent => json!({"status": "absent"}),
        SignatureCheck::Invalid(e) => json!({"status": "invalid", "error": e.to_string()}),
        SignatureCheck::Valid(v) => {
            let (comment, foreign) = match &v.comment {
                CommentKind::Shipgate(c) => (
                    json!({
                        "name": c.name.as_str(),
                        "version": c.version.as_str(),
                        "manifest_sha256": c.manifest_sha256.to_hex(),
                        "timestamp": c.timestamp,
                    }),
                    Value::Null,
                ),
                CommentKind::Foreign(text) => (Value::Null, json!(text)),
            };
            json!({
                "status": "valid",
                "key_id": v.key_id.to_string(),
                "key_file": v.key_origin,
                "prehashed": v.prehashed,
                "trusted_comment": comment,
                "foreign_trusted_comment": foreign,
            })
        }
    };
    json!({
        "dir": report.dir.display().to_string(),
        "outcome": outcome,
        "mode": report.mode.as_str(),
        "name": report.manifest.as_ref().map(|m| m.name().as_str()),
        "version": report.manifest.as_ref().map(|m| m.version().as_str()),
        "manifest_sha256": report.manifest_sha256.map(|d| d.to_hex()),
        "files": report.manifest.as_ref().map(|m| m.file_totals().0),
        "added": added,
        "missing": missing,
        "changed": changed,
        "tree_error": tree_error,
        "signature_file": report.dir.join(SIGNATURE_FILE).display().to_string(),
        "signature": signature,
        "failures": report.failures(),
        "warnings": report.warnings(),
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix timestamp (UTC; no time zone database).
pub fn format_time(timestamp: u64) -> String {
    // Any u64 divided by 86 400 fits an i64.
    let (year, month, day) = civil_from_days((timestamp / 86_400) as i64);
    let secs = timestamp % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_unix_time_as_utc() {
        assert_eq!(super::format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::format_time(951_782_400), "2000-02-29T00:00:00Z");
    }
}
