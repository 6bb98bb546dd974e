//! One file per command (or command group). Each exposes `Args` (clap) and
//! `run(args) -> CmdResult`.

mod admin;
mod admin_backup;
mod admin_migrate;
mod approve;
mod audit;
mod completions;
mod demo;
mod fetch;
mod gate_demo;
mod gate_ui;
mod keygen;
mod log;
mod man;
mod oidc;
mod policy;
mod reject;
mod release;
mod release_download;
mod release_publishing;
mod releases;
mod serve;
mod sign;
mod stage;
mod verify;
mod witness;

use clap::Subcommand;

use crate::exit::CmdResult;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an Ed25519 key pair in minisign's file formats.
    Keygen(keygen::Args),
    /// Write module manifests and sign them.
    Sign(sign::Args),
    /// Check module trees against their manifests and signatures.
    Verify(verify::Args),
    /// Show which verification mode the trust policy picks, and why.
    #[command(
        subcommand,
        after_help = "Example:\n  shipgate policy explain --context push:main"
    )]
    Policy(policy::Command),
    /// Issue, publish, serve and verify short-lived OIDC execution tokens.
    #[command(
        subcommand,
        after_help = "Example:\n  shipgate oidc keygen --dir keys\n  shipgate oidc issue --keys keys --issuer https://ci.example.com --audience deploy --subject job:42\n  shipgate oidc verify --issuer https://ci.example.com --audience deploy --token-file token.jwt"
    )]
    Oidc(oidc::Command),
    /// Audit GitHub Actions workflows for release-path mistakes.
    Audit(audit::Args),
    /// Run the end-to-end demo and print each step.
    Demo(demo::Args),
    /// Run the release gate server.
    Serve(serve::Args),
    /// Stage a release on the gate from CI (never publishes).
    Stage(stage::Args),
    /// List releases on a gate.
    Releases(releases::Args),
    /// Inspect one release on a gate.
    #[command(
        subcommand,
        after_help = "Example:\n  shipgate release show 42 --gate https://gate.example.com"
    )]
    Release(release::Command),
    /// Approve a staged release (maintainer token + TOTP code).
    Approve(approve::Args),
    /// Reject a staged release with a reason (maintainer token + TOTP code).
    Reject(reject::Args),
    /// Download a released version and verify it against the gate's signature.
    Fetch(fetch::Args),
    /// Local gate administration: enrol, unlock, revoke and inspect maintainers.
    #[command(
        subcommand,
        after_help = "Example:\n  shipgate admin enroll alice --package hello --config gate.toml\n  shipgate admin unlock alice --config gate.toml\n  shipgate admin revoke alice --config gate.toml\n  shipgate admin status --config gate.toml"
    )]
    Admin(admin::Command),
    /// Audit a gate's transparency log: verify consistency, list events.
    #[command(
        subcommand,
        after_help = "Example:\n  shipgate log verify --gate https://gate.example.com --checkpoint gate.checkpoint\n  shipgate log show --gate https://gate.example.com --limit 20"
    )]
    Log(log::Command),
    /// Run a transparency-log witness: cosign consistent checkpoints of the logs it follows.
    #[command(
        subcommand,
        after_help = "Example:\n  shipgate witness keygen --name witness.example.com/w1 --key witness.key\n  shipgate witness serve --key witness.key --listen 127.0.0.1:7380 --state witness-state --log \"$(curl -s https://gate.example.com/v1/log/key)\""
    )]
    Witness(witness::Command),
    /// Print a shell completion script (bash, zsh, fish, PowerShell).
    Completions(completions::Args),
    /// Write manual pages, one per command and subcommand.
    Man(man::Args),
}

pub fn run(command: Command) -> CmdResult {
    match command {
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Policy(command) => policy::run(command),
        Command::Oidc(command) => oidc::run(command),
        Command::Audit(args) => audit::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Stage(args) => stage::run(args),
        Command::Releases(args) => releases::run(args),
        Command::Release(command) => release::run(command),
        Command::Approve(args) => approve::run(args),
        Command::Reject(args) => reject::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::Admin(command) => admin::run(command),
        Command::Log(command) => log::run(command),
        Command::Witness(command) => witness::run(command),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
