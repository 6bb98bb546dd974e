//! Every bad input the issue lists: one clear line naming the file and the
//! problem, a non-zero exit, never a panic, never a pass.

use std::path::Path;
use std::process::Command;

use super::{Fixture, expect, run_ok};
use crate::util::peer;

const MANIFEST: &str = "modules/hello/shipgate.manifest";
const SIG: &str = "modules/hello/shipgate.manifest.minisig";

/// Signs hello, then replaces its manifest with `edit(manifest)`.
fn with_edited_manifest(edit: impl Fn(&str) -> String) -> Fixture {
    let f = Fixture::new();
    f.sign_hello();
    let text = f.read(MANIFEST);
    f.write(MANIFEST, &edit(&text));
    f
}

fn digest() -> String {
    "a".repeat(64)
}

#[test]
fn malformed_manifests_are_input_errors_naming_file_and_line() {
    let d = digest();
    let cases: Vec<(String, &str)> = vec![
        (
            format!("file {d} 1 ../escape.txt\n"),
            "shipgate.manifest:7: path '../escape.txt' has a '..' segment",
        ),
        (
            format!("file {d} 1 /etc/passwd\n"),
            "shipgate.manifest:7: absolute path '/etc/passwd'",
        ),
        (
            "symlink ../../../etc/passwd zlink\n".to_string(),
            "shipgate.manifest:7: symlink 'zlink' points to '../../../etc/passwd', outside the module",
        ),
        (
            format!("file {d} 1 zz\nfile {d} 1 zz\n"),
            "shipgate.manifest:8: duplicate entry 'zz'",
        ),
        (
            format!("file {d} 1 zz\nfile {d} 1 aa\n"),
            "shipgate.manifest:8: entry 'aa' is out of order",
        ),
        (
            "signer mallory\n".to_string(),
            "shipgate.manifest:7: unknown field 'signer'",
        ),
    ];
    for (extra, needle) in cases {
        let f = with_edited_manifest(|m| format!("{m}{extra}"));
        let out = f.verify_hello();
        expect(
            &out,
            2,
            &[needle, "error: modules/hello/shipgate.manifest:"],
        );
    }
    let f = with_edited_manifest(|m| m.replace("shipgate-manifest v1", "shipgate-manifest v2"));
    expect(
        &f.verify_hello(),
        2,
        &["shipgate.manifest:1: unsupported manifest format version 'v2' (this shipgate reads v1)"],
    );
    let f = with_edited_manifest(|m| m.replace("name hello\n", "name hello\nname again\n"));
    expect(
        &f.verify_hello(),
        2,
        &["shipgate.manifest:3: duplicate field 'name'"],
    );
    let f = with_edited_manifest(|m| m[..m.len() - 5].to_string());
    expect(
        &f.verify_hello(),
        2,
        &["shipgate.manifest:6: last line has no newline (truncated manifest?)"],
    );
    // Signing refuses to overwrite a malformed manifest silently.
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello"]),
        2,
        &["shipgate.manifest:6:"],
    );
}

#[test]
fn files_added_removed_or_changed_after_signing_fail_by_name() {
    for (change, needle) in [
        ("add", "added    modules/hello/src/added.py"),
        ("remove", "missing  modules/hello/README.md"),
        ("change", "changed  modules/hello/src/hello.py"),
    ] {
        let f = Fixture::new();
        f.sign_hello();
        match change {
            "add" => f.write("modules/hello/src/added.py", "x"),
            "remove" => std::fs::remove_file(f.path("modules/hello/README.md")).unwrap(),
            _ => f.write("modules/hello/src/hello.py", "print('pwned')\n"),
        }
        expect(&f.verify_hello(), 1, &[needle]);
    }
}

