//! The real `minisign` (Debian's, 0.11) both ways.

use std::process::Command;

use super::{Fixture, all_output, expect, run_ok};
use crate::util::{peer, stderr, stdout};

const MANIFEST: &str = "modules/hello/shipgate.manifest";
const SIG: &str = "modules/hello/shipgate.manifest.minisig";

fn minisign(f: &Fixture) -> Command {
    let mut cmd = Command::new(peer("minisign"));
    cmd.current_dir(f.dir.path());
    cmd
}

/// `minisign -G -W`: an unencrypted key pair made by minisign itself.
fn minisign_keys(f: &Fixture) {
    run_ok(minisign(f).args(["-G", "-W", "-p", "m.pub", "-s", "m.key"]));
}

#[test]
fn minisign_verifies_what_shipgate_signed() {
    let f = Fixture::new();
    f.sign_hello();
    let out = run_ok(minisign(&f).args(["-Vm", MANIFEST, "-p", "k.pub"]));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("Trusted comment: shipgate v1 name=hello version=1.0.0 manifest-sha256="),
        "{text}"
    );
    // -H: minisign insists on the prehashed (ED) format.
    run_ok(minisign(&f).args(["-H", "-Vm", MANIFEST, "-p", "k.pub"]));
    // The manifest's SHA-256 in the trusted comment is the file's.
    let sha = run_ok(Command::new("sha256sum").arg(f.path(MANIFEST)));
    let sha = String::from_utf8(sha.stdout).unwrap()[..64].to_string();
    assert!(text.contains(&format!("manifest-sha256={sha}")), "{text}");

    // Tampering with the manifest is caught by minisign too.
    let manifest = f.read(MANIFEST);
    f.write(
        MANIFEST,
        &manifest.replace("version 1.0.0", "version 1.0.1"),
    );
    let out = minisign(&f)
        .args(["-Vm", MANIFEST, "-p", "k.pub"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn shipgate_signs_with_a_minisign_generated_key() {
    let f = Fixture::new();
    minisign_keys(&f);
    expect(
        &f.sg(&["sign", "modules/hello", "-s", "m.key"]),
        0,
        &["signed with key"],
    );
    run_ok(minisign(&f).args(["-Vm", MANIFEST, "-p", "m.pub"]));
    expect(
        &f.sg(&[
            "verify",
            "modules/hello",
            "-p",
            "m.pub",
            "--context",
            "install",
        ]),
        0,
        &["✓ modules/hello"],
    );
}

/// Runs `cmd` with `input` on stdin (minisign reads passwords from stdin
/// when it is not a terminal) and requires success.
fn run_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", all_output(&out));
    out
}

#[test]
fn password_encrypted_keys_work_both_ways_with_minisign() {
    let f = Fixture::new();
    // minisign's encrypted key (scrypt + XOR, as minisign -G makes it).
    run_with_stdin(
        minisign(&f).args(["-G", "-p", "m.pub", "-s", "m.key"]),
        "minisign pw\nminisign pw\n",
    );
    assert!(f.read("m.key").contains("encrypted secret key"));
    let sign = ["sign", "modules/hello", "-s", "m.key"];
    expect(
        &f.sg_env(&sign, &[("SHIPGATE_KEY_PASSWORD", "not it")]),
        2,
        &["m.key: wrong password for this secret key"],
    );
    expect(
        &f.sg_env(&sign, &[("SHIPGATE_KEY_PASSWORD", "minisign pw")]),
        0,
        &["signed with key"],
    );
    run_ok(minisign(&f).args(["-Vm", MANIFEST, "-p", "m.pub"]));

    // shipgate's encrypted key, used by minisign to sign.
    expect(
        &f.sg_env(
            &["keygen", "-s", "s.key", "-p", "s.pub", "--password"],
            &[("SHIPGATE_KEY_PASSWORD", "shipgate pw")],
        ),
        0,
        &["encrypted"],
    );
    f.write("note.txt", "signed by minisign with a shipgate key\n");
    run_with_stdin(
        minisign(&f).args(["-S", "-s", "s.key", "-m", "note.txt"]),
        "shipgate pw\n",
    );
    run_ok(minisign(&f).args(["-Vm", "note.txt", "-p", "s.pub"]));
}

#[test]
fn shipgate_accepts_minisign_signatures_with_a_shipgate_trusted_comment() {
    let f = Fixture::new();
    minisign_keys(&f);
    expect(
        &f.sg(&[
            "sign",
            "--checksum-only",
            "modules/hello",
            "--version",
            "2.0.0",
        ]),
        0,
        &[],
    );
    let sha = run_ok(Command::new("sha256sum").arg(f.path(MANIFEST)));
    let sha = String::from_utf8(sha.stdout).unwrap()[..64].to_string();
    let comment =
        format!("shipgate v1 name=hello version=2.0.0 manifest-sha256={sha} timestamp=1767225600");
    for legacy in [false, true] {
        let mut cmd = minisign(&f);
        cmd.args(["-S", "-s", "m.key", "-m", MANIFEST, "-t", &comment]);
        if legacy {
            cmd.arg("-l");
        }
        run_ok(&mut cmd);
        let out = f.sg(&[
            "verify",
            "modules/hello",
            "-p",
            "m.pub",
            "--context",
            "push:main",
            "--json",
        ]);
        expect(&out, 0, &[]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let signature = &json["modules"][0]["signature"];
        assert_eq!(signature["status"], "valid");
        assert_eq!(signature["prehashed"], !legacy);
        assert_eq!(signature["trusted_comment"]["timestamp"], 1_767_225_600);
    }
    // A shipgate comment naming another version is refused even though minisign accepts it.
    let wrong = comment.replace("version=2.0.0", "version=3.0.0");
    run_ok(minisign(&f).args(["-S", "-s", "m.key", "-m", MANIFEST, "-t", &wrong]));
    run_ok(minisign(&f).args(["-Vm", MANIFEST, "-p", "m.pub"]));
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "-p",
        "m.pub",
        "--context",
        "local",
    ]);
    expect(
        &out,
        1,
        &["trusted comment says version '3.0.0' but the manifest has '2.0.0'"],
    );
}

#[test]
fn a_minisign_default_trusted_comment_is_reported_and_fails_closed_under_require_signature() {
    let f = Fixture::new();
    minisign_keys(&f);
    expect(&f.sg(&["sign", "--checksum-only", "modules/hello"]), 0, &[]);
    run_ok(minisign(&f).args(["-S", "-s", "m.key", "-m", MANIFEST]));
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "-p",
        "m.pub",
        "--context",
        "push:main",
    ]);
    expect(
        &out,
        1,
        &[&format!(
            "{SIG}: trusted comment is not a shipgate comment; re-sign with shipgate sign"
        )],
    );
    let out = f.sg(&[
        "verify",
        "modules/hello",
        "-p",
        "m.pub",
        "--context",
        "pr:dev",
    ]);
    expect(&out, 0, &["warning:", "not a shipgate comment"]);
    assert!(!all_output(&out).contains("error"));
    // Re-signing with shipgate fixes it.
    expect(&f.sg(&["sign", "modules/hello", "-s", "m.key"]), 0, &[]);
    expect(
        &f.sg(&[
            "verify",
            "modules/hello",
            "-p",
            "m.pub",
            "--context",
            "push:main",
        ]),
        0,
        &[],
    );
}
