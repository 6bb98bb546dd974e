//! `--json` everywhere a script reads a result, a JSON error object on
//! stdout when a `--json` command fails, and messages that say what is
//! wrong without internal details (temporary file names).

use crate::util::{assert_exit, run_in, stderr, stdout};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

#[test]
fn keygen_and_oidc_issue_and_publish_speak_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run_in(d, &["keygen", "-s", "a.key", "-p", "a.pub", "--json"]);
    assert_exit(&out, 0);
    let keys = json(&stdout(&out));
    assert_eq!(keys["secret_key"], "a.key");
    assert_eq!(keys["encrypted"], false);
    assert_eq!(keys["key_id"].as_str().unwrap().len(), 16);

    assert_exit(&run_in(d, &["oidc", "keygen", "--dir", "keys"]), 0);
    let out = run_in(
        d,
        &[
            "oidc",
            "issue",
            "--keys",
            "keys",
            "--issuer",
            "https://ci.example.com",
            "--audience",
            "deploy",
            "--subject",
            "job",
            "--json",
        ],
    );
    assert_exit(&out, 0);
    let issued = json(&stdout(&out));
    assert_eq!(issued["token"].as_str().unwrap().split('.').count(), 3);
    assert!(issued["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(issued["expires_at"].as_u64().is_some());

    let out = run_in(
        d,
        &[
            "oidc",
            "publish",
            "--keys",
            "keys",
            "--issuer",
            "https://ci.example.com",
            "--out",
            "site",
            "--json",
        ],
    );
    assert_exit(&out, 0);
    let written = json(&stdout(&out));
    assert_eq!(written["written"].as_array().unwrap().len(), 2);
}

#[test]
fn a_failing_json_command_prints_a_json_error_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["releases", "--gate", "http://127.0.0.1:1", "--json"],
    );
    assert_exit(&out, 2);
    let error = json(&stdout(&out));
    assert_eq!(error["error"]["exit_code"], 2);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach the gate"),
        "{error}"
    );
    assert!(!error["error"]["hints"].as_array().unwrap().is_empty());
    // The text still goes to stderr, and without --json stdout stays empty.
    assert!(stderr(&out).contains("error: cannot reach the gate"));
    let out = run_in(dir.path(), &["releases", "--gate", "http://127.0.0.1:1"]);
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "");
}

#[test]
fn messages_name_the_problem_not_internals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A missing directory: named, no temporary file name leaks.
    let out = run_in(d, &["keygen", "-s", "nodir/a.key", "-p", "nodir/a.pub"]);
    assert_exit(&out, 2);
    let text = stderr(&out);
    assert!(text.contains("does not exist"), "{text}");
    assert!(!text.contains(".tmp"), "{text}");
    // An empty token file is named as such.
    std::fs::write(d.join("empty.jwt"), "").unwrap();
    let out = run_in(
        d,
        &[
            "oidc",
            "verify",
            "--issuer",
            "https://ci.example.com",
            "--audience",
            "x",
            "--token-file",
            "empty.jwt",
        ],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("empty.jwt: the file is empty"),
        "{}",
        stderr(&out)
    );
    // localhost is not a literal loopback address: the hint says what to write.
    let out = run_in(d, &["releases", "--gate", "http://localhost:8080"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("http://127.0.0.1:PORT"),
        "{}",
        stderr(&out)
    );
}
