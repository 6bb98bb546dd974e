//! Fixture-driven rule tests. Every rule has a folder under
//! `tests/fixtures/rules/<rule-id>/`; files (or folders) named `pos-*` must
//! raise that rule exactly on the lines marked `# expect` (or `// expect`),
//! files named `neg-*` must not raise it at all. A marker may pin the
//! finding further: `# expect col=9 confidence=medium` (every finding of the
//! rule on that line starts at that column and has that confidence).
//! Findings of other rules are ignored here (the scenario and CLI tests look
//! at whole reports).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use shipgate_audit::engine::audit_file;
use shipgate_audit::model::FileKind;
use shipgate_audit::{InputFile, rules};

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

/// Commits of the action clone [`actions_dir`] builds (fixed author, dates
/// and content make them the same on every machine).
const V1_0_0: &str = "b18073fd594c83b3c92715783d982aae4796392b";
const V1_1_0: &str = "530d629120a31f5ad81692443e4a276f70cbe960";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .envs([
            ("GIT_AUTHOR_NAME", "fixture"),
            ("GIT_AUTHOR_EMAIL", "fixture@example.invalid"),
            ("GIT_COMMITTER_NAME", "fixture"),
            ("GIT_COMMITTER_EMAIL", "fixture@example.invalid"),
            ("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z"),
            ("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z"),
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("git is needed for the ref-version-mismatch fixtures: {e}"));
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A directory of local action clones for `--actions-dir`: `acme/setup-tool`
/// with an annotated tag `v1.0.0` and a lightweight tag `v1.1.0`.
fn actions_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("acme/setup-tool");
    std::fs::create_dir_all(&clone).unwrap();
    git(&clone, &["init", "-q", "-b", "main", "."]);
    std::fs::write(clone.join("action.yml"), "name: setup-tool\n").unwrap();
    git(&clone, &["add", "action.yml"]);
    git(&clone, &["commit", "-qm", "v1.0.0"]);
    git(&clone, &["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    std::fs::write(clone.join("action.yml"), "name: setup-tool 1.1\n").unwrap();
    git(&clone, &["commit", "-qam", "v1.1.0"]);
    git(&clone, &["tag", "v1.1.0"]);
    assert_eq!(git(&clone, &["rev-parse", "v1.0.0^{commit}"]), V1_0_0);
    assert_eq!(git(&clone, &["rev-parse", "v1.1.0^{commit}"]), V1_1_0);
    dir
}

/// A rule's findings in a file: (line, column, confidence), sorted. The file
/// is read from disk as the CLI reads it, so a fixture folder laid out as a
/// repository (`pos-x/.github/workflows/w.yml` with `pos-x/.github/actions/`)
/// has its local actions followed.
fn findings_of(path: &Path, rule: &str, actions: &Path) -> Vec<(usize, usize, String)> {
    let file = InputFile {
        path: path.to_path_buf(),
        display: path.display().to_string(),
        kind: kind(path),
    };
    let (_, findings) = audit_file(&file, Some(actions));
    let mut out: Vec<(usize, usize, String)> = findings
        .iter()
        .filter(|f| f.rule.id == rule)
        .map(|f| {
            (
                f.location.start.line,
                f.location.start.column,
                f.confidence.as_str().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// An `# expect` marker: its line and any `col=` / `confidence=` pins.
struct Expectation {
    line: usize,
    column: Option<usize>,
    confidence: Option<String>,
}

fn expectations(path: &Path) -> Vec<Expectation> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let at = l.find("# expect").or_else(|| l.find("// expect"))?;
            let attrs = l[at..].split_whitespace().skip(2);
            let mut e = Expectation {
                line: i + 1,
                column: None,
                confidence: None,
            };
            for attr in attrs {
                match attr.split_once('=') {
                    Some(("col", n)) => e.column = Some(n.parse().unwrap()),
                    Some(("confidence", c)) => e.confidence = Some(c.to_owned()),
                    _ => {}
                }
            }
            Some(e)
        })
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
    let actions = actions_dir();
    for meta in rules::all() {
        let dir = fixtures().join(meta.id);
        for path in files_under(&dir) {
            let rel = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            // Repository-shaped fixtures also hold the files their workflows
            // read (scripts, package.json, a GoReleaser configuration): only
            // the workflows and actions under `.github/` are audited.
            let yaml = rel.ends_with(".yml") || rel.ends_with(".yaml");
            if !yaml || (rel.contains('/') && !rel.contains("/.github/")) {
                continue;
            }
            let found = findings_of(&path, meta.id, actions.path());
            let got: Vec<usize> = found.iter().map(|f| f.0).collect();
            let marks = if rel.starts_with("pos-") {
                let marks = expectations(&path);
                // A local action inside a repository-shaped fixture supports
                // the workflow next to it and may raise nothing itself.
                let support = kind(&path) == FileKind::Action && rel.contains('/');
                assert!(
                    !marks.is_empty() || support,
                    "{}/{rel}: a positive fixture needs `# expect` markers",
                    meta.id
                );
                marks
            } else {
                Vec::new()
            };
            let want: Vec<usize> = marks.iter().map(|m| m.line).collect();
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{}/{rel}: expected lines {want:?}, got {got:?}",
                    meta.id
                ));
                continue;
            }
            for m in &marks {
                for (line, column, confidence) in found.iter().filter(|f| f.0 == m.line) {
                    if m.column.is_some_and(|c| c != *column) {
                        failures.push(format!(
                            "{}/{rel}:{line}: expected column {:?}, got {column}",
                            meta.id, m.column
                        ));
                    }
                    if m.confidence.as_ref().is_some_and(|c| c != confidence) {
                        failures.push(format!(
                            "{}/{rel}:{line}: expected confidence {:?}, got {confidence}",
                            meta.id, m.confidence
                        ));
                    }
                }
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

#[test]
fn every_rule_has_a_section_in_the_audit_reference() {
    // `help_uri` points at `docs/audit.md#<rule>`: the anchor must exist.
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/audit.md");
    let text = std::fs::read_to_string(docs).unwrap();
    for meta in rules::all() {
        assert!(
            text.lines().any(|l| l == format!("## {}", meta.id)),
            "docs/audit.md has no `## {}` section",
            meta.id
        );
        assert!(
            meta.help_uri()
                .ends_with(&format!("docs/audit.md#{}", meta.id))
        );
    }
    for word in ["seed 0", "pillar"] {
        assert!(
            !text.to_lowercase().contains(word),
            "internal word `{word}` in docs/audit.md"
        );
        for meta in rules::all() {
            for t in [meta.summary, meta.risk, meta.fix] {
                assert!(!t.to_lowercase().contains(word), "`{word}` in {}", meta.id);
            }
        }
    }
}
