use std::collections::HashMap;
use std::path::Path;

use super::*;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn resolve_with(
    vars: &[(&str, &str)],
    flag: Option<&str>,
    mode: Option<Mode>,
    allow: bool,
    config: &PolicyConfig,
) -> Result<Resolution, ResolveError> {
    let env = env_of(vars);
    resolve(&Request {
        context_flag: flag.map(|f| f.parse().unwrap()),
        mode_flag: mode,
        allow_downgrade: allow,
        config,
        env: &env,
    })
}

use Mode::{ChecksumOnly as C, RequireSignature as R};

/// The trust model table of seed 000, row by row, with the GitHub Actions
/// variables each CI row is detected from.
#[test]
fn seed_000_trust_model_table() {
    let config = PolicyConfig::built_in();
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let rows: &[(&str, Vars, &str, Mode)] = &[
        ("local machine", &[], "local", C),
        (
            "push to a feature branch",
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/feature/x"),
            ],
            "push:feature/x",
            C,
        ),
        (
            "push to dev",
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/dev"),
            ],
            "push:dev",
            C,
        ),
        (
            "feature -> dev PR",
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_BASE_REF", "dev"),
                ("GITHUB_REF", "refs/pull/1/merge"),
            ],
            "pr:dev",
            C,
        ),
        (
            "approved PR review into dev",
            &[
                ("GITHUB_EVENT_NAME", "pull_request_review"),
                ("GITHUB_BASE_REF", "dev"),
            ],
            "pr:dev",
            C,
        ),
        (
            "PR into another branch",
            &[
                ("GITHUB_EVENT_NAME", "pull_request_target"),
                ("GITHUB_BASE_REF", "release-1"),
            ],
            "pr:release-1",
            C,
        ),
        (
            "PR into main",
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_BASE_REF", "main"),
            ],
            "pr:main",
            R,
        ),
        (
            "push to main",
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/main"),
            ],
            "push:main",
            R,
        ),
    ];
    for (what, vars, expected_context, expected_mode) in rows {
        let detected = resolve_with(vars, None, None, false, &config).unwrap();
        assert_eq!(
            detected
                .context
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some(*expected_context),
            "{what}"
        );
        assert_eq!(detected.mode, *expected_mode, "{what}");
        let flagged = resolve_with(&[], Some(expected_context), None, false, &config).unwrap();
        assert_eq!(flagged.mode, *expected_mode, "{what} via --context");
        assert_eq!(flagged.context_source, ContextSource::Flag);
    }
    // End-user install: always require-signature, from any environment.
    let install = resolve_with(
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/dev"),
        ],
        Some("install"),
        None,
        false,
        &config,
    )
    .unwrap();
    assert_eq!(install.mode, R);
}

#[test]
fn undetermined_contexts_fail_closed() {
    let config = PolicyConfig::built_in();
    for vars in [
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/tags/v1.0"),
        ][..],
        &[("GITHUB_EVENT_NAME", "pull_request")][..],
        &[
            ("GITHUB_EVENT_NAME", "workflow_dispatch"),
            ("GITHUB_REF", "refs/heads/dev"),
        ][..],
        &[("GITHUB_ACTIONS", "true")][..],
        &[("CI", "true")][..],
    ] {
        let r = resolve_with(vars, None, None, false, &config).unwrap();
        assert_eq!(r.context, None, "{vars:?}");
        assert_eq!(r.mode, R, "{vars:?}");
        assert!(matches!(r.context_source, ContextSource::Undetermined(_)));
    }
    assert_eq!(
        resolve_with(&[("CI", "false")], None, None, false, &config)
            .unwrap()
            .mode,
        C
    );
}

