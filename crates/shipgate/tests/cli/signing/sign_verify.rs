use serde_json::Value;

use super::{Fixture, expect, sg};

#[test]
fn sign_writes_a_canonical_manifest_and_verify_passes() {
    let f = Fixture::new();
    f.write("modules/hello/__pycache__/x.cpython-312.pyc", "cache");
    f.write("modules/hello/.git/HEAD", "ref: x");
    f.write("modules/hello/notes.txt~", "backup");
    f.sign_hello();
    let manifest = f.read("modules/hello/shipgate.manifest");
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(
        lines[..3],
        ["shipgate-manifest v1", "name hello", "version 1.0.0"]
    );
    assert_eq!(lines.len(), 6, "{manifest}");
    assert!(
        lines[3].ends_with(" 16 README.md") || lines[3].ends_with(" 8 README.md"),
        "{manifest}"
    );
    assert!(manifest.contains(" data/a%20b.txt\n"), "{manifest}");
    assert!(!manifest.contains("pycache") && !manifest.contains(".git") && !manifest.contains('~'));

    // Same content, same bytes; the version is kept on re-signing.
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello"]),
        0,
        &["(unchanged)"],
    );
    assert_eq!(f.read("modules/hello/shipgate.manifest"), manifest);
    assert!(f.path("modules/hello/shipgate.manifest.minisig").exists());

    expect(
        &f.verify_hello(),
        0,
        &[
            "✓ modules/hello: hello 1.0.0, 3 files, signed by key",
            "all 1 module(s) verified",
        ],
    );
}

#[test]
fn checksum_only_needs_no_key_and_main_then_requires_a_signature() {
    let f = Fixture::new();
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello"]),
        0,
        &["manifest written, not signed"],
    );
    assert!(!f.path("modules/hello/shipgate.manifest.minisig").exists());
    assert!(
        f.read("modules/hello/shipgate.manifest")
            .contains("version 0.0.0\n")
    );
    expect(
        &f.sg(&["verify", "modules/hello", "--context", "local"]),
        0,
        &["unsigned"],
    );
    expect(
        &f.sg(&["verify", "modules/hello", "--context", "pr:dev"]),
        0,
        &[],
    );
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "-p",
        "k.pub",
        "--context",
        "pr:main",
    ]);
    expect(
        &out,
        1,
        &[
            "modules/hello/shipgate.manifest.minisig: missing (mode require-signature needs a valid signature)",
        ],
    );
    expect(
        &f.sg(&["verify", "modules/hello", "--context", "install"]),
        1,
        &["missing"],
    );
}

#[test]
fn a_present_signature_is_checked_even_in_checksum_only_mode() {
    let f = Fixture::new();
    f.sign_hello();
    let out = f.sg(&["verify", "modules/hello", "--context", "local"]);
    expect(
        &out,
        1,
        &["signature present but no public key was given to check it"],
    );
    expect(
        &f.sg(&[
            "verify",
            "modules/hello",
            "--context",
            "local",
            "-p",
            "k.pub",
        ]),
        0,
        &[],
    );
    // Refreshing the manifest after a change drops the stale signature.
    f.write("modules/hello/new.txt", "new");
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello"]),
        0,
        &["removed the stale signature"],
    );
    expect(
        &f.sg(&["verify", "modules/hello", "--context", "local"]),
        0,
        &[],
    );
}

#[test]
fn verify_reports_every_added_missing_and_changed_file_by_name() {
    let f = Fixture::new();
    f.sign_hello();
    f.write("modules/hello/src/hello.py", "print('HELLO')\n"); // same size
    f.write("modules/hello/README.md", "# hello, longer\n");
    std::fs::remove_file(f.path("modules/hello/data/a b.txt")).unwrap();
    f.write("modules/hello/src/extra.py", "import os\n");
    let out = f.verify_hello();
    expect(
        &out,
        1,
        &[
            "✗ modules/hello",
            "added    modules/hello/src/extra.py",
            "missing  modules/hello/data/a b.txt",
            "changed  modules/hello/src/hello.py: content differs (SHA-256)",
            "changed  modules/hello/README.md: size 16, manifest says 8",
            "error: 1 of 1 module(s) failed verification",
            "hint:",
        ],
    );
}

#[test]
fn verify_json_lists_modules_policy_and_differences() {
    let f = Fixture::new();
    f.sign_hello();
    f.write("modules/other/x.txt", "x");
    expect(&f.sg(&["sign", "--checksum-only", "modules/other"]), 0, &[]);
    f.write("modules/other/y.txt", "y");
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "modules/other",
        "-p",
        "k.pub",
        "--context",
        "push:dev",
        "--json",
    ]);
    super::super::util::assert_exit(&out, 1);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["policy"]["context"], "push:dev");
    assert_eq!(json["policy"]["mode"], "checksum-only");
    assert_eq!(json["modules"][0]["outcome"], "pass");
    assert_eq!(json["modules"][0]["signature"]["status"], "valid");
    assert_eq!(
        json["modules"][0]["signature"]["trusted_comment"]["version"],
        "1.0.0"
    );
    assert_eq!(json["modules"][1]["outcome"], "fail");
    assert_eq!(json["modules"][1]["added"][0], "y.txt");
    assert_eq!(json["modules"][1]["signature"]["status"], "absent");
}

#[test]
fn verify_accepts_any_of_several_public_keys() {
    let f = Fixture::new();
    f.sign_hello();
    expect(&f.sg(&["keygen", "-s", "o.key", "-p", "o.pub"]), 0, &[]);
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "-p",
        "o.pub",
        "-p",
        "k.pub",
        "--context",
        "install",
    ]);
    expect(&out, 0, &["✓ modules/hello"]);
}

#[test]
fn sign_keeps_an_existing_name_and_version_and_checks_name_flags() {
    let f = Fixture::new();
    expect(
        &f.sg(&[
            "sign",
            "--checksum-only",
            "modules/hello",
            "--name",
            "greeter",
            "--version",
            "2.1.0",
        ]),
        0,
        &["greeter 2.1.0"],
    );
    expect(
        &f.sg(&["sign", "modules/hello", "-s", "k.key"]),
        0,
        &["greeter 2.1.0"],
    );
    f.write("modules/two/x", "x");
    let out = f.sg(&[
        "sign",
        "--checksum-only",
        "modules/hello",
        "modules/two",
        "--name",
        "x",
    ]);
    expect(&out, 2, &["--name applies to one module"]);
    expect(
        &f.sg(&[
            "sign",
            "--checksum-only",
            "modules/hello",
            "--version",
            "1 0",
        ]),
        2,
        &["--version"],
    );
}

#[test]
fn demo_runs_every_step_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let out = sg(dir.path(), &["demo"]);
    expect(
        &out,
        0,
        &[
            "✓ edit modules/hello/src/hello.py, verify",
            "changed src/hello.py",
            "steps behaved as expected",
        ],
    );
    assert!(!super::all_output(&out).contains('✗'));
}
