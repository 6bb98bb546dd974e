//! `shipgate fetch` writes exactly what was approved: files arrive through
//! a private directory and appear only when all verified, a short stored
//! file is a verification failure naming the file and both sizes, and no
//! release can hold a file named like the manifest fetch writes itself.

use std::path::Path;
use std::process::Output;

use crate::gate_util::{
    CiIssuer, Gate, announce, bound_config, enroll, json, multipart, sha256_hex, totp,
};
use crate::util::{assert_exit, stderr};

const CONTENT: &[u8] = b"hello 1.0.0, twenty-nine bytes";

/// A gate with `hello 1.0.0` (one file, `hello.txt`) released by alice and bob.
fn released() -> (CiIssuer, Gate) {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let alice = enroll(&gate, "alice", "hello");
    let bob = enroll(&gate, "bob", "hello");
    std::fs::write(gate.path().join("hello.txt"), CONTENT).unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let out = gate.stage(&token, "hello", "1.0.0", &["hello.txt", "--json"]);
    assert_exit(&out, 0);
    let id = json(&out)["id"].as_i64().unwrap().to_string();
    for who in [&alice, &bob] {
        let out = gate.cli(
            &[("SHIPGATE_MAINTAINER_TOKEN", &who.0)],
            &[
                "approve",
                &id,
                "--gate",
                &gate.url,
                "--code",
                &totp(&who.1, 0),
                "--json",
            ],
        );
        assert_exit(&out, 0);
    }
    (ci, gate)
}

fn fetch(gate: &Gate, out_dir: &str) -> Output {
    gate.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &gate.url,
            "hello",
            "1.0.0",
            "--out",
            out_dir,
            "--gate-key",
            "gate.pub",
        ],
    )
}

/// Names in `dir` that a fetch may have left behind.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".shipgate-fetch") || n.ends_with(".part"))
        .collect()
}

#[test]
fn a_short_stored_file_fails_verification_naming_both_sizes() {
    let (_ci, gate) = released();
    let blob = gate.path().join("data/blobs").join(sha256_hex(CONTENT));
    std::fs::write(&blob, &CONTENT[..10]).unwrap();
    let out = fetch(&gate, "short");
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("hello.txt"), "{err}");
    assert!(err.contains(&CONTENT.len().to_string()), "{err}");
    // The gate may cut the answer before or after its first bytes.
    assert!(err.contains("bytes received"), "{err}");
    assert!(!err.contains("cannot reach the gate"), "{err}");
    assert!(!gate.path().join("short").exists());
    assert_eq!(leftovers(gate.path()), Vec::<String>::new());

    // Restored: the fetch verifies and leaves nothing but the release.
    std::fs::write(&blob, CONTENT).unwrap();
    let out = fetch(&gate, "ok");
    assert_exit(&out, 0);
    let mut names: Vec<String> = std::fs::read_dir(gate.path().join("ok"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "hello.txt",
            "shipgate.manifest",
            "shipgate.manifest.minisig"
        ]
    );
    assert_eq!(
        std::fs::read(gate.path().join("ok/hello.txt")).unwrap(),
        CONTENT
    );
    assert_eq!(leftovers(gate.path()), Vec::<String>::new());

    // Into an existing directory: moved in file by file, never replacing.
    std::fs::create_dir(gate.path().join("existing")).unwrap();
    assert_exit(&fetch(&gate, "existing"), 0);
    assert!(gate.path().join("existing/shipgate.manifest").is_file());
    let out = fetch(&gate, "existing");
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(leftovers(gate.path()), Vec::<String>::new());
}

#[test]
fn no_release_can_hold_a_file_named_like_what_fetch_writes() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    for name in [
        "shipgate.manifest",
        "shipgate.manifest.minisig",
        "SHIPGATE.MANIFEST",
    ] {
        // The CLI refuses before spending the CI token...
        std::fs::write(gate.path().join(name), b"x").unwrap();
        let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
        let out = gate.stage(&token, "hello", "1.0.0", &[name]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("shipgate fetch"), "{}", stderr(&out));
        // ...and the gate refuses such an announcement from any client.
        let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
        let files: [(&str, &[u8]); 2] = [("x", b"x"), (name, b"evil")];
        let (content_type, body) =
            multipart(&announce(&files), &[("file.0", b"x"), ("file.1", b"evil")]);
        let (status, answer) = gate.request(
            "POST",
            "/v1/packages/hello/versions/1.0.0",
            Some(&token),
            Some(&content_type),
            &body,
        );
        assert_eq!(status, 400, "{name}: {answer}");
        assert!(answer.contains("shipgate fetch"), "{answer}");
    }
}

#[test]
fn a_symlink_planted_at_a_remembered_file_is_not_written_through() {
    let (_ci, gate) = released();
    let config = gate.path().join("user-config");
    std::fs::create_dir_all(&config).unwrap();
    // Somewhere the user never named, e.g. a file another tool trusts.
    let victim = gate.path().join("victim.toml");
    std::fs::write(&victim, "").unwrap();
    std::os::unix::fs::symlink(&victim, config.join("log_checkpoints.toml")).unwrap();
    let out = fetch(&gate, "fetched");
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "");
    assert!(
        std::fs::symlink_metadata(config.join("log_checkpoints.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
