//! Nothing the user did not write reaches the terminal as is: file names,
//! module names, token claims and whatever a gate answers are printed with
//! control, bidirectional, invisible, tag and private-use characters
//! escaped, by every command that prints them. And no command panics when
//! its reader closed stdout early.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;
use shipgate_protocol::untrusted::is_deceptive;

use crate::fake_gate::{FakeGate, Reply, refusal};
use crate::gate_util::{CiIssuer, Gate, bound_config, json};
use crate::util::{assert_exit, run_in, shipgate, stderr, stdout};

/// One row per kind of text that can make a terminal lie.
const HOSTILE: &[(&str, &str)] = &[
    ("C0 control", "a\u{1}b"),
    ("newline", "a\nforged: line"),
    ("carriage return", "a\roverwrite"),
    ("DEL", "a\u{7f}b"),
    ("C1 CSI", "a\u{9b}31m"),
    ("CSI colour", "\u{1b}[31mred"),
    ("CSI cursor up, erase", "x\u{1b}[1A\u{1b}[2K"),
    ("OSC title", "\u{1b}]0;PWNED\u{7}"),
    ("right-to-left override", "x\u{202e}gpj.exe"),
    ("isolate", "a\u{2067}b\u{2069}"),
    ("Arabic letter mark", "a\u{61c}b"),
    ("Mongolian vowel separator", "a\u{180e}b"),
    ("interlinear annotation", "a\u{fff9}b\u{fffa}c\u{fffb}"),
    ("tag characters", "a\u{e0001}\u{e0041}\u{e007f}"),
    ("zero-width space", "a\u{200b}b"),
    ("zero-width joiner", "a\u{200d}b"),
    ("byte-order mark", "\u{feff}a"),
];

/// Fails when `text` holds a deceptive character other than a line break.
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| c != '\n' && is_deceptive(c)) {
        panic!(
            "{what}: U+{:04X} reached the terminal in {text:?}",
            u32::from(c)
        );
    }
}

#[track_caller]
fn assert_output_clean(what: &str, out: &Output) {
    assert_clean(&format!("{what} (stdout)"), &stdout(out));
    assert_clean(&format!("{what} (stderr)"), &stderr(out));
}

/// The hostile text in a file name (a file name holds anything but `/` and NUL).
fn file_name(text: &str) -> String {
    format!("f-{text}-x")
}

#[test]
fn sign_and_verify_escape_file_names() {
    for (kind, text) in HOSTILE {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("m");
        std::fs::create_dir(&module).unwrap();
        std::fs::write(module.join("a.txt"), b"a").unwrap();
        std::fs::write(module.join(file_name(text)), b"x").unwrap();
        let out = run_in(dir.path(), &["sign", "--checksum-only", "m"]);
        assert_output_clean(&format!("sign, {kind}"), &out);

        // A module signed clean, then a hostile file added: verify names it.
        std::fs::remove_file(module.join(file_name(text))).unwrap();
        assert_exit(&run_in(dir.path(), &["sign", "--checksum-only", "m"]), 0);
        std::fs::write(module.join(file_name(text)), b"x").unwrap();
        let out = run_in(dir.path(), &["verify", "m", "--context", "local"]);
        assert_exit(&out, 1);
        assert_output_clean(&format!("verify, {kind}"), &out);
        let out = run_in(dir.path(), &["verify", "m", "--context", "local", "--json"]);
        assert_output_clean(&format!("verify --json, {kind}"), &out);
        let _: Value = serde_json::from_str(&stdout(&out)).unwrap();
    }
}

#[test]
fn the_reported_terminal_title_attack_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("m");
    std::fs::create_dir(&module).unwrap();
    std::fs::write(module.join("\u{1b}]0;PWNED\u{7}"), b"x").unwrap();
    std::fs::write(module.join("\u{1b}[31m"), b"x").unwrap();
    let out = run_in(dir.path(), &["sign", "--checksum-only", "m"]);
    assert_exit(&out, 2);
    assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
    assert!(stderr(&out).contains("\\u{1b}"), "{:?}", stderr(&out));
}

