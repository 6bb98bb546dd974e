//! The workflows of seeds 001 and 003, before and after their hardening
//! change: each "before" raises exactly the findings the change removed
//! (plus what else it has), each "after" is clean of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use shipgate_audit::audit_source;
use shipgate_audit::model::FileKind;

fn rules_raised(name: &str) -> BTreeSet<&'static str> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let (_, findings) = audit_source(name, FileKind::Workflow, &bytes);
    findings.iter().map(|f| f.rule.id).collect()
}

fn set(ids: &[&'static str]) -> BTreeSet<&'static str> {
    ids.iter().copied().collect()
}

#[test]
fn seed001_before_raises_what_the_split_removed() {
    assert_eq!(
        rules_raised("seed001-before.yml"),
        set(&[
            // publish job: PyPI OIDC token next to setup-python + poetry install/build.
            "credential-with-toolchain",
            // publish job had no `environment: pypi-production`.
            "publish-without-environment",
            // no root `permissions: {}`.
            "missing-root-permissions",
            // workflow-level `cancel-in-progress: true` on a workflow that runs on main.
            "cancel-in-progress-on-release",
            // actions referenced by tag (`@v4`, `@release/v1`).
            "unpinned-action",
            // the publishing job's checkout keeps the token in `.git/config`.
            "artipacked",
        ])
    );
}

#[test]
fn seed001_after_is_clean() {
    // Nothing remains: root `permissions: {}`, per-job grants, SHA pins with
    // version comments, environment on publish, no toolchain in the OIDC job,
    // download-artifact v8 (digest checked), the seed's concurrency expression.
    assert_eq!(rules_raised("seed001-after.yml"), set(&[]));
}

#[test]
fn seed003_before_raises_what_the_split_removed() {
    assert_eq!(
        rules_raised("seed003-before.yml"),
        set(&[
            // `id-token: write` in the job that runs setup-node next to a checkout, npm ci, npm test.
            "credential-with-toolchain",
            // `npm ci` without --ignore-scripts next to the OIDC token.
            "install-scripts-with-credentials",
            // the workflow has no root `permissions: {}` (unchanged by the review).
            "missing-root-permissions",
            // the publishing job's checkout keeps the token in `.git/config`.
            "artipacked",
        ])
    );
}

#[test]
fn seed003_after_is_clean_of_the_split_findings() {
    // What remains, and why: the review comment's workflow grants permissions
    // per job but never sets `permissions: {}` at the root, so
    // `missing-root-permissions` still asks for it. The publish job keeps
    // `actions/setup-node` (it needs the npm CLI) but has no checkout and no
    // cache, so it is not a toolchain step; `npm stage publish ./tarball/*.tgz`
    // publishes a tarball without running lifecycle scripts.
    assert_eq!(
        rules_raised("seed003-after.yml"),
        set(&["missing-root-permissions"])
    );
}
