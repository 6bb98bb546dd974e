//! Artifacts made by the real tools read back correctly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tools::{cargo_package, npm_pack, python_build};
use shipgate_registry::TargetKind;
use shipgate_registry::artifact::{ArtifactFormat, Declarations, check_matches, diff, inspect};

fn file_name(path: &std::path::Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn npm_pack_tarball() {
    let work = tempfile::tempdir().unwrap();
    let package = serde_json::json!({
        "name": "@shipgate-test/demo",
        "version": "2.0.0-rc.1",
        "scripts": { "postinstall": "node setup.js", "test": "true" },
        "bin": { "sg-demo": "cli.js" },
        "dependencies": { "left-pad": "^1.3.0" },
        "peerDependencies": { "react": ">=18" }
    });
    let tarball = npm_pack(
        work.path(),
        &package,
        &[("cli.js", "#!/usr/bin/env node\n"), ("setup.js", "")],
    );
    let info = inspect(TargetKind::Npm, &file_name(&tarball), &tarball).unwrap();
    assert_eq!(info.format, ArtifactFormat::NpmTarball);
    check_matches(&info, "@shipgate-test/demo", "2.0.0-rc.1").unwrap();
    assert_eq!(info.declares.scripts["postinstall"], "node setup.js");
    assert_eq!(info.declares.bins["sg-demo"], "cli.js");
    assert_eq!(
        info.declares.dependencies["peerDependencies"]["react"],
        ">=18"
    );
    let first = diff(&Declarations::default(), &info.declares);
    assert!(first.loud, "a postinstall script must be loud: {first:?}");
}

#[test]
fn python_build_wheel_and_sdist() {
    let work = tempfile::tempdir().unwrap();
    let (wheel, sdist) = python_build(work.path(), "shipgate-demo", "1.0.0rc1");
    let info = inspect(TargetKind::Pypi, &file_name(&wheel), &wheel).unwrap();
    assert_eq!(info.format, ArtifactFormat::Wheel);
    assert_eq!(info.normalized_name, "shipgate-demo");
    check_matches(&info, "Shipgate_Demo", "1.0.0-rc.1").unwrap();
    assert_eq!(
        info.declares.entry_points["console_scripts:shipgate-demo-cli"],
        "shipgate_demo:main"
    );
    assert!(info.declares.dependencies["requires-dist"]["requests"].contains("requests>=2"));

    let info = inspect(TargetKind::Pypi, &file_name(&sdist), &sdist).unwrap();
    assert_eq!(info.format, ArtifactFormat::Sdist);
    check_matches(&info, "shipgate-demo", "1.0.0rc1").unwrap();
    assert_eq!(
        info.declares.entry_points["console_scripts:shipgate-demo-cli"],
        "shipgate_demo:main"
    );
    assert!(info.declares.dependencies.contains_key("requires-dist"));
    let error = check_matches(&info, "shipgate-demo", "1.0.0").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("PKG-INFO version says \"1.0.0rc1\", expected \"1.0.0\""),
        "{error}"
    );
}

#[test]
fn cargo_package_crate() {
    let work = tempfile::tempdir().unwrap();
    let plain = cargo_package(work.path(), "shipgate-demo", "0.1.0", false);
    let with_build = cargo_package(work.path(), "shipgate-demo", "0.2.0", true);
    let before = inspect(TargetKind::Cargo, &file_name(&plain), &plain).unwrap();
    let after = inspect(TargetKind::Cargo, &file_name(&with_build), &with_build).unwrap();
    check_matches(&before, "shipgate-demo", "0.1.0").unwrap();
    check_matches(&after, "shipgate-demo", "0.2.0").unwrap();
    assert_eq!(before.declares.build_script, None);
    assert_eq!(
        after.declares.build_script.as_ref().unwrap().path,
        "build.rs"
    );
    let changes = diff(&before.declares, &after.declares);
    assert!(changes.loud, "a new build.rs must be loud: {changes:?}");
}