#[test]
fn oidc_verify_escapes_claims_in_both_outputs() {
    let dir = tempfile::tempdir().unwrap();
    crate::oidc::keygen(dir.path(), "ES256");
    let server = crate::oidc::serve(dir.path());
    for (kind, text) in HOSTILE {
        let claim = format!("note={text}");
        let token = crate::oidc::issue(dir.path(), &server.url, &["--claim", &claim]);
        let out = crate::oidc::verify(dir.path(), &server.url, &token, &["--json"]);
        assert_exit(&out, 0);
        assert_output_clean(&format!("oidc verify --json, {kind}"), &out);
        let claims: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            claims["note"], *text,
            "{kind}: the JSON still means the same"
        );
        let out = crate::oidc::verify(dir.path(), &server.url, &token, &[]);
        assert_exit(&out, 0);
        assert_output_clean(&format!("oidc verify, {kind}"), &out);
    }
}

/// `releases --json` and `release show 1 --json` of a real gate with one
/// staged release, as templates for what a hostile gate answers.
fn real_answers() -> (Value, Value) {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    std::fs::write(gate.path().join("hello.txt"), b"hello\n").unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    assert_exit(&gate.stage(&token, "hello", "1.0.0", &["hello.txt"]), 0);
    let list = json(&gate.cli(&[], &["releases", "--gate", &gate.url, "--json"]));
    let view = json(&gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    ));
    (list, view)
}

fn run_against(dir: &Path, url: &str, args: &[&str]) -> Output {
    shipgate()
        .current_dir(dir)
        .env("SHIPGATE_CONFIG_DIR", dir.join("config"))
        .env("SHIPGATE_MAINTAINER_TOKEN", "sgm_x_y")
        .args(args)
        .args(["--gate", url])
        .output()
        .unwrap()
}

#[test]
fn what_a_hostile_gate_sends_is_escaped_by_every_command() {
    let (list, view) = real_answers();
    for (kind, text) in HOSTILE {
        let mut list = list.clone();
        list["releases"][0]["package"] = Value::from(*text);
        list["releases"][0]["version"] = Value::from(*text);
        let mut view = view.clone();
        view["package"] = Value::from(*text);
        view["version"] = Value::from(*text);
        view["files"][0]["path"] = Value::from(*text);
        view["provenance"]["repository"] = Value::from(*text);
        let (list, view) = (list.to_string(), view.to_string());
        let text = text.to_string();
        let gate = FakeGate::start(move |request, _| match request {
            "GET /v1/releases" => Reply::Json(200, list.clone()),
            "GET /v1/releases/1" => Reply::Json(200, view.clone()),
            _ => refusal(404, &text, &text),
        });
        let dir = tempfile::tempdir().unwrap();
        for args in [
            &["releases"][..],
            &["releases", "--json"],
            &["release", "show", "1"],
            &["release", "show", "1", "--json"],
            &["log", "show"],
            &["log", "verify"],
            &["fetch", "hello", "1.0.0", "--out", "out"],
            &["approve", "1", "--code", "12345678"],
        ] {
            let out = run_against(dir.path(), &gate.url, args);
            assert_output_clean(&format!("{args:?}, {kind}"), &out);
        }
    }
}

/// `shipgate ... | true`: the reader is gone before the command prints.
fn with_closed_stdout(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = shipgate();
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    crate::oidc::keygen(dir.path(), "ES256");
    let server = crate::oidc::serve(dir.path());
    let token = crate::oidc::issue(dir.path(), &server.url, &[]);
    std::fs::create_dir(dir.path().join("m")).unwrap();
    std::fs::write(dir.path().join("m/a.txt"), b"a").unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    for (env, args) in [
        (
            vec![
                ("SHIPGATE_OIDC_TOKEN", token.as_str()),
                ("SHIPGATE_CACHE_DIR", cache),
            ],
            vec![
                "oidc",
                "verify",
                "--issuer",
                &server.url,
                "--audience",
                "deploy",
                "--json",
            ],
        ),
        (
            vec![
                ("SHIPGATE_OIDC_TOKEN", token.as_str()),
                ("SHIPGATE_CACHE_DIR", cache),
            ],
            vec![
                "oidc",
                "verify",
                "--issuer",
                &server.url,
                "--audience",
                "deploy",
            ],
        ),
        (
            vec![],
            vec![
                "oidc",
                "issue",
                "--keys",
                "keys",
                "--issuer",
                &server.url,
                "--audience",
                "a",
                "--subject",
                "s",
            ],
        ),
        (vec![], vec!["sign", "--checksum-only", "m"]),
        (vec![], vec!["verify", "m", "--context", "local"]),
        (vec![], vec!["audit", "--list-rules"]),
        (vec![], vec!["policy", "explain", "--context", "local"]),
    ] {
        let out = with_closed_stdout(dir.path(), &env, &args);
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}: {}", stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
}
