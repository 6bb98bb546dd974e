//! Fixture-driven rule tests. Every rule has a folder under
//! `tests/fixtures/rules/<rule-id>/`; files (or folders) named `pos-*` must
//! raise that rule exactly on the lines marked `# expect` (or `// expect`),
//! files named `neg-*` must not raise it at all. Findings of other rules are
//! ignored here (the seed and CLI tests look at whole reports).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use shipgate_audit::model::FileKind;
use shipgate_audit::{audit_source, rules};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn kind(path: &Path) -> FileKind {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("action.yml" | "action.yaml") => FileKind::Action,
        _ => FileKind::Workflow,
    }
}

/// Lines (1-based) of a rule's findings in a file.
fn finding_lines(path: &Path, rule: &str) -> Vec<usize> {
    let bytes = std::fs::read(path).unwrap();
    let (_, findings) = audit_source(&path.display().to_string(), kind(path), &bytes);
    let mut lines: Vec<usize> = findings
        .iter()
        .filter(|f| f.rule.id == rule)
        .map(|f| f.location.start.line)
        .collect();
    lines.sort_unstable();
    lines
}

fn expected_lines(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("# expect") || l.contains("// expect"))
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn every_rule_has_positive_and_negative_fixtures() {
    for meta in rules::all() {
        let dir = fixtures().join(meta.id);
        assert!(dir.is_dir(), "no fixtures for rule {}", meta.id);
        let files = files_under(&dir);
        let rel = |p: &Path| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
        assert!(
            files.iter().any(|p| rel(p).starts_with("pos-")),
            "{}: no positive fixture",
            meta.id
        );
        assert!(
            files.iter().any(|p| rel(p).starts_with("neg-")),
            "{}: no negative fixture",
            meta.id
        );
    }
}

#[test]
fn fixtures_raise_exactly_the_expected_findings() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for meta in rules::all() {
        let dir = fixtures().join(meta.id);
        for path in files_under(&dir) {
            let rel = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let got = finding_lines(&path, meta.id);
            let want = if rel.starts_with("pos-") {
                let want = expected_lines(&path);
                assert!(
                    !want.is_empty(),
                    "{}/{rel}: a positive fixture needs `# expect` markers",
                    meta.id
                );
                want
            } else {
                Vec::new()
            };
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{}/{rel}: expected lines {want:?}, got {got:?}",
                    meta.id
                ));
            }
        }
    }
    assert!(checked >= 40, "only {checked} fixtures checked");
    assert!(
        failures.is_empty(),
        "fixture mismatches:\n{}",
        failures.join("\n")
    );
}
