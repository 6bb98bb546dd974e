//! `policy explain` and the policy as `verify` applies it: the seed-000
//! table with the GitHub Actions variables each row is detected from.

use serde_json::Value;

use super::{Fixture, expect, sg_env};
use crate::util::assert_exit;

fn explain_json(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all = vec!["policy", "explain", "--json"];
    all.extend_from_slice(args);
    let out = sg_env(dir, &all, env);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn seed_000_table_from_github_actions_variables() {
    let dir = tempfile::tempdir().unwrap();
    type Row<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a str, &'a str);
    let rows: &[Row] = &[
        (&[], Some("local"), "checksum-only", "default"),
        (
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/feature/login"),
            ],
            Some("push:feature/login"),
            "checksum-only",
            "environment",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/dev"),
            ],
            Some("push:dev"),
            "checksum-only",
            "environment",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_BASE_REF", "dev"),
            ],
            Some("pr:dev"),
            "checksum-only",
            "environment",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "pull_request_review"),
                ("GITHUB_BASE_REF", "dev"),
            ],
            Some("pr:dev"),
            "checksum-only",
            "environment",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_BASE_REF", "main"),
            ],
            Some("pr:main"),
            "require-signature",
            "environment",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/main"),
            ],
            Some("push:main"),
            "require-signature",
            "environment",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/tags/v1.0.0"),
            ],
            None,
            "require-signature",
            "undetermined",
        ),
        (
            &[("GITHUB_EVENT_NAME", "schedule")],
            None,
            "require-signature",
            "undetermined",
        ),
        (&[("CI", "true")], None, "require-signature", "undetermined"),
    ];
    for (env, context, mode, source) in rows {
        let json = explain_json(dir.path(), &[], env);
        assert_eq!(json["context"].as_str(), *context, "{env:?}");
        assert_eq!(json["mode"], *mode, "{env:?}");
        assert_eq!(json["context_source"], *source, "{env:?}");
        for (name, value) in *env {
            if *name != "CI" && *source == "environment" {
                assert_eq!(json["variables"][name], *value, "{env:?}");
            }
        }
    }
    // install: always require-signature, whatever the environment says.
    let json = explain_json(
        dir.path(),
        &["--context", "install"],
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/dev"),
        ],
    );
    assert_eq!(json["mode"], "require-signature");
    assert_eq!(json["context_source"], "flag");
}

#[test]
fn explain_prints_context_source_rule_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = sg_env(
        dir.path(),
        &["policy", "explain"],
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/main"),
        ],
    );
    expect(
        &out,
        0,
        &[
            "context: push:main",
            "from:  GitHub Actions environment: GITHUB_EVENT_NAME=push, GITHUB_REF=refs/heads/main",
            "policy:  built-in default (protected branches: main)",
            "rule:    push to protected branch 'main'",
            "mode:    require-signature",
        ],
    );
    let out = sg_env(
        dir.path(),
        &["policy", "explain"],
        &[("GITHUB_ACTIONS", "true")],
    );
    expect(
        &out,
        0,
        &[
            "context: (none)",
            "undetermined: GITHUB_ACTIONS=true but GITHUB_EVENT_NAME is not set",
            "fail closed",
            "mode:    require-signature",
        ],
    );
    expect(
        &sg_env(
            dir.path(),
            &["policy", "explain", "--context", "nowhere"],
            &[],
        ),
        2,
        &["unknown context 'nowhere'"],
    );
}

#[test]
fn shipgate_toml_in_the_working_directory_or_given_changes_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[policy]\nprotected-branches = [\"main\", \"release/*\"]\npull-request = \"require-signature\"\n",
    )
    .unwrap();
    let json = explain_json(dir.path(), &["--context", "push:release/2.0"], &[]);
    assert_eq!(json["mode"], "require-signature");
    assert!(json["rule"].as_str().unwrap().contains("release/*"));
    assert!(
        json["policy_file"]
            .as_str()
            .unwrap()
            .ends_with("shipgate.toml")
    );
    assert_eq!(
        explain_json(dir.path(), &["--context", "pr:dev"], &[])["mode"],
        "require-signature"
    );
    assert_eq!(
        explain_json(dir.path(), &["--context", "push:dev"], &[])["mode"],
        "checksum-only"
    );

    std::fs::write(
        dir.path().join("bad.toml"),
        "[policy]\nlocal = \"checksum-only\"\nmode = \"off\"\n",
    )
    .unwrap();
    let out = sg_env(
        dir.path(),
        &["policy", "explain", "--policy", "bad.toml"],
        &[],
    );
    expect(&out, 2, &["error: bad.toml:3: unknown field `mode`"]);
    std::fs::write(
        dir.path().join("install.toml"),
        "[policy]\ninstall = \"checksum-only\"\n",
    )
    .unwrap();
    let out = sg_env(
        dir.path(),
        &["verify", ".", "--policy", "install.toml"],
        &[],
    );
    expect(&out, 2, &["install.toml:2: install cannot be configured"]);
    expect(
        &sg_env(
            dir.path(),
            &["policy", "explain", "--policy", "missing.toml"],
            &[],
        ),
        2,
        &["missing.toml: cannot read"],
    );
}

#[test]
fn mode_may_be_raised_but_lowering_needs_allow_downgrade_and_never_for_install() {
    let f = Fixture::new();
    expect(&f.sg(&["sign", "--checksum-only", "modules/hello"]), 0, &[]);
    // Raise: local + require-signature fails for an unsigned module.
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "--context",
        "local",
        "--mode",
        "require-signature",
    ]);
    expect(&out, 1, &["raised by --mode", "missing"]);
    // Lower without the flag: refused before anything is checked.
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "--context",
        "push:main",
        "--mode",
        "checksum-only",
    ]);
    expect(
        &out,
        2,
        &[
            "--mode checksum-only is below the policy's require-signature for push:main",
            "--allow-downgrade",
        ],
    );
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "--context",
        "push:main",
        "--mode",
        "checksum-only",
        "--allow-downgrade",
    ]);
    expect(
        &out,
        0,
        &["warning: --mode checksum-only is below", "LOWERED"],
    );
    for extra in [&[][..], &["--allow-downgrade"][..]] {
        let mut args = vec![
            "verify",
            "modules/hello",
            "--context",
            "install",
            "--mode",
            "checksum-only",
        ];
        args.extend_from_slice(extra);
        expect(
            &f.sg(&args),
            2,
            &["the install context always requires a signature"],
        );
    }
    // --context cannot quietly weaken what GitHub Actions says this run is.
    let main = [
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/main"),
    ];
    let out = f.sg_env(&["verify", "modules/hello", "--context", "local"], &main);
    expect(
        &out,
        2,
        &["--context local (checksum-only) is weaker than the CI context push:main"],
    );
    // No context at all in CI: fail closed.
    let out = f.sg_env(&["verify", "modules/hello"], &[("CI", "true")]);
    expect(&out, 1, &["fail closed", "missing (mode require-signature"]);
    expect(
        &f.sg(&["verify", "modules/hello", "--mode", "lenient"]),
        2,
        &["unknown mode 'lenient'"],
    );
}
