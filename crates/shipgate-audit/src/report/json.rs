//! `--format json`: a stable, documented schema (see the README, "JSON
//! output"). Bump [`SCHEMA_VERSION`] on any incompatible change; adding
//! fields is compatible.

use serde::Serialize;

use crate::engine::Report;
use crate::finding::{Confidence, FixSafety, Location, Severity};
use crate::model::FileKind;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Output<'a> {
    schema_version: u32,
    tool: Tool,
    files: Vec<File<'a>>,
    findings: Vec<JsonFinding<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct File<'a> {
    path: &'a str,
    kind: FileKind,
    read: bool,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    severity: Severity,
    confidence: Confidence,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    yaml_path: &'a str,
    message: &'a str,
    explanation: &'a str,
    remediation: &'static str,
    help_uri: String,
    fix: Option<JsonFix<'a>>,
    related: Vec<Related<'a>>,
    fingerprint: String,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    mode: FixSafety,
    description: &'a str,
}

#[derive(Serialize)]
struct Related<'a> {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    yaml_path: &'a str,
    label: &'a str,
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    high: usize,
    medium: usize,
    low: usize,
    suppressed: usize,
    below_threshold: usize,
    files: usize,
}

fn related(l: &Location) -> Related<'_> {
    Related {
        line: l.start.line,
        column: l.start.column,
        end_line: l.end.line,
        end_column: l.end.column,
        yaml_path: &l.yaml_path,
        label: &l.label,
    }
}

pub fn render(report: &Report) -> String {
    let output = Output {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "shipgate",
            version: env!("CARGO_PKG_VERSION"),
        },
        files: report
            .files
            .iter()
            .map(|f| File {
                path: &f.display,
                kind: f.kind,
                read: f.read,
            })
            .collect(),
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding {
                rule: f.rule.id,
                severity: f.severity,
                confidence: f.confidence,
                file: &f.file,
                line: f.location.start.line,
                column: f.location.start.column,
                end_line: f.location.end.line,
                end_column: f.location.end.column,
                yaml_path: &f.location.yaml_path,
                message: &f.message,
                explanation: f.explanation(),
                remediation: f.rule.fix,
                help_uri: f.rule.help_uri(),
                fix: f.fix.as_ref().map(|x| JsonFix {
                    mode: x.safety,
                    description: &x.description,
                }),
                related: f.related.iter().map(related).collect(),
                fingerprint: f.fingerprint(),
            })
            .collect(),
        summary: Summary {
            total: report.findings.len(),
            high: report.count(Severity::High),
            medium: report.count(Severity::Medium),
            low: report.count(Severity::Low),
            suppressed: report.suppressed,
            below_threshold: report.below_threshold,
            files: report.files.len(),
        },
    };
    let mut s =
        serde_json::to_string_pretty(&output).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
