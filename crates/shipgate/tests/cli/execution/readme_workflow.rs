//! The README's complete GitHub Actions example: extracted from docs/github-actions.md,
//! audited with `shipgate audit` (no finding at all, suppressions ignored),
//! checked for what the README says it has, and with every shipgate flag it
//! uses known to the binary. Mutations of it are flagged, so the audit is
//! really looking at it.

use std::path::Path;
use std::process::Output;

use crate::util::{assert_exit, run_in, stdout};

/// The comment that precedes the example's fenced block.
const MARKER: &str = "<!-- github-actions-example:";

/// The YAML of the example: the first ```yaml block after the marker.
fn example() -> String {
    example_after(MARKER)
}

/// The first ```yaml block after `marker` in docs/github-actions.md.
fn example_after(marker: &str) -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/github-actions.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    let at = text.find(marker).unwrap_or_else(|| {
        panic!("docs/github-actions.md has no {marker:?} marker before the workflow example")
    });
    let rest = &text[at..];
    let start = rest
        .find("```yaml\n")
        .expect("a ```yaml block after the marker")
        + "```yaml\n".len();
    let end = rest[start..]
        .find("\n```")
        .expect("the end of the yaml block");
    let yaml = rest[start..start + end + 1].to_owned();
    assert!(yaml.contains("jobs:"), "not a workflow:\n{yaml}");
    yaml
}

/// Writes `yaml` as `.github/workflows/release.yml` in a fresh repository
/// directory and runs `shipgate audit --format json --no-ignores` on it.
fn audit(yaml: &str) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("release.yml"), yaml).unwrap();
    let out = run_in(
        dir.path(),
        &["audit", "--format", "json", "--no-ignores", "."],
    );
    let report =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    (out, report)
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// The workflow for packages the gate publishes to registries: audited
/// clean, no credential but the stage job's `id-token: write`, and it waits
/// `--until published`.
#[test]
fn the_registry_workflow_is_audited_clean_and_holds_no_credential() {
    let yaml = example_after("<!-- github-actions-registry-example:");
    let (out, report) = audit(&yaml);
    assert_exit(&out, 0);
    assert_eq!(report["summary"]["total"], 0, "{report:#}");
    assert!(!yaml.contains("secrets."), "{yaml}");
    assert_eq!(yaml.matches("id-token: write").count(), 1, "{yaml}");
    let stage = yaml.split("\n  stage:\n").nth(1).expect("a stage job");
    assert!(
        stage.contains("shipgate stage --wait --until published"),
        "{stage}"
    );
    assert!(!stage.contains("actions/checkout"), "{stage}");
    let help = run_in(Path::new("."), &["stage", "--help"]);
    for flag in [
        "--wait",
        "--until",
        "--timeout",
        "--gate",
        "--package",
        "--version",
    ] {
        assert!(stdout(&help).contains(flag), "{flag}");
    }
}

#[test]
fn the_readme_workflow_is_audited_clean() {
    let yaml = example();
    let (out, report) = audit(&yaml);
    assert_exit(&out, 0);
    assert_eq!(report["summary"]["total"], 0, "{report:#}");
    assert_eq!(report["summary"]["suppressed"], 0, "{report:#}");
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "{report:#}");
    // The human output says so too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("release.yml"), &yaml).unwrap();
    let out = run_in(dir.path(), &["audit", "release.yml"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("no findings"), "{}", stdout(&out));
}