#[test]
fn truncated_garbled_and_empty_signatures_fail_naming_the_file() {
    let f = Fixture::new();
    f.sign_hello();
    let sig = f.read(SIG);
    let lines: Vec<&str> = sig.lines().collect();
    let cases = [
        (
            String::new(),
            "shipgate.manifest.minisig: signature file is empty",
        ),
        (
            format!("{}\n{}\n", lines[0], lines[1]),
            "shipgate.manifest.minisig: truncated signature file (missing the trusted comment)",
        ),
        (
            sig[..sig.len() / 2].to_string(),
            "shipgate.manifest.minisig: ",
        ),
        (
            sig.replacen(&lines[1][10..20], "##########", 1),
            "shipgate.manifest.minisig: garbled signature file (signature line is not base64)",
        ),
        (
            "\u{0}\u{1}binary".to_string(),
            "shipgate.manifest.minisig: not a minisign signature",
        ),
    ];
    for (text, needle) in cases {
        f.write(SIG, &text);
        expect(&f.verify_hello(), 1, &[needle, "✗ modules/hello"]);
        // Checksum-only mode still checks a present signature.
        let out = f.sg(&[
            "verify",
            "modules/hello",
            "-p",
            "k.pub",
            "--context",
            "local",
        ]);
        expect(&out, 1, &[needle]);
    }
    // A signature that differs in one signature byte.
    let mut bytes = lines[1].as_bytes().to_vec();
    bytes[30] = if bytes[30] == b'A' { b'B' } else { b'A' };
    f.write(
        SIG,
        &sig.replace(lines[1], std::str::from_utf8(&bytes).unwrap()),
    );
    expect(
        &f.verify_hello(),
        1,
        &["shipgate.manifest.minisig: signature does not verify with key"],
    );
}

#[test]
fn a_signature_by_another_key_fails() {
    let f = Fixture::new();
    expect(
        &f.sg(&["keygen", "-s", "other.key", "-p", "other.pub"]),
        0,
        &[],
    );
    expect(&f.sg(&["sign", "modules/hello", "-s", "other.key"]), 0, &[]);
    let out = f.verify_hello();
    expect(
        &out,
        1,
        &[
            "shipgate.manifest.minisig: signed by key",
            "which is none of the given public keys",
        ],
    );
}

#[test]
fn a_valid_signature_of_another_modules_manifest_copied_in_fails() {
    let f = Fixture::new();
    f.sign_hello();
    f.write("modules/other/README.md", "# hello\n");
    expect(
        &f.sg(&["sign", "modules/other", "-s", "k.key", "--version", "1.0.0"]),
        0,
        &[],
    );
    std::fs::copy(
        f.path("modules/other/shipgate.manifest.minisig"),
        f.path(SIG),
    )
    .unwrap();
    expect(
        &f.verify_hello(),
        1,
        &["shipgate.manifest.minisig: signature does not verify with key"],
    );

    // Copying the other module's manifest too: the files no longer match.
    std::fs::copy(f.path("modules/other/shipgate.manifest"), f.path(MANIFEST)).unwrap();
    expect(
        &f.verify_hello(),
        1,
        &["added    modules/hello/src/hello.py"],
    );
}

