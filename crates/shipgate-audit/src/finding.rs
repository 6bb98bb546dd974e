//! Findings: what a rule emits (a `Draft`, with symbolic locations) and what
//! users see (a `Finding`, with resolved file positions).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::route::Loc;
use crate::rules::RuleMeta;
use crate::source::{ByteRange, Position};

/// How bad a finding is when it is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// How sure the rule is that the finding is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            other => Err(format!(
                "`{other}` is not a severity (expected low, medium or high)"
            )),
        }
    }
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which `--fix` mode applies a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixSafety {
    /// Cannot change behaviour beyond the finding: `--fix` / `--fix=safe`.
    Safe,
    /// Needs a human to review the result: `--fix=all`.
    All,
}

/// A symbolic edit, resolved against the document when the finding is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolicEdit {
    /// Replace the text of a location.
    Replace { at: Loc, text: String },
    /// Insert text `offset` bytes after the start of a location.
    Insert {
        at: Loc,
        offset: usize,
        text: String,
    },
    /// Insert whole lines before the line where a location starts. The
    /// location must be the first thing on its line.
    InsertLinesBefore { at: Loc, lines: String },
    /// Insert whole lines after the line where `at` ends, each indented to
    /// the column where `indent_of` starts (which must start its line after
    /// white space or a `- `).
    InsertLinesAfter {
        at: Loc,
        indent_of: Loc,
        lines: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    pub safety: FixSafety,
    pub description: String,
    pub edits: Vec<SymbolicEdit>,
}

/// What a rule reports, before positions are resolved.
#[derive(Debug, Clone)]
pub struct Draft {
    pub meta: &'static RuleMeta,
    pub severity: Severity,
    pub confidence: Confidence,
    pub message: String,
    pub primary: Loc,
    pub label: String,
    pub related: Vec<(Loc, String)>,
    pub fix: Option<FixPlan>,
    /// This finding's own explanation, when the rule's `risk` text is not
    /// specific enough (it names the actual reference, registry, ...).
    pub why: Option<String>,
}

impl Draft {
    pub fn new(
        meta: &'static RuleMeta,
        message: impl Into<String>,
        primary: Loc,
        label: impl Into<String>,
    ) -> Self {
        Self {
            meta,
            severity: meta.severity,
            confidence: meta.confidence,
            message: message.into(),
            primary,
            label: label.into(),
            related: Vec::new(),
            fix: None,
            why: None,
        }
    }

    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = confidence;
        self
    }

    pub fn related(mut self, loc: Loc, label: impl Into<String>) -> Self {
        self.related.push((loc, label.into()));
        self
    }

    pub fn fix(mut self, fix: FixPlan) -> Self {
        self.fix = Some(fix);
        self
    }
}

/// A resolved place in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Start (1-based line and column, column in characters).
    pub start: Position,
    /// End, exclusive (1-based).
    pub end: Position,
    #[serde(skip)]
    pub range: ByteRange,
    /// Symbolic YAML path, e.g. `jobs.publish.steps[2].run` ("" when unknown).
    pub yaml_path: String,
    /// What this place is, e.g. "credential granted here".
    pub label: String,
}

/// A resolved text edit (byte range in the file, replacement text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: ByteRange,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub safety: FixSafety,
    pub description: String,
    pub edits: Vec<Edit>,
}

/// One finding in one file.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub confidence: Confidence,
    pub file: String,
    pub location: Location,
    pub related: Vec<Location>,
    pub message: String,
    pub fix: Option<Fix>,
    /// This finding's explanation when it is more specific than the rule's.
    pub why: Option<String>,
}

impl Finding {
    /// Why the finding matters: its own explanation, else the rule's.
    pub fn explanation(&self) -> &str {
        self.why.as_deref().unwrap_or(self.rule.risk)
    }

    /// A stable identity for this finding that survives unrelated edits
    /// (it uses the YAML path, not the line number).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            self.rule.id,
            &self.file,
            &self.location.yaml_path,
            &self.message,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..16])
    }
}
