//! `shipgate audit`: release-path audit of GitHub Actions workflows. The
//! logic lives in `shipgate-audit`; this file parses flags, finds the
//! configuration, prints the report and picks the exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use shipgate_audit::report::{self, Format};
use shipgate_audit::{Config, FixSafety, Options, Severity, discover, fix};

use crate::exit::{CliError, CmdResult, check_failed};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SeverityArg {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FixArg {
    /// Fixes that cannot change behaviour beyond the finding.
    Safe,
    /// Also fixes that need review (root `permissions: {}` with per-job grants).
    All,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  shipgate audit                                   # the repository in the current directory
  shipgate audit .github/workflows/release.yml --min-severity high
  shipgate audit --format sarif > shipgate.sarif   # for GitHub code scanning
  shipgate audit --format github                   # annotations inside a workflow run
  shipgate audit --fix                             # safe fixes, prints a diff
  shipgate audit --fix=all                         # also root permissions: review the diff
  shipgate audit --actions-dir ~/src/actions       # check pins against local clones

  shipgate audit --format sarif --exit-zero > shipgate.sarif   # then upload-sarif

Exit codes: 0 no finding at or above --min-severity (or --exit-zero), 1 findings,
2 usage or input error.
Suppress a finding with a `# shipgate: ignore[rule-id]` comment on its line or the line
above, or in shipgate.toml: [audit] disable = [...], [audit.severity], [audit.ignore].
`shipgate audit --list-rules` lists every rule.")]
pub struct Args {
    /// Workflow files, action.yml files or directories (a repository root means its
    /// .github/workflows/*.yml|yaml and the action.yml files under it). Default: `.`
    ///
    /// Inside a repository, what a step starts is read too: local actions, scripts
    /// (`./release.sh`), package scripts (`npm run x`), `make`, `just`, `task` and `tox -e`
    /// targets.
    paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: FormatArg,

    /// Report only findings at or above this severity (and exit 1 only for them).
    #[arg(long, value_enum, default_value = "low")]
    min_severity: SeverityArg,

    /// Rewrite files in place and print a diff: `safe` (the default) or `all`.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "safe")]
    fix: Option<FixArg>,

    /// Configuration file (default: shipgate.toml in the current directory, else in the
    /// audited directory).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Show everything: ignore inline comments, [audit.ignore] and [audit] disable.
    #[arg(long)]
    no_ignores: bool,

    /// Exit 0 even when findings remain (for a CI step that must go on to upload the
    /// SARIF report); usage and input errors still exit 2.
    #[arg(long)]
    exit_zero: bool,

    /// Local clones of actions (`DIR/<owner>/<repo>`), to check that a pin's version
    /// comment names a tag that points at the pinned commit (`ref-version-mismatch`).
    #[arg(long, value_name = "DIR")]
    actions_dir: Option<PathBuf>,

    /// List the rules with their default severity and exit.
    #[arg(long)]
    list_rules: bool,
}

pub fn run(args: Args) -> CmdResult {
    if args.list_rules {
        for meta in shipgate_audit::rules::all() {
            rawln!(
                "{:<34} {:<7} {}",
                meta.id,
                meta.severity.as_str(),
                meta.summary
            );
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let config = load_config(args.config.as_deref(), &paths)?;
    let files = discover(&paths).map_err(|e| {
        CliError::usage(e)
            .hint("pass a workflow file, or a repository root that has `.github/workflows/`")
    })?;
    let options = Options {
        min_severity: match args.min_severity {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
        },
        no_ignores: args.no_ignores,
        actions_dir: args.actions_dir.clone(),
    };
    let format = match args.format {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Github => Format::Github,
    };
    let mut report = shipgate_audit::audit(&files, &config, &options);
    let mut refused = 0;

    if let Some(mode) = args.fix {
        let mode = match mode {
            FixArg::Safe => FixSafety::Safe,
            FixArg::All => FixSafety::All,
        };
        let fixed = fix::apply_fixes(&files, &report, mode).map_err(CliError::usage)?;
        let mut notes = String::new();
        for f in &fixed {
            notes.push_str(&f.diff);
            for line in &f.applied {
                notes.push_str(&format!("fixed {line}\n"));
            }
            if let Some(why) = &f.refused {
                notes.push_str(&format!("warning: not fixing {}: {why}\n", f.display));
            }
        }
        let changed = fixed.iter().filter(|f| f.refused.is_none()).count();
        refused = fixed.len() - changed;
        notes.push_str(&format!(
            "--fix changed {changed} file{}\n\n",
            if changed == 1 { "" } else { "s" }
        ));
        // Diffs go to stdout for people, to stderr when stdout is a machine format.
        if format == Format::Human {
            crate::output::raw(crate::output::Stream::Out, &notes);
        } else {
            crate::output::raw(crate::output::Stream::Err, &notes);
        }
        // Report what is left after the fixes.
        report = shipgate_audit::audit(&files, &config, &options);
    }

    let output = match format {
        Format::Human => report::human(&report, use_color()),
        Format::Json => report::json(&report),
        Format::Sarif => {
            let root = std::env::current_dir()
                .ok()
                .map(|d| report::sarif_root_uri(&d));
            report::sarif(&report, root.as_deref())
        }
        Format::Github => report::github(&report),
    };
    crate::output::raw(crate::output::Stream::Out, &output);

    if report.nothing_read() {
        return Err(
            CliError::usage("no input could be read: every file failed to open")
                .hint("check the paths and file permissions"),
        );
    }
    if args.exit_zero {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if refused > 0 {
        return Err(CliError::check(format!(
            "--fix left {refused} file{} unchanged because the fixed text failed verification",
            if refused == 1 { "" } else { "s" }
        ))
        .hint("apply the remaining fixes by hand; the warnings above say why"));
    }
    if report.findings.is_empty() {
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        Ok(check_failed())
    }
}

fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `--config FILE`, else `shipgate.toml` in the current directory, else in the
/// first audited directory that has one.
fn load_config(explicit: Option<&Path>, paths: &[PathBuf]) -> Result<Config, CliError> {
    let candidate = match explicit {
        Some(path) => Some(path.to_owned()),
        None => std::iter::once(PathBuf::from("shipgate.toml"))
            .chain(
                paths
                    .iter()
                    .filter(|p| p.is_dir())
                    .map(|p| p.join("shipgate.toml")),
            )
            .find(|p| p.is_file()),
    };
    match candidate {
        None => Ok(Config::default()),
        Some(path) => Config::load(&path).map_err(|e| {
            CliError::usage(e).hint("`[audit]` accepts `disable = [...]`, `[audit.severity]` and `[audit.ignore]`; `shipgate audit --list-rules` lists rule ids")
        }),
    }
}
