//! GitHub Actions workflow audit for the release path: workflow model, one
//! file per rule, suppressions, fixes and reporters.
//!
//! The entry point is [`audit`]: it takes discovered files (see
//! [`discover`]), a [`Config`] and [`Options`] and returns a [`Report`].
//! Everything is read-only except [`fix::apply_fixes`].

pub mod action_inputs;
pub mod analysis;
pub mod conditions;
pub mod config;
pub mod contexts;
pub mod discover;
pub mod engine;
pub mod error;
pub mod expr;
pub mod expr_eval;
pub mod finding;
pub mod fix;
pub mod goreleaser_config;
pub mod justfile;
pub mod local_actions;
pub mod makefile;
pub(crate) mod memo;
pub mod model;
pub mod publishing;
pub mod registries;
pub mod repo_files;
pub mod repo_scripts;
pub mod report;
pub mod route;
pub mod rules;
pub mod shell;
pub mod source;
pub mod suppress;
pub mod taskfile;
pub mod tox_ini;
pub mod yaml;

pub use config::Config;
pub use discover::{InputFile, discover};
pub use engine::{Options, Report, audit, audit_source, audit_source_with};
pub use error::{AuditError, ConfigError};
pub use finding::{Confidence, Finding, FixSafety, Severity};