#[test]
fn mode_flag_raises_freely_and_lowers_only_with_allow_downgrade() {
    let config = PolicyConfig::built_in();
    let raised = resolve_with(&[], Some("local"), Some(R), false, &config).unwrap();
    assert_eq!((raised.mode, raised.mode_source), (R, ModeSource::Raised));

    let err = resolve_with(&[], Some("push:main"), Some(C), false, &config).unwrap_err();
    assert!(matches!(err, ResolveError::DowngradeNeedsFlag { .. }));
    let lowered = resolve_with(&[], Some("push:main"), Some(C), true, &config).unwrap();
    assert_eq!(
        (lowered.mode, lowered.mode_source),
        (C, ModeSource::Downgraded)
    );
    assert_eq!(lowered.warnings.len(), 1);

    for allow in [false, true] {
        let err = resolve_with(&[], Some("install"), Some(C), allow, &config).unwrap_err();
        assert_eq!(err, ResolveError::InstallCannotBeLowered(C));
    }
}

#[test]
fn context_flag_cannot_quietly_weaken_the_ci_context() {
    let config = PolicyConfig::built_in();
    let main = [
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/main"),
    ];
    let err = resolve_with(&main, Some("local"), None, false, &config).unwrap_err();
    assert!(matches!(err, ResolveError::ContextFlagLowers { .. }));
    let allowed = resolve_with(&main, Some("local"), None, true, &config).unwrap();
    assert_eq!(allowed.mode, C);
    assert_eq!(allowed.warnings.len(), 1);
    // Raising via the flag is fine.
    let dev = [
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/dev"),
    ];
    assert_eq!(
        resolve_with(&dev, Some("install"), None, false, &config)
            .unwrap()
            .mode,
        R
    );
}

#[test]
fn policy_file_sets_protected_globs_and_modes() {
    let text = "[other]\nkept = true\n\n[policy]\nprotected-branches = [\"main\", \"release/*\"]\npush = \"require-signature\"\nlocal = \"checksum-only\"\n";
    let config = PolicyConfig::parse(text, Path::new("shipgate.toml")).unwrap();
    assert_eq!(
        config
            .mode_for(Some(&Context::Push("release/1.0".into())))
            .0,
        R
    );
    assert_eq!(
        config.mode_for(Some(&Context::Pr("release/1.0".into()))).0,
        R
    );
    assert_eq!(
        config
            .mode_for(Some(&Context::Pr("release/1.0/x".into())))
            .0,
        C
    );
    assert_eq!(config.mode_for(Some(&Context::Push("dev".into()))).0, R);
    assert_eq!(config.mode_for(Some(&Context::Pr("dev".into()))).0, C);
    assert_eq!(config.mode_for(Some(&Context::Install)).0, R);
    assert!(
        config
            .mode_for(Some(&Context::Push("release/1.0".into())))
            .1
            .contains("release/*")
    );

    let none =
        PolicyConfig::parse("[policy]\nprotected-branches = []\n", Path::new("p.toml")).unwrap();
    assert_eq!(none.mode_for(Some(&Context::Push("main".into()))).0, C);
}

#[test]
fn bad_policy_files_name_the_file_line_and_problem() {
    let cases = [
        (
            "[policy]\nlocal = \"checksum-only\"\ncolour = \"red\"\n",
            "p.toml:3:",
            "unknown field `colour`",
        ),
        (
            "[policy]\ninstall = \"checksum-only\"\n",
            "p.toml:2:",
            "install cannot be configured",
        ),
        (
            "[policy]\npush = \"sometimes\"\n",
            "p.toml:2:",
            "unknown mode 'sometimes'",
        ),
        (
            "[policy]\nprotected-branches = [\"[\"]\n",
            "p.toml:2:",
            "bad glob",
        ),
        ("[policy\n", "p.toml:1:", ""),
        (
            "[policy]\nprotected-branches = \"main\"\n",
            "p.toml:2:",
            "invalid type",
        ),
    ];
    for (text, prefix, needle) in cases {
        let err = PolicyConfig::parse(text, Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(prefix) && err.contains(needle),
            "{text:?}: {err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn contexts_parse_strictly() {
    for ok in [
        "local",
        "install",
        "push:main",
        "pr:dev",
        "push:feature/a-b",
    ] {
        assert_eq!(ok.parse::<Context>().unwrap().to_string(), ok);
    }
    for bad in ["", "ci", "push:", "pr", "push:a b", "merge:main"] {
        assert!(bad.parse::<Context>().is_err(), "{bad}");
    }
}
