//! Output formats. Each renders a whole [`Report`] to a string.

mod github;
mod human;
mod json;
mod sarif;
mod visible;

pub use github::render as github;
pub use human::render as human;
pub use json::{SCHEMA_VERSION, render as json};
pub use sarif::{render as sarif, root_uri as sarif_root_uri};

use crate::finding::Severity;

/// The format of `shipgate audit --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

/// "error" / "warning" / "note", as rustc, SARIF and GitHub name levels.
pub(crate) fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}