#[test]
fn an_edited_trusted_comment_fails() {
    let f = Fixture::new();
    f.sign_hello();
    let sig = f.read(SIG);
    f.write(SIG, &sig.replace("version=1.0.0", "version=9.9.9"));
    let out = f.verify_hello();
    expect(
        &out,
        1,
        &[
            "shipgate.manifest.minisig: signature does not verify with key",
            "trusted comment was changed",
        ],
    );
    // minisign agrees.
    let out = Command::new(peer("minisign"))
        .current_dir(f.dir.path())
        .args(["-Vm", MANIFEST, "-p", "k.pub"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn malformed_or_wrong_type_key_files_are_input_errors() {
    let f = Fixture::new();
    f.sign_hello();
    f.write("garbage.pub", "this is not a key\n");
    f.write("truncated.pub", &f.read("k.pub")[..40]);
    f.write("empty.pub", "");
    let cases = [
        (
            "garbage.pub",
            "garbage.pub: not a minisign key file (first line must start with 'untrusted comment:')",
        ),
        ("truncated.pub", "truncated.pub: truncated key file"),
        ("empty.pub", "empty.pub: key file is empty"),
        (
            "k.key",
            "k.key: this is a minisign secret key, not a public key (pass the .pub file)",
        ),
        (
            SIG,
            "shipgate.manifest.minisig: this is a minisign signature, not a key",
        ),
        ("missing.pub", "missing.pub: cannot read key file"),
    ];
    for (key, needle) in cases {
        expect(&f.sg(&["verify", "modules/hello", "-p", key]), 2, &[needle]);
    }
    expect(
        &f.sg(&["sign", "modules/hello", "-s", "k.pub"]),
        2,
        &["k.pub: this is a minisign public key, not a secret key"],
    );
    expect(
        &f.sg(&["sign", "modules/hello", "-s", "garbage.pub"]),
        2,
        &["garbage.pub: not a minisign key file"],
    );
}

#[test]
fn symlinks_inside_are_recorded_and_symlinks_leaving_the_module_are_refused() {
    let f = Fixture::new();
    std::os::unix::fs::symlink("README.md", f.path("modules/hello/link.md")).unwrap();
    f.sign_hello();
    assert!(f.read(MANIFEST).contains("symlink README.md link.md\n"));
    expect(&f.verify_hello(), 0, &[]);

    std::os::unix::fs::symlink("../../k.key", f.path("modules/hello/src/steal")).unwrap();
    let out = f.verify_hello();
    expect(
        &out,
        1,
        &["modules/hello/src/steal: symlink points to '../../k.key', outside the module"],
    );
    let out = f.sg(&["sign", "modules/hello", "-s", "k.key"]);
    expect(
        &out,
        2,
        &["modules/hello/src/steal: symlink points to '../../k.key', outside the module"],
    );
    std::fs::remove_file(f.path("modules/hello/src/steal")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", f.path("modules/hello/abs")).unwrap();
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello"]),
        2,
        &["modules/hello/abs: symlink points to '/etc/passwd', outside the module"],
    );
}

#[test]
fn symlinked_manifests_and_signatures_are_refused() {
    let f = Fixture::new();
    f.sign_hello();
    std::fs::rename(f.path(SIG), f.path("elsewhere.minisig")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere.minisig", f.path(SIG)).unwrap();
    expect(
        &f.verify_hello(),
        1,
        &["shipgate.manifest.minisig: cannot read signature file: is a symlink"],
    );
    std::fs::remove_file(f.path(SIG)).unwrap();
    std::fs::rename(f.path(MANIFEST), f.path("elsewhere.manifest")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere.manifest", f.path(MANIFEST)).unwrap();
    expect(
        &f.verify_hello(),
        2,
        &["shipgate.manifest: cannot read: is a symlink"],
    );
}

#[test]
fn a_module_directory_that_does_not_exist_is_an_input_error() {
    let f = Fixture::new();
    f.sign_hello();
    let out = f.sg(&["verify", "modules/hello", "modules/nope", "-p", "k.pub"]);
    expect(
        &out,
        2,
        &[
            "error: modules/nope: module directory does not exist",
            "✓ modules/hello",
        ],
    );
    expect(
        &f.sg(&["sign", "modules/nope", "-s", "k.key"]),
        2,
        &["modules/nope: module directory does not exist"],
    );
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello/README.md"]),
        2,
        &["modules/hello/README.md: not a directory"],
    );
    let out = f.sg(&["verify", "modules"]);
    expect(
        &out,
        1,
        &[
            "modules: no shipgate.manifest in this module",
            "hint: write a manifest",
        ],
    );
}

#[test]
fn special_files_are_refused() {
    let f = Fixture::new();
    run_ok(Command::new("mkfifo").arg(f.path("modules/hello/pipe")));
    expect(
        &f.sg(&["sign", "--checksum-only", "modules/hello"]),
        2,
        &["modules/hello/pipe: is a FIFO, which a module may not contain"],
    );
}

/// Root reads any file, so the unreadable-file test drops to `nobody`
/// (with `setpriv`, part of util-linux) when it runs as root.
#[test]
fn an_unreadable_file_fails_naming_it() {
    let f = Fixture::new();
    f.sign_hello();
    let secret = f.path("modules/hello/src/hello.py");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let as_root = String::from_utf8(run_ok(Command::new("id").arg("-u")).stdout)
        .unwrap()
        .trim()
        == "0";
    let run = |args: &[&str]| {
        let mut cmd = if as_root {
            std::fs::set_permissions(
                f.dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
            // A copy of the binary nobody can reach wherever the checkout lives.
            let binary = f.path("shipgate-bin");
            if !binary.exists() {
                std::fs::copy(env!("CARGO_BIN_EXE_shipgate"), &binary).unwrap();
            }
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
            cmd.arg(&binary);
            cmd
        } else {
            Command::new(env!("CARGO_BIN_EXE_shipgate"))
        };
        for name in ["CI", "GITHUB_ACTIONS", "GITHUB_EVENT_NAME"] {
            cmd.env_remove(name);
        }
        cmd.current_dir(f.dir.path()).args(args).output().unwrap()
    };
    let out = run(&[
        "verify",
        "modules/hello",
        "-p",
        "k.pub",
        "--context",
        "push:main",
    ]);
    expect(
        &out,
        1,
        &["changed  modules/hello/src/hello.py: cannot read: Permission denied"],
    );
    let out = run(&["sign", "--checksum-only", "modules/hello"]);
    expect(
        &out,
        2,
        &["modules/hello/src/hello.py: cannot read: Permission denied"],
    );
    assert!(Path::new(&secret).exists());
}
