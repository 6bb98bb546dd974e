//! `shipgate audit` for CI and for folders of repositories: `--exit-zero`,
//! walking a directory that is not a repository root, and `--fix` never
//! writing through a symbolic link.

use std::path::Path;

use super::{fixture, json, repo, rules_of};
use crate::util::{assert_exit, run_in, stderr, stdout};

#[test]
fn exit_zero_keeps_the_report_and_still_fails_on_usage_errors() {
    let dir = repo(&[("release.yml", &fixture("seeds/seed003-before.yml"))]);
    let out = run_in(dir.path(), &["audit", "--format", "sarif", "--exit-zero"]);
    assert_exit(&out, 0);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !sarif["runs"][0]["results"].as_array().unwrap().is_empty(),
        "{}",
        stdout(&out)
    );
    // Without the flag the same audit fails the step.
    assert_exit(&run_in(dir.path(), &["audit", "--format", "sarif"]), 1);
    // Usage and input errors are still errors.
    assert_exit(&run_in(dir.path(), &["audit", "nope/", "--exit-zero"]), 2);
    let empty = tempfile::tempdir().unwrap();
    assert_exit(&run_in(empty.path(), &["audit", "--exit-zero"]), 2);
}

#[test]
fn a_folder_of_checkouts_is_walked_for_every_repository() {
    let top = tempfile::tempdir().unwrap();
    let release = fixture("seeds/seed003-before.yml");
    for (path, text) in [
        (
            "checkouts/app/.github/workflows/release.yml",
            release.as_str(),
        ),
        (
            "checkouts/lib/.github/workflows/ci.yaml",
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n",
        ),
        (
            "checkouts/lib/.github/actions/setup/action.yml",
            "runs:\n  using: composite\n  steps:\n    - uses: actions/setup-node@v4\n",
        ),
        (
            "checkouts/lib/node_modules/dep/.github/workflows/x.yml",
            "on: push\njobs: {}\n",
        ),
    ] {
        let p = top.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = run_in(top.path(), &["audit", "checkouts", "--format", "json"]);
    assert_exit(&out, 1);
    let v = json(&out);
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "checkouts/app/.github/workflows/release.yml",
            "checkouts/lib/.github/workflows/ci.yaml",
            "checkouts/lib/.github/actions/setup/action.yml",
        ]
    );
    assert!(rules_of(&v).contains(&"credential-with-toolchain".to_owned()));
}

fn outside_file(dir: &Path) -> std::path::PathBuf {
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "do not touch\n").unwrap();
    victim
}

#[test]
fn fix_ignores_a_planted_temporary_file_link() {
    let before = fixture("seeds/seed003-before.yml");
    let dir = repo(&[("release.yml", &before)]);
    let outside = tempfile::tempdir().unwrap();
    let victim = outside_file(outside.path());
    let wf = dir.path().join(".github/workflows");
    // The name the old implementation wrote through.
    std::os::unix::fs::symlink(&victim, wf.join(".release.yml.shipgate-fix.tmp")).unwrap();
    let out = run_in(dir.path(), &["audit", "--fix"]);
    assert_exit(&out, 1); // credential-with-toolchain remains
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "do not touch\n");
    let after = std::fs::read_to_string(wf.join("release.yml")).unwrap();
    assert!(after.contains("npm ci --ignore-scripts"), "{after}");
    // No temporary file is left behind; the planted link is untouched.
    let mut names: Vec<String> = std::fs::read_dir(&wf)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".release.yml.shipgate-fix.tmp", "release.yml"]);
}

#[test]
fn fix_refuses_a_workflow_that_is_a_symbolic_link() {
    let dir = repo(&[]);
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("release.yml");
    let before = fixture("seeds/seed003-before.yml");
    std::fs::write(&target, &before).unwrap();
    let link = dir.path().join(".github/workflows/release.yml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run_in(dir.path(), &["audit", "--fix"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("is a symbolic link") || stderr(&out).contains("symbolic link"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), before);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn fix_all_stops_checkout_from_persisting_the_token() {
    let before = "name: build\non:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n  bundle:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      - name: second checkout\n        uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with:\n          path: docs\n      - run: make dist\n      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2\n        with:\n          name: site\n          path: .\n";
    let dir = repo(&[("build.yml", before)]);
    let path = dir.path().join(".github/workflows/build.yml");
    // `safe` leaves it: the change needs review (a later push would need the token).
    run_in(dir.path(), &["audit", "--fix"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    let out = run_in(dir.path(), &["audit", "--fix=all", "--format", "json"]);
    assert_exit(&out, 0);
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before
            .replace(
                "# v4.2.2\n      - name: second checkout",
                "# v4.2.2\n        with:\n          persist-credentials: false\n      - name: second checkout"
            )
            .replace(
                "        with:\n          path: docs",
                "        with:\n          persist-credentials: false\n          path: docs"
            )
    );
    assert!(!rules_of(&json(&out)).contains(&"artipacked".to_owned()));
}

#[test]
fn actions_dir_checks_version_comments_against_local_clones() {
    let actions = tempfile::tempdir().unwrap();
    let clone = actions.path().join("acme/tool");
    std::fs::create_dir_all(&clone).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&clone)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git is needed for --actions-dir");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    git(&["init", "-q", "."]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    git(&["tag", "v1.0.0"]);
    let v1 = git(&["rev-parse", "HEAD"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let head = git(&["rev-parse", "HEAD"]);
    let workflow = format!(
        "on: push\npermissions: {{}}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/tool@{head} # v1.0.0\n      - uses: acme/tool@{v1} # v1.0.0\n"
    );
    let dir = repo(&[("ci.yml", &workflow)]);
    let mismatches = |args: &[&str]| -> Vec<u64> {
        let out = run_in(dir.path(), args);
        json(&out)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "ref-version-mismatch")
            .map(|f| f["line"].as_u64().unwrap())
            .collect()
    };
    // Offline and off by default: no clones, no finding.
    assert!(mismatches(&["audit", "--format", "json"]).is_empty());
    let dir_arg = actions.path().to_str().unwrap();
    assert_eq!(
        mismatches(&["audit", "--format", "json", "--actions-dir", dir_arg]),
        [7]
    );
}