#[test]
fn the_readme_workflow_has_what_the_readme_says() {
    let yaml = example();
    let lines: Vec<&str> = yaml.lines().collect();
    // Root `permissions: {}`.
    assert!(lines.contains(&"permissions: {}"), "{yaml}");
    // The publish job: exactly `id-token: write`, an environment, no checkout.
    let publish = yaml.split("\n  publish:\n").nth(1).expect("a publish job");
    let grants: Vec<&str> = publish
        .split("\n    permissions:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("      "))
        .collect();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert!(
        grants[0].trim_start().starts_with("id-token: write"),
        "{grants:?}"
    );
    assert!(
        publish.contains("\n    environment: release\n"),
        "{publish}"
    );
    assert!(!publish.contains("actions/checkout"), "{publish}");
    assert!(!publish.contains("secrets."), "{publish}");
    assert!(publish.contains("shipgate stage --wait"), "{publish}");
    assert!(publish.contains("shipgate oidc verify"), "{publish}");
    assert!(publish.contains("--expect digest="), "{publish}");
    assert!(
        publish.contains("--expect commit_sha=\"$GITHUB_SHA\""),
        "{publish}"
    );
    // The build job: no id-token, no secrets.
    let build = yaml
        .split("\n  build:\n")
        .nth(1)
        .unwrap()
        .split("\n  publish:\n")
        .next()
        .unwrap();
    let code = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(!code(build).contains("id-token"), "{build}");
    assert!(!code(build).contains("secrets."), "{build}");
    assert!(build.contains("actions/upload-artifact@"), "{build}");
    // Every action pinned to a full SHA with a version comment.
    let mut pins = 0;
    for line in lines.iter().filter(|l| l.contains("uses:")) {
        let (_, rest) = line.split_once("uses:").unwrap();
        let (action, comment) = rest.trim().split_once(" # v").expect(line);
        let sha = action.split_once('@').expect(line).1;
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
        assert!(comment.chars().next().unwrap().is_ascii_digit(), "{line}");
        pins += 1;
    }
    assert_eq!(pins, 3, "{yaml}");
}

#[test]
fn every_shipgate_flag_the_workflow_uses_exists() {
    let yaml = example();
    // Join shell continuation lines, then look at each shipgate invocation.
    let joined = yaml.replace("\\\n", " ");
    let mut checked = 0;
    for line in joined.lines() {
        let Some(at) = line.find("shipgate ") else {
            continue;
        };
        let words: Vec<&str> = line[at..]
            .trim_end_matches(')')
            .split_whitespace()
            .collect();
        let command: Vec<&str> = match words.get(1) {
            Some(&"oidc") => vec!["oidc", words[2]],
            Some(sub) if !sub.starts_with('-') && !sub.contains('(') => vec![sub],
            _ => continue,
        };
        if !["stage", "fetch", "oidc"].contains(&command[0]) {
            continue;
        }
        let mut args = command.clone();
        args.push("--help");
        let help = run_in(Path::new("."), &args);
        assert_exit(&help, 0);
        let help = stdout(&help);
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "`shipgate {}` has no {flag}:\n{help}",
                command.join(" ")
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3, "stage, fetch and oidc verify:\n{yaml}");
}

#[test]
fn mutations_of_the_readme_workflow_are_flagged() {
    let yaml = example();
    let cases = [
        // The publish job without its environment.
        (
            yaml.replace("    environment: release\n", ""),
            "publish-without-environment",
        ),
        // The build job holding the OIDC grant.
        (
            yaml.replace(
                "      contents: read # to check out the repository\n",
                "      contents: read # to check out the repository\n      id-token: write\n",
            ),
            "credential-with-toolchain",
        ),
        // Installing dependencies next to the grant.
        (
            yaml.replace(
                "      - name: Install shipgate",
                "      - run: npm ci\n      - name: Install shipgate",
            ),
            "install-scripts-with-credentials",
        ),
        // An action by tag.
        (
            yaml.replace(
                "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1",
                "actions/download-artifact@v8",
            ),
            "unpinned-action",
        ),
        // No root permissions.
        (
            yaml.replace("permissions: {}\n", ""),
            "missing-root-permissions",
        ),
    ];
    for (mutated, rule) in cases {
        assert_ne!(mutated, yaml, "the mutation for {rule} changed nothing");
        let (out, report) = audit(&mutated);
        assert_exit(&out, 1);
        assert!(
            rules(&report).iter().any(|r| r == rule),
            "{rule} not reported: {:?}",
            rules(&report)
        );
    }
}
