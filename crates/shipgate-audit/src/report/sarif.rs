//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. Columns count
//! Unicode code points (`columnKind: unicodeCodePoints`), paths are relative
//! to `%SRCROOT%` (the current directory), and `partialFingerprints` use the
//! YAML path so alerts survive unrelated line moves.

use serde_json::{Value, json};

use crate::engine::Report;
use crate::finding::{Location, Severity};
use crate::rules::{self, RuleMeta};

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// CamelCase name of a rule id (`unpinned-action` → `UnpinnedAction`).
fn camel(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn percent_encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rule(meta: &RuleMeta) -> Value {
    let markdown = format!(
        "**{}**\n\n{}\n\n**How to fix:** {}\n\n[Documentation]({})",
        meta.summary,
        meta.risk,
        meta.fix,
        meta.help_uri()
    );
    json!({
        "id": meta.id,
        "name": camel(meta.id),
        "shortDescription": { "text": meta.summary },
        "fullDescription": { "text": meta.risk },
        "help": { "text": format!("{}\n\nHow to fix: {}", meta.risk, meta.fix), "markdown": markdown },
        "helpUri": meta.help_uri(),
        "defaultConfiguration": { "level": super::level(meta.severity) },
        "properties": {
            "security-severity": security_severity(meta.severity),
            "precision": meta.confidence.as_str(),
            "tags": ["security", "github-actions", "supply-chain"],
        },
    })
}

fn physical(file: &str, loc: &Location) -> Value {
    let artifact = if file.starts_with('/') {
        json!({ "uri": format!("file://{}", percent_encode_path(file)) })
    } else {
        json!({ "uri": percent_encode_path(file), "uriBaseId": "%SRCROOT%" })
    };
    // SARIF regions must not be empty: an empty span covers one column.
    let (end_line, end_column) =
        if loc.end.line == loc.start.line && loc.end.column <= loc.start.column {
            (loc.start.line, loc.start.column + 1)
        } else {
            (loc.end.line, loc.end.column)
        };
    json!({
        "artifactLocation": artifact,
        "region": {
            "startLine": loc.start.line,
            "startColumn": loc.start.column,
            "endLine": end_line,
            "endColumn": end_column,
        },
    })
}

/// The `file://` URI of a directory (absolute path), ending in `/`, for `%SRCROOT%`.
pub fn root_uri(dir: &std::path::Path) -> String {
    let path = dir.to_string_lossy().replace('\\', "/");
    let path = path.trim_end_matches('/');
    let lead = if path.starts_with('/') { "" } else { "/" };
    format!("file://{lead}{}/", percent_encode_path(path))
}

/// Renders the report. `srcroot` is the absolute `file://` URI of the
/// directory relative paths are resolved against (ending in `/`), if known.
pub fn render(report: &Report, srcroot: Option<&str>) -> String {
    let metas: Vec<&RuleMeta> = rules::all().collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = metas.iter().position(|m| m.id == f.rule.id).unwrap_or(0);
            let related: Vec<Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": physical(&f.file, r),
                        "message": { "text": r.label },
                    })
                })
                .collect();
            let mut result = json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": super::level(f.severity),
                "message": { "text": format!("{} ({})", f.message, f.location.label) },
                "locations": [{ "physicalLocation": physical(&f.file, &f.location) }],
                "partialFingerprints": { "shipgateFingerprint/v1": f.fingerprint() },
                "properties": {
                    "confidence": f.confidence.as_str(),
                    "severity": f.severity.as_str(),
                    "yamlPath": f.location.yaml_path,
                },
            });
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
        .collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": "shipgate",
                "informationUri": "https://github.com/shipgate/shipgate",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": metas.iter().map(|m| rule(m)).collect::<Vec<_>>(),
            }
        },
        "columnKind": "unicodeCodePoints",
        "invocations": [{ "executionSuccessful": true }],
        "results": results,
    });
    if let Some(root) = srcroot {
        run["originalUriBaseIds"] = json!({ "%SRCROOT%": { "uri": root } });
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(camel("unpinned-action"), "UnpinnedAction");
        assert_eq!(
            percent_encode_path(".github/workflows/a b.yml"),
            ".github/workflows/a%20b.yml"
        );
    }
}
