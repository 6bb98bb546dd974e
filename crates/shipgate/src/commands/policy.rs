//! `shipgate policy explain`: which mode the trust policy picks, and why.
//! Also the policy resolution shared with `shipgate verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use shipgate_manifest::policy::{
    ContextSource, ModeSource, PolicyConfig, PolicySource, Request, Resolution, ResolveError,
    resolve,
};
use shipgate_manifest::{Context, Mode};

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the context, how it was found, the mode that applies and the rule that chose it.
    #[command(
        after_help = "Example:\n  shipgate policy explain\n  shipgate policy explain --context pr:main --json\n  GITHUB_EVENT_NAME=push GITHUB_REF=refs/heads/main shipgate policy explain"
    )]
    Explain(PolicyArgs),
}

/// The policy flags shared by `verify` and `policy explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// Context: local, install, push:<branch> or pr:<base-branch> (default: from GitHub Actions variables).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<Context>,
    /// Policy file (default: ./shipgate.toml when it exists, else the built-in policy).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Mode to use instead of the policy's: raising is always allowed; lowering needs --allow-downgrade.
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub mode: Option<Mode>,
    /// Allow --mode (or --context) to lower the mode the policy gives the CI context (never for install).
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    text.parse()
        .map_err(|e: shipgate_manifest::policy::BadMode| e.to_string())
}

/// Loads the policy and resolves the mode; prints any warning to stderr.
pub fn resolve_policy(args: &PolicyArgs) -> Result<(PolicyConfig, Resolution), CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("cannot read the working directory: {e}")))?;
    let config = PolicyConfig::discover(args.policy.as_deref(), &cwd).map_err(CliError::usage)?;
    let env = |name: &str| std::env::var(name).ok();
    let resolution = resolve(&Request {
        context_flag: args.context.clone(),
        mode_flag: args.mode,
        allow_downgrade: args.allow_downgrade,
        config: &config,
        env: &env,
    })
    .map_err(|e| {
        let hint = match e {
            ResolveError::InstallCannotBeLowered(_) => {
                "nothing can lower install; verify with the publisher's public key (-p)"
            }
            _ => "add --allow-downgrade to lower it on purpose (it is printed as a warning)",
        };
        CliError::usage(e).hint(hint)
    })?;
    for warning in &resolution.warnings {
        errln!("warning: {warning}");
    }
    Ok((config, resolution))
}

/// How the context was found, in words.
pub fn describe_source(source: &ContextSource) -> String {
    match source {
        ContextSource::Flag => "--context flag".to_string(),
        ContextSource::Environment(vars) => {
            let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("GitHub Actions environment: {}", vars.join(", "))
        }
        ContextSource::NotInCi => {
            "default: no CI variables set (GITHUB_EVENT_NAME, GITHUB_ACTIONS, CI)".to_string()
        }
        ContextSource::Undetermined(why) => format!("undetermined: {why}"),
    }
}

fn describe_mode(resolution: &Resolution) -> String {
    match resolution.mode_source {
        ModeSource::Policy => resolution.mode.to_string(),
        ModeSource::Raised => format!(
            "{} (raised by --mode from {})",
            resolution.mode, resolution.policy_mode
        ),
        ModeSource::Downgraded => format!(
            "{} (LOWERED by --mode --allow-downgrade from {})",
            resolution.mode, resolution.policy_mode
        ),
    }
}

fn context_text(resolution: &Resolution) -> String {
    resolution
        .context
        .as_ref()
        .map_or_else(|| "(none)".to_string(), ToString::to_string)
}

/// One line for the top of `verify`'s report.
pub fn summary_line(resolution: &Resolution) -> String {
    format!(
        "policy: context {} ({}) -> {}; rule: {}",
        context_text(resolution),
        describe_source(&resolution.context_source),
        describe_mode(resolution),
        resolution.rule
    )
}

/// The resolution as JSON (shared with `verify --json`).
pub fn resolution_json(config: &PolicyConfig, resolution: &Resolution) -> Value {
    let (source_kind, variables, reason) = match &resolution.context_source {
        ContextSource::Flag => ("flag", json!({}), None),
        ContextSource::Environment(vars) => (
            "environment",
            Value::Object(vars.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            None,
        ),
        ContextSource::NotInCi => ("default", json!({}), None),
        ContextSource::Undetermined(why) => ("undetermined", json!({}), Some(why.clone())),
    };
    let policy_file = match config.source() {
        PolicySource::BuiltIn => Value::Null,
        PolicySource::File(path) => json!(path.display().to_string()),
    };
    json!({
        "context": resolution.context.as_ref().map(ToString::to_string),
        "context_source": source_kind,
        "variables": variables,
        "undetermined_reason": reason,
        "policy_file": policy_file,
        "protected_branches": config.protected_branches(),
        "policy_mode": resolution.policy_mode.as_str(),
        "rule": resolution.rule,
        "mode": resolution.mode.as_str(),
        "mode_source": match resolution.mode_source {
            ModeSource::Policy => "policy",
            ModeSource::Raised => "raised",
            ModeSource::Downgraded => "downgraded",
        },
        "warnings": resolution.warnings,
    })
}

pub fn run(command: Command) -> CmdResult {
    let Command::Explain(args) = command;
    let (config, resolution) = resolve_policy(&args)?;
    if args.json {
        jsonln!("{}", resolution_json(&config, &resolution));
        return Ok(ExitCode::SUCCESS);
    }
    let policy = match config.source() {
        PolicySource::BuiltIn => "built-in default".to_string(),
        PolicySource::File(path) => display(path),
    };
    outln!("context: {}", context_text(&resolution));
    outln!("  from:  {}", describe_source(&resolution.context_source));
    outln!(
        "policy:  {policy} (protected branches: {})",
        config.protected_branches().join(", ")
    );
    outln!("rule:    {}", resolution.rule);
    outln!("mode:    {}", describe_mode(&resolution));
    Ok(ExitCode::SUCCESS)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
