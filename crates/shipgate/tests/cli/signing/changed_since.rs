//! `sign --changed-since` in a real git repository, and the fork refusal
//! with a real GitHub Actions event file.

use std::path::Path;
use std::process::Command;

use super::{Fixture, expect, run_ok};

fn git(dir: &Path, args: &[&str]) {
    run_ok(
        Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=shipgate tests",
                "-c",
                "user.email=tests@shipgate.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE"),
    );
}

/// A repo on `main` with modules `a`, `b` (checksummed, version 1.0.0)
/// and a branch `feature` where `a` changed.
fn repo() -> Fixture {
    let f = Fixture::new();
    std::fs::remove_dir_all(f.path("modules/hello")).unwrap();
    f.write("repo/modules/a/a.py", "print('a')\n");
    f.write("repo/modules/b/b.py", "print('b')\n");
    f.write("repo/README.md", "not a module\n");
    let repo = f.path("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    for m in ["a", "b"] {
        let out = f.sg(&[
            "sign",
            "--checksum-only",
            &format!("repo/modules/{m}"),
            "--version",
            "1.0.0",
        ]);
        expect(&out, 0, &[]);
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "modules"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    f.write("repo/modules/a/a.py", "print('a, improved')\n");
    f
}

#[test]
fn signs_only_changed_modules_bumping_their_version_once() {
    let f = repo();
    let args = [
        "sign",
        "--changed-since",
        "main",
        "repo",
        "-s",
        "k.key",
        "--bump",
        "minor",
    ];
    let out = f.sg(&args);
    expect(
        &out,
        0,
        &[
            "✓ repo/modules/a: a 1.1.0",
            "signed with key",
            "changed since main: modules/a/a.py",
            "- repo/modules/b: skipped, no change since main",
        ],
    );
    assert!(f.path("repo/modules/a/shipgate.manifest.minisig").exists());
    assert!(!f.path("repo/modules/b/shipgate.manifest.minisig").exists());
    expect(
        &f.sg(&[
            "verify",
            "repo/modules/a",
            "-p",
            "k.pub",
            "--context",
            "pr:main",
        ]),
        0,
        &["a 1.1.0"],
    );

    // Running the signing job again does not bump twice.
    git(&f.path("repo"), &["add", "-A"]);
    git(&f.path("repo"), &["commit", "-q", "-m", "signed"]);
    expect(&f.sg(&args), 0, &["✓ repo/modules/a: a 1.1.0"]);

    // An untracked new file in b counts as a change; JSON says why.
    f.write("repo/modules/b/new.py", "x\n");
    let out = f.sg(&[
        "sign",
        "--changed-since",
        "main",
        "repo",
        "-s",
        "k.key",
        "--json",
    ]);
    expect(&out, 0, &[]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["dir"] == "repo/modules/b")
        .unwrap();
    assert_eq!(b["action"], "signed");
    assert!(b["reason"].as_str().unwrap().contains("modules/b/new.py"));
}

#[test]
fn unknown_refs_and_non_semver_bumps_are_errors() {
    let f = repo();
    expect(
        &f.sg(&[
            "sign",
            "--changed-since",
            "no-such-ref",
            "repo",
            "-s",
            "k.key",
        ]),
        2,
        &["git ref 'no-such-ref' does not name a commit"],
    );
    expect(
        &f.sg(&[
            "sign",
            "--changed-since",
            "main",
            "repo",
            "repo/modules",
            "-s",
            "k.key",
        ]),
        2,
        &["exactly one ROOT"],
    );
    expect(
        &f.sg(&["sign", "--bump", "patch", "repo", "-s", "k.key"]),
        2,
        &["--changed-since"],
    );
    let manifest = f
        .read("repo/modules/a/shipgate.manifest")
        .replace("version 1.0.0", "version release-7");
    f.write("repo/modules/a/shipgate.manifest", &manifest);
    git(&f.path("repo"), &["commit", "-qam", "odd version"]);
    let out = f.sg(&[
        "sign",
        "--changed-since",
        "HEAD~1",
        "repo",
        "-s",
        "k.key",
        "--bump",
        "patch",
    ]);
    expect(&out, 2, &["version 'release-7' is not a semantic version"]);
}

fn event(f: &Fixture, head: &str, base: &str) -> String {
    let path = f.path("event.json");
    let json = format!(
        r#"{{"action":"submitted","review":{{"state":"approved"}},"pull_request":{{"number":7,"head":{{"ref":"feature","repo":{{"full_name":"{head}"}}}},"base":{{"ref":"dev","repo":{{"full_name":"{base}"}}}}}}}}"#
    );
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

#[test]
fn refuses_to_sign_for_a_pull_request_from_a_fork() {
    let f = repo();
    let args = ["sign", "--changed-since", "main", "repo", "-s", "k.key"];
    let fork = event(&f, "mallory/shipgate", "shipgate/shipgate");
    for name in ["pull_request", "pull_request_review", "pull_request_target"] {
        let env = [
            ("GITHUB_EVENT_NAME", name),
            ("GITHUB_EVENT_PATH", fork.as_str()),
        ];
        let out = f.sg_env(&args, &env);
        expect(
            &out,
            2,
            &[
                "refusing to sign",
                "from the fork 'mallory/shipgate' into 'shipgate/shipgate'",
                "fork code must never reach the signing key",
            ],
        );
        assert!(!f.path("repo/modules/a/shipgate.manifest.minisig").exists());
        // The secret key in the environment is refused the same way.
        let key = f.read("k.key");
        let env = [
            ("GITHUB_EVENT_NAME", name),
            ("GITHUB_EVENT_PATH", fork.as_str()),
            ("SHIPGATE_SECRET_KEY", key.as_str()),
        ];
        expect(
            &f.sg_env(&["sign", "repo/modules/a"], &env),
            2,
            &["refusing to sign"],
        );
    }
    // A malformed or missing event file fails closed.
    std::fs::write(f.path("bad.json"), "{\"pull_request\": ").unwrap();
    let bad = f.path("bad.json").display().to_string();
    let out = f.sg_env(
        &args,
        &[
            ("GITHUB_EVENT_NAME", "pull_request_review"),
            ("GITHUB_EVENT_PATH", bad.as_str()),
        ],
    );
    expect(&out, 2, &["refusing to sign", "bad.json: not valid JSON"]);
    let out = f.sg_env(&args, &[("GITHUB_EVENT_NAME", "pull_request")]);
    expect(&out, 2, &["GITHUB_EVENT_PATH is not set"]);
    // checksum-only needs no key and is allowed anywhere.
    let env = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", fork.as_str()),
    ];
    expect(
        &f.sg_env(
            &["sign", "--checksum-only", "--changed-since", "main", "repo"],
            &env,
        ),
        0,
        &["manifest written"],
    );

    // The same repository may sign.
    let same = event(&f, "shipgate/shipgate", "shipgate/shipgate");
    let out = f.sg_env(
        &args,
        &[
            ("GITHUB_EVENT_NAME", "pull_request_review"),
            ("GITHUB_EVENT_PATH", same.as_str()),
        ],
    );
    expect(&out, 0, &["✓ repo/modules/a", "signed with key"]);
}
