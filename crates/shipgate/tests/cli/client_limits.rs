//! What the client does against a gate (or whatever answers at `--gate`)
//! that misbehaves: an answer that never ends, a server that never answers,
//! and a gate that asks for CI tokens meant for another service.

use std::path::Path;
use std::process::Output;

use crate::fake_gate::{FakeGate, Reply, info, refusal};
use crate::util::{assert_exit, shipgate, stderr};

/// Runs `shipgate ARGS` in `dir` with a private config directory and no
/// CI token or audience from the test's own environment.
fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = shipgate();
    cmd.current_dir(dir)
        .env("SHIPGATE_CONFIG_DIR", dir.join("config"))
        .env_remove("SHIPGATE_OIDC_TOKEN")
        .env_remove("SHIPGATE_AUDIENCE")
        .env_remove("SHIPGATE_GATE")
        .env_remove("SHIPGATE_HTTP_TIMEOUT")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// Every command that reads from a gate, against `url`.
fn gate_commands(url: &str) -> Vec<Vec<String>> {
    [
        vec!["releases"],
        vec!["release", "show", "1"],
        vec!["log", "show"],
        vec!["log", "verify"],
        vec!["fetch", "hello", "1.0.0", "--out", "out"],
    ]
    .into_iter()
    .map(|args| {
        let mut args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        args.extend(["--gate".to_owned(), url.to_owned()]);
        args
    })
    .collect()
}

#[test]
fn an_endless_answer_is_cut_off_at_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let gate = FakeGate::start(|_, _| Reply::Endless);
    for args in gate_commands(&gate.url) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &[], &args);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("larger than"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_gate_that_never_answers_meets_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let gate = FakeGate::start(|_, _| Reply::Silent);
    for args in gate_commands(&gate.url) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &[("SHIPGATE_HTTP_TIMEOUT", "1s")], &args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("no complete answer"), "{args:?}: {err}");
        assert!(err.contains("SHIPGATE_HTTP_TIMEOUT"), "{args:?}: {err}");
    }
    let out = run(
        dir.path(),
        &[("SHIPGATE_HTTP_TIMEOUT", "soon")],
        &["releases", "--gate", &gate.url],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("SHIPGATE_HTTP_TIMEOUT"),
        "{}",
        stderr(&out)
    );
}

/// A GitHub Actions-like job: the token endpoint is `/token` of `gate`.
fn stage_in_actions(dir: &Path, gate: &FakeGate, extra: &[&str]) -> Output {
    std::fs::write(dir.join("hello.txt"), b"hello\n").unwrap();
    let request_url = format!("{}/token?run=1", gate.url);
    let mut args = vec![
        "stage",
        "--gate",
        &gate.url,
        "--package",
        "hello",
        "--version",
        "1.0.0",
        "hello.txt",
    ];
    args.extend_from_slice(extra);
    run(
        dir,
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token"),
        ],
        &args,
    )
}

fn token_requests(gate: &FakeGate) -> Vec<String> {
    gate.requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /token"))
        .collect()
}

/// A gate answering `/v1/info` with `audience`, tokens from `/token`, and
/// refusing every staging.
fn gate_announcing(audience: &'static str) -> FakeGate {
    FakeGate::start(move |request, url| {
        if request == "GET /v1/info" {
            let audience = if audience.is_empty() {
                format!("shipgate:{url}")
            } else {
                audience.to_owned()
            };
            info(url, &audience)
        } else if request.starts_with("GET /token") {
            Reply::Json(200, r#"{"value":"eyJhbGciOiJub25lIn0.e30.x"}"#.to_owned())
        } else {
            refusal(401, "unauthorized", "refused")
        }
    })
}

#[test]
fn no_ci_token_is_minted_for_an_audience_the_user_did_not_pin() {
    let dir = tempfile::tempdir().unwrap();
    // A hostile gate asks for a token meant for a cloud provider's STS.
    let gate = gate_announcing("sts.amazonaws.com");
    let out = stage_in_actions(dir.path(), &gate, &[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("sts.amazonaws.com"), "{err}");
    assert!(err.contains("--audience"), "{err}");
    assert_eq!(token_requests(&gate), Vec::<String>::new());

    // Pinned on purpose: minted for exactly that audience.
    let out = stage_in_actions(dir.path(), &gate, &["--audience", "sts.amazonaws.com"]);
    assert_exit(&out, 1);
    assert_eq!(
        token_requests(&gate),
        ["GET /token?run=1&audience=sts.amazonaws.com"]
    );

    // The convention: `shipgate:` + the gate URL, without any flag.
    let gate = gate_announcing("");
    let out = stage_in_actions(dir.path(), &gate, &[]);
    assert_exit(&out, 1);
    let wanted = format!(
        "GET /token?run=1&audience=shipgate%3Ahttp%3A%2F%2F{}",
        gate.url.trim_start_matches("http://").replace(':', "%3A")
    );
    assert_eq!(token_requests(&gate), [wanted]);
}

#[test]
fn an_endless_token_endpoint_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let gate = FakeGate::start(|request, url| {
        if request == "GET /v1/info" {
            info(url, &format!("shipgate:{url}"))
        } else {
            Reply::Endless
        }
    });
    let out = stage_in_actions(dir.path(), &gate, &[]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
}
