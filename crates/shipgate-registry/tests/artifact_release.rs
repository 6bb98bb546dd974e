//! The set of files staged for a target, checked as a whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{TarEntry, wheel_entries, write_tgz, zip_bytes};
use shipgate_registry::TargetKind;
use shipgate_registry::artifact::{ArtifactError, Declarations, Limits, accepts, check_release};

#[test]
fn each_kind_takes_its_own_files() {
    assert!(accepts(TargetKind::Npm, "a-1.0.0.tgz"));
    assert!(!accepts(TargetKind::Npm, "a-1.0.0.whl"));
    assert!(accepts(TargetKind::Pypi, "a-1.0-py3-none-any.whl"));
    assert!(accepts(TargetKind::Pypi, "a-1.0.tar.gz"));
    assert!(accepts(TargetKind::Cargo, "a-1.0.0.crate"));
    assert!(!accepts(TargetKind::Cargo, "a-1.0.0.tgz"));
}

#[test]
fn release_sets_are_checked_whole() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = write_tgz(
        dir.path(),
        "demo-1.0.0.tgz",
        &[TarEntry::File(
            b"package/package.json",
            br#"{"name":"demo","version":"1.0.0"}"#,
        )],
    );
    let wheel = dir.path().join("demo_pkg-1.0.0-py3-none-any.whl");
    std::fs::write(&wheel, zip_bytes(&wheel_entries())).unwrap();
    let sdist = write_tgz(
        dir.path(),
        "demo_pkg-1.0.0.tar.gz",
        &[TarEntry::File(
            b"demo_pkg-1.0.0/PKG-INFO",
            b"Metadata-Version: 2.2\nName: demo-pkg\nVersion: 1.0.0\n",
        )],
    );
    let limits = Limits::default();

    let infos = check_release(
        TargetKind::Npm,
        &[("demo-1.0.0.tgz", &tgz)],
        "demo",
        "1.0.0",
        &limits,
    )
    .unwrap();
    assert_eq!(infos.len(), 1);

    let error = check_release(
        TargetKind::Npm,
        &[("demo-1.0.0.tgz", &tgz), ("demo-1.0.1.tgz", &tgz)],
        "demo",
        "1.0.0",
        &limits,
    )
    .unwrap_err();
    assert!(matches!(error, ArtifactError::WrongFiles { .. }), "{error}");
    assert!(error.to_string().contains("exactly one file"), "{error}");

    let error = check_release(
        TargetKind::Npm,
        &[("demo_pkg-1.0.0.tar.gz", &sdist)],
        "demo",
        "1.0.0",
        &limits,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not a file the npm target publishes"),
        "{error}"
    );

    let both: [(&str, &Path); 2] = [
        ("demo_pkg-1.0.0-py3-none-any.whl", &wheel),
        ("demo_pkg-1.0.0.tar.gz", &sdist),
    ];
    let infos = check_release(TargetKind::Pypi, &both, "Demo_Pkg", "1.0", &limits).unwrap_err();
    assert!(
        infos
            .to_string()
            .contains("version says \"1.0.0\", expected \"1.0\""),
        "{infos}"
    );
    let infos = check_release(TargetKind::Pypi, &both, "Demo_Pkg", "1.0.0", &limits).unwrap();
    assert_eq!(infos.len(), 2);
    // The wheel declares requests; the sdist (no Requires-Dist) nothing: together, requests.
    let merged = Declarations::merged(&infos);
    assert_eq!(
        merged.dependencies["requires-dist"]["requests"],
        "requests (>=2)"
    );

    let twice: [(&str, &Path); 2] = [
        ("demo_pkg-1.0.0.tar.gz", &sdist),
        ("demo_pkg-1.0.0.tar.gz", &sdist),
    ];
    let error = check_release(TargetKind::Pypi, &twice, "demo-pkg", "1.0.0", &limits).unwrap_err();
    assert!(error.to_string().contains("staged twice"), "{error}");

    let error = check_release(TargetKind::Cargo, &[], "demo", "1.0.0", &limits).unwrap_err();
    assert_eq!(error.to_string(), "no files staged for the cargo target");
}
