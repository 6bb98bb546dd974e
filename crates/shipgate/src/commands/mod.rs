//! One file per command (or command group). Each exposes `Args` (clap) and
//! `run(args) -> CmdResult`.

mod audit;
mod demo;
mod keygen;
mod oidc;
mod policy;
mod sign;
mod verify;

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
    }
}
