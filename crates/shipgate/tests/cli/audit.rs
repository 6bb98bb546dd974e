//! `shipgate audit` end to end: the real binary on real files in temp dirs.
//! Output snapshots live in `audit_snapshots/` (regenerate with
//! `SHIPGATE_UPDATE_SNAPSHOTS=1 cargo test -p shipgate --test cli audit`).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{assert_exit, peer, run_in, shipgate, stderr, stdout};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shipgate-audit/tests/fixtures")
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap()
}

/// A temp repository with the given workflows under `.github/workflows/`.
fn repo(workflows: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    for (name, text) in workflows {
        std::fs::write(wf.join(name), text).unwrap();
    }
    dir
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// Compares with (or, with SHIPGATE_UPDATE_SNAPSHOTS=1, writes) a snapshot file.
#[track_caller]
fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/audit_snapshots")
        .join(name);
    if std::env::var_os("SHIPGATE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with SHIPGATE_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar_lines(&expected, actual);
        panic!("snapshot {name} differs (SHIPGATE_UPDATE_SNAPSHOTS=1 to accept):\n{diff}");
    }
}

fn similar_lines(a: &str, b: &str) -> String {
    let mut out = String::new();
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            out.push_str(&format!("line {}:\n- {x}\n+ {y}\n", i + 1));
        }
    }
    out.push_str(&format!(
        "({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    ));
    out
}

/// The snapshot fixture set: both seed "before" workflows, a triage workflow
/// with template injection, a broken file and a composite action.
fn snapshot_repo() -> tempfile::TempDir {
    let dir = repo(&[
        ("ci.yml", &fixture("seeds/seed001-before.yml")),
        ("release.yml", &fixture("seeds/seed003-before.yml")),
        (
            "triage.yml",
            "on: issues\npermissions: {}\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n      # A comment with ünïcode before the node.\n      - run: echo \"¡hola! ${{ github.event.issue.title }}\"\n",
        ),
        ("broken.yml", "on: push\njobs:\n  a: b: c\n"),
    ]);
    let action = dir.path().join(".github/actions/setup");
    std::fs::create_dir_all(&action).unwrap();
    std::fs::write(
        action.join("action.yml"),
        fixture("rules/unpinned-action/pos-composite/action.yml"),
    )
    .unwrap();
    dir
}

#[test]
fn human_output_snapshot() {
    let dir = snapshot_repo();
    let out = run_in(dir.path(), &["audit"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert_snapshot("human.txt", &text);
}

#[test]
fn json_output_snapshot() {
    let dir = snapshot_repo();
    let out = run_in(dir.path(), &["audit", "--format", "json"]);
    assert_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v["schema_version"], 1);
    assert_snapshot("json.json", &stdout(&out));
}

#[test]
fn github_output_snapshot() {
    let dir = snapshot_repo();
    let out = run_in(dir.path(), &["audit", "--format", "github"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    for line in text.lines() {
        assert!(
            line.starts_with("::error file=")
                || line.starts_with("::warning file=")
                || line.starts_with("::notice file="),
            "{line}"
        );
        // One command per line: newlines in the message are escaped.
        assert!(line.contains("title=shipgate audit%3A "), "{line}");
    }
    assert_snapshot("github.txt", &text);
}

fn sarif_output(dir: &Path) -> String {
    let out = run_in(dir, &["audit", "--format", "sarif"]);
    assert_exit(&out, 1);
    let canonical = dir.canonicalize().unwrap();
    let text = stdout(&out);
    // Redact the absolute %SRCROOT% (the temp dir).
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let root = v["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );
    assert!(
        root.contains(&canonical.file_name().unwrap().to_string_lossy().to_string()),
        "{root}"
    );
    text.replace(&root, "file:///[TMP]/")
}

#[test]
fn sarif_output_snapshot() {
    let dir = snapshot_repo();
    assert_snapshot("sarif.json", &sarif_output(dir.path()));
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let dir = snapshot_repo();
    let out = run_in(dir.path(), &["audit", "--format", "sarif"]);
    let sarif = dir.path().join("out.sarif");
    std::fs::write(&sarif, &out.stdout).unwrap();
    let schema = fixtures().join("sarif/sarif-schema-2.1.0.json");
    let script = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
validator = jsonschema.Draft4Validator(schema)
errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("schema error at", list(e.path), ":", e.message)
# What GitHub code scanning needs on top of the schema.
run = doc["runs"][0]
rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
assert doc["version"] == "2.1.0"
assert run["results"], "no results"
for r in rules.values():
    assert r["help"]["text"] and r["help"]["markdown"] and r["helpUri"], r["id"]
    float(r["properties"]["security-severity"])
for res in run["results"]:
    assert res["ruleId"] in rules, res["ruleId"]
    assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    loc = res["locations"][0]["physicalLocation"]
    assert not loc["artifactLocation"]["uri"].startswith("/"), loc
    reg = loc["region"]
    assert reg["startLine"] >= 1 and reg["startColumn"] >= 1
    assert (reg["endLine"], reg["endColumn"]) > (reg["startLine"], reg["startColumn"]), reg
    assert res["partialFingerprints"]
sys.exit(1 if errors else 0)
"#;
    let result = std::process::Command::new(peer("python3"))
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&sarif)
        .output()
        .expect("python3 with jsonschema (see .ci/requirements.txt)");
    assert!(
        result.status.success(),
        "SARIF does not validate:\n{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn columns_count_characters_and_point_at_the_node() {
    let text = "on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo \"¡hola! ${{ github.event.issue.title }}\"\n";
    let dir = repo(&[("t.yml", text)]);
    let out = run_in(dir.path(), &["audit", "--format", "json"]);
    let v = json(&out);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "template-injection");
    let line = text.lines().nth(6).unwrap();
    let col = line
        .chars()
        .take_while(|_| true)
        .collect::<String>()
        .find("${{")
        .map(|b| line[..b].chars().count() + 1)
        .unwrap();
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(7), Some(col as u64))
    );
    assert_eq!(
        f["end_column"].as_u64(),
        Some((col + "${{ github.event.issue.title }}".chars().count()) as u64)
    );
    assert_eq!(f["yaml_path"], "jobs.a.steps[0].run");
}

#[test]
fn exit_codes_follow_the_contract() {
    // Clean workflow: 0.
    let dir = repo(&[("ci.yml", &fixture("seeds/seed001-after.yml"))]);
    let out = run_in(dir.path(), &["audit"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("no findings in 1 file"),
        "{}",
        stdout(&out)
    );
    // Findings: 1.
    let dir = repo(&[("release.yml", &fixture("seeds/seed003-before.yml"))]);
    assert_exit(&run_in(dir.path(), &["audit"]), 1);
    // Only medium findings and --min-severity high: 0, and they are not shown.
    let dir = repo(&[(
        "r.yml",
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo hi\n",
    )]);
    let out = run_in(
        dir.path(),
        &["audit", "--min-severity", "high", "--format", "json"],
    );
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(v["summary"]["total"], 0);
    assert_eq!(v["summary"]["below_threshold"], 1);
    // Wrong arguments, missing paths, empty directories: 2.
    let empty = tempfile::tempdir().unwrap();
    let out = run_in(empty.path(), &["audit"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no workflow files found"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    let out = run_in(empty.path(), &["audit", "nope.yml"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("`nope.yml` does not exist"),
        "{}",
        stderr(&out)
    );
    assert_exit(&run_in(empty.path(), &["audit", "--format", "xml"]), 2);
    assert_exit(&run_in(empty.path(), &["audit", "--fix=everything"]), 2);
}

#[test]
fn explicit_files_and_directories_are_both_accepted() {
    let dir = repo(&[
        ("a.yml", &fixture("seeds/seed001-after.yml")),
        ("b.yml", &fixture("seeds/seed003-before.yml")),
    ]);
    let out = run_in(
        dir.path(),
        &["audit", ".github/workflows/a.yml", "--format", "json"],
    );
    assert_exit(&out, 0);
    let out = run_in(
        dir.path(),
        &["audit", ".github/workflows", "--format", "json"],
    );
    assert_exit(&out, 1);
    let files: Vec<String> = json(&out)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        files,
        vec![".github/workflows/a.yml", ".github/workflows/b.yml"]
    );
}

#[test]
fn inline_comments_and_config_suppress_and_no_ignores_shows_all() {
    let text = "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      # shipgate: ignore[unpinned-action]\n      - uses: actions/checkout@v4\n      - uses: actions/cache@v4 # shipgate: ignore[unpinned-action]\n      - uses: actions/setup-node@v4\n      - uses: someone/thing@v1\n";
    let dir = repo(&[("t.yml", text)]);
    let out = run_in(dir.path(), &["audit", "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["summary"]["total"], 2, "{v}");
    assert_eq!(v["summary"]["suppressed"], 2);
    // Config: ignore one path:line, lower a severity.
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[policy]\nmode = \"whatever another command reads\"\n\n[audit.ignore]\nunpinned-action = [\".github/workflows/t.yml:10\"]\n\n[audit.severity]\nunpinned-action = \"low\"\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["audit", "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["summary"]["total"], 1, "{v}");
    assert_eq!(v["findings"][0]["line"], 11);
    assert_eq!(v["findings"][0]["severity"], "low");
    // --min-severity medium hides the lowered one.
    assert_exit(
        &run_in(dir.path(), &["audit", "--min-severity", "medium"]),
        0,
    );
    // --no-ignores shows all four.
    let out = run_in(dir.path(), &["audit", "--no-ignores", "--format", "json"]);
    assert_eq!(json(&out)["summary"]["total"], 4);
    // disable.
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[audit]\ndisable = [\"unpinned-action\"]\n",
    )
    .unwrap();
    assert_exit(&run_in(dir.path(), &["audit"]), 0);
    // --config FILE elsewhere wins over ./shipgate.toml.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "[audit]\n").unwrap();
    assert_exit(&run_in(dir.path(), &["audit", "--config", "other.toml"]), 1);
}

#[test]
fn configuration_errors_name_the_key_and_exit_2() {
    let dir = repo(&[("t.yml", &fixture("seeds/seed001-after.yml"))]);
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[audit]\ndisabled = [\"unpinned-action\"]\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["audit"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("unknown key `disabled` in [audit]"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[audit.severity]\nno-such-rule = \"low\"\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["audit"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no-such-rule"), "{}", stderr(&out));
    std::fs::write(dir.path().join("shipgate.toml"), "[audit\n").unwrap();
    assert_exit(&run_in(dir.path(), &["audit"]), 2);
    assert_exit(
        &run_in(dir.path(), &["audit", "--config", "missing.toml"]),
        2,
    );
}

#[test]
fn fix_safe_rewrites_surgically_and_is_idempotent() {
    let before = fixture("seeds/seed003-before.yml");
    let dir = repo(&[("release.yml", &before)]);
    let path = dir.path().join(".github/workflows/release.yml");
    let out = run_in(dir.path(), &["audit", "--fix"]);
    assert_exit(&out, 1); // credential-with-toolchain needs a human: it remains.
    let text = stdout(&out);
    assert!(
        text.contains("--- a/.github/workflows/release.yml"),
        "{text}"
    );
    assert!(
        text.contains("-      - run: npm ci\n+      - run: npm ci --ignore-scripts"),
        "{text}"
    );
    let after = std::fs::read_to_string(&path).unwrap();
    // Only that line changed: comments and formatting survive.
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        vec![(
            "      - run: npm ci",
            "      - run: npm ci --ignore-scripts"
        )]
    );
    assert_eq!(before.lines().count(), after.lines().count());
    let v = json(&run_in(dir.path(), &["audit", "--format", "json"]));
    assert!(!rules_of(&v).contains(&"install-scripts-with-credentials".to_owned()));
    // Second run: nothing to change.
    let out = run_in(dir.path(), &["audit", "--fix=safe"]);
    assert!(
        stdout(&out).contains("--fix changed 0 files"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
}

#[test]
fn fix_all_writes_root_permissions_and_per_job_grants() {
    let before = fixture("seeds/seed001-before.yml");
    let dir = repo(&[("ci.yml", &before)]);
    let path = dir.path().join(".github/workflows/ci.yml");
    // --fix (safe) only touches the concurrency line.
    run_in(dir.path(), &["audit", "--fix"]);
    let safe = std::fs::read_to_string(&path).unwrap();
    assert!(safe.contains("  cancel-in-progress: ${{ github.ref != format('refs/heads/{0}', github.event.repository.default_branch) }}\n"));
    assert!(!safe.contains("permissions: {}"));
    // --fix=all adds root permissions and per-job grants, for review.
    let out = run_in(dir.path(), &["audit", "--fix=all", "--format", "json"]);
    assert!(
        stderr(&out).contains("+permissions: {}"),
        "diff goes to stderr with --format json: {}",
        stderr(&out)
    );
    let fixed = std::fs::read_to_string(&path).unwrap();
    assert!(fixed.contains("\npermissions: {}\n\njobs:\n"), "{fixed}");
    assert!(
        fixed.contains(
            "  compile:\n    permissions:\n      contents: read\n    runs-on: ubuntu-latest\n"
        ),
        "{fixed}"
    );
    // The publish and tag jobs kept their own grants; comments survived.
    assert!(fixed.contains("    permissions:\n      id-token: write\n"));
    assert!(fixed.contains("# Seed 001 (Fern Python SDK, PR #160), BEFORE"));
    let rules = rules_of(&json(&out));
    for gone in ["missing-root-permissions", "cancel-in-progress-on-release"] {
        assert!(
            !rules.contains(&gone.to_owned()),
            "{gone} still reported: {rules:?}"
        );
    }
    // Idempotent.
    run_in(dir.path(), &["audit", "--fix=all"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), fixed);
}

#[test]
fn fix_all_grants_what_github_script_and_release_please_write() {
    let workflow = "on:\n  pull_request_target:\n  push:\n    branches: [main]\njobs:\n  comment:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1\n        with:\n          script: |\n            await github.rest.issues.createComment({ ...context.repo, issue_number: 1, body: 'hi' })\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: googleapis/release-please-action@a02a34c4d625f9be7cb89156071d8567266a2445 # v4.2.0\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n";
    let dir = repo(&[("bot.yml", workflow)]);
    run_in(dir.path(), &["audit", "--fix=all"]);
    let fixed = std::fs::read_to_string(dir.path().join(".github/workflows/bot.yml")).unwrap();
    assert!(
        fixed.contains("  comment:\n    permissions:\n      contents: read\n      issues: write\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains(
            "  release:\n    permissions:\n      contents: write\n      pull-requests: write\n"
        ),
        "{fixed}"
    );
    assert!(
        fixed.contains("  lint:\n    permissions:\n      contents: read\n"),
        "{fixed}"
    );
}

#[test]
fn bad_files_are_findings_and_the_others_are_still_audited() {
    let dir = repo(&[
        ("good.yml", &fixture("seeds/seed003-before.yml")),
        ("invalid.yml", "on: push\njobs: [\n"),
        ("not-a-workflow.yml", "name: x\nversion: 2\n"),
        ("tabs.yml", "on: push\njobs:\n\tbuild: {}\n"),
        (
            "multi.yml",
            "on: push\npermissions: {}\njobs: {}\n---\non: push\n",
        ),
        ("empty.yml", ""),
    ]);
    let wf = dir.path().join(".github/workflows");
    std::fs::write(wf.join("binary.yml"), b"\x00\x01\x02\x7fELF\x00").unwrap();
    std::fs::write(
        wf.join("latin1.yml"),
        b"on: push\nname: caf\xe9\njobs: {}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.yml", wf.join("dangling.yml")).unwrap();
    std::fs::create_dir(wf.join("dir.yml")).unwrap();
    let out = run_in(dir.path(), &["audit", "--format", "json"]);
    assert_exit(&out, 1);
    let v = json(&out);
    let by_file = |name: &str| -> Vec<(String, String)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["file"] == format!(".github/workflows/{name}"))
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_owned(),
                    f["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    for (name, says) in [
        ("invalid.yml", "invalid YAML"),
        ("not-a-workflow.yml", "not a GitHub Actions workflow"),
        ("tabs.yml", "invalid YAML"),
        ("multi.yml", "2 YAML documents"),
        ("empty.yml", "no YAML document"),
        ("binary.yml", "binary file"),
        ("latin1.yml", "not valid UTF-8"),
        ("dangling.yml", "cannot read the file"),
        ("dir.yml", "not a regular file"),
    ] {
        let found = by_file(name);
        assert!(
            found
                .iter()
                .any(|(rule, msg)| rule == "invalid-workflow" && msg.contains(says)),
            "{name}: {found:?}"
        );
    }
    let good = by_file("good.yml");
    assert!(
        good.iter().any(|(r, _)| r == "credential-with-toolchain"),
        "{good:?}"
    );
}

#[test]
fn nothing_readable_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gone.yml");
    std::os::unix::fs::symlink(dir.path().join("missing"), &f).unwrap();
    std::fs::create_dir(dir.path().join("sub.yml")).unwrap();
    let out = run_in(dir.path(), &["audit", "."]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no input could be read"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn list_rules_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["audit", "--list-rules"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for id in [
        "credential-with-toolchain",
        "tag-publish-without-approval",
        "invalid-workflow",
    ] {
        assert!(text.contains(id), "{text}");
    }
    let out = shipgate().args(["audit", "--help"]).output().unwrap();
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("--fix=all"));
}

#[test]
fn config_in_the_audited_directory_is_found() {
    let dir = repo(&[(
        "t.yml",
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo hi\n",
    )]);
    let elsewhere = tempfile::tempdir().unwrap();
    let target = dir.path().to_str().unwrap();
    assert_exit(&run_in(elsewhere.path(), &["audit", target]), 1);
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[audit]\ndisable = [\"missing-root-permissions\"]\n",
    )
    .unwrap();
    let out = run_in(elsewhere.path(), &["audit", target, "--format", "json"]);
    assert_exit(&out, 0);
    // Paths outside the current directory are shown as given.
    let files = json(&out)["files"].clone();
    assert!(
        files[0]["path"]
            .as_str()
            .unwrap()
            .ends_with(".github/workflows/t.yml"),
        "{files}"
    );
}

mod usability;
