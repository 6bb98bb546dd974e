//! `shipgate stage --wait`: staging, a visible wait for the maintainers'
//! decision, and the execution token on stdout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::{SHA, Setup, body_json};
use crate::util::{assert_exit, shipgate, stderr, stdout};

/// A `shipgate stage --wait` running in the background.
struct Waiting {
    child: Child,
    lines: Receiver<String>,
    stderr: Vec<String>,
}

impl Waiting {
    fn spawn(mut cmd: Command) -> Waiting {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = child.stderr.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Waiting {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits (up to a minute) for a stderr line containing `needle`.
    fn expect_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.stderr.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(_) => panic!("no stderr line with {needle:?}; got {:?}", self.stderr),
            }
        }
    }

    /// Waits for the exit: (exit code, stdout, whole stderr).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut out).unwrap();
        // The reader thread ends with the pipe.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.stderr.push(line);
        }
        (status.code(), out, self.stderr.join("\n"))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `shipgate stage --wait ... ARGS` in the gate's directory, minting its CI
/// tokens with `--token-command` (the acme/hello release run).
fn stage_wait(setup: &Setup, version: &str, extra: &[&str]) -> Waiting {
    let file = format!("hello-{version}.tar.gz");
    std::fs::write(setup.gate.path().join(&file), format!("hello {version}\n")).unwrap();
    let mut cmd = shipgate();
    cmd.current_dir(setup.gate.path())
        .env_remove("SHIPGATE_OIDC_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .args([
            "stage",
            "--wait",
            "--gate",
            &setup.gate.url,
            "--package",
            "hello",
            "--version",
            version,
            "--token-command",
            &setup.mint_command(version, &[]),
        ])
        .args(extra)
        .arg(&file);
    Waiting::spawn(cmd)
}

#[test]
fn the_token_is_printed_once_a_maintainer_approves_during_the_wait() {
    let setup = Setup::start("");
    let mut waiting = stage_wait(&setup, "1.0.0", &["--timeout", "2m"]);
    waiting.expect_line("staged release 1: hello 1.0.0");
    // A visible countdown (one line every 30 s when stderr is not a terminal).
    let line = waiting.expect_line("waiting for maintainers");
    assert!(
        line.contains("release 1 (hello 1.0.0)") && line.contains("left"),
        "{line}"
    );
    assert!(
        line.contains("0 of 1 approval(s)") || line.contains(", 1:"),
        "{line}"
    );
    // The approval arrives while it waits.
    setup.decide(&setup.alice, 1, 0, None);
    let (code, out, err) = waiting.finish();
    assert_eq!(code, Some(0), "stdout {out}\nstderr {err}");
    assert!(
        err.contains("release 1 (hello 1.0.0) released (approved by alice)"),
        "{err}"
    );
    // Only the token on stdout: TOKEN=$(shipgate stage --wait ...) works.
    assert_eq!(out.lines().count(), 1, "{out}");
    let token = out.trim();
    assert_eq!(token.split('.').count(), 3, "{out}");

    // The deploy step checks it against what it fetched and its commit.
    let digest = setup.fetch_manifest_digest("hello", "1.0.0", "fetched");
    assert!(err.contains(&digest), "{err}");
    let out = setup.verify(
        token,
        "deploy:hello",
        &[
            "--expect",
            &format!("digest={digest}"),
            "--expect",
            &format!("commit_sha={SHA}"),
        ],
    );
    assert_exit(&out, 0);

    // --json: one object with the outcome and the whole answer.
    let mut waiting = stage_wait(&setup, "1.1.0", &["--timeout", "2m", "--json"]);
    waiting.expect_line("staged release 2");
    setup.decide(&setup.bob, 2, 0, None);
    let (code, out, err) = waiting.finish();
    assert_eq!(code, Some(0), "{err}");
    let answer = body_json(&out);
    assert_eq!(answer["outcome"], "released");
    assert_eq!(answer["approved_by"], serde_json::json!(["bob"]));
    assert_eq!(answer["staged"]["version"], "1.1.0");
    let token = answer["execution_token"]["token"].as_str().unwrap();
    let out = setup.verify(token, "deploy:hello", &["--expect", "version=1.1.0"]);
    assert_exit(&out, 0);
}

#[test]
fn a_rejection_or_a_timeout_ends_the_wait_with_exit_1() {
    let setup = Setup::start("");
    let mut waiting = stage_wait(&setup, "1.0.0", &["--timeout", "2m"]);
    waiting.expect_line("staged release 1");
    setup.decide(&setup.alice, 1, 0, Some("the changelog is wrong"));
    let (code, out, err) = waiting.finish();
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "", "nothing on stdout");
    assert!(
        err.contains("error: release 1 (hello 1.0.0) was rejected: the changelog is wrong"),
        "{err}"
    );

    let started = Instant::now();
    let waiting = stage_wait(&setup, "1.1.0", &["--timeout", "2s", "--json"]);
    let (code, out, err) = waiting.finish();
    assert_eq!(code, Some(1), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        err.contains("error: no decision on release 2 (hello 1.1.0) within 0:02"),
        "{err}"
    );
    assert!(err.contains("0 of 1 approval(s)"), "{err}");
    let answer = body_json(&out);
    assert_eq!(answer["outcome"], "timed_out");
    assert_eq!(answer["id"], 2);
    // It stays staged; no token was issued.
    let (status, body) = setup.gate.get("/v1/releases/2");
    assert_eq!(status, 200);
    assert_eq!(body_json(&body)["state"], "staged");
}

#[test]
fn a_wait_that_could_not_end_in_a_token_does_not_start() {
    let setup = Setup::start("");
    std::fs::write(setup.gate.path().join("a.txt"), b"a").unwrap();
    let token = setup.hello_token("1.0.0", &[]);
    let base = [
        "stage",
        "--gate",
        &setup.gate.url,
        "--package",
        "hello",
        "--version",
        "1.0.0",
    ];
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.push("a.txt");
        setup.cli(env, &args)
    };
    // A given token cannot be refreshed after the approval.
    let out = run(&[("SHIPGATE_OIDC_TOKEN", &token)], &["--wait"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--wait needs a fresh CI token"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--token-command"), "{}", stderr(&out));
    for timeout in ["0s", "7h", "soon", ""] {
        let out = run(
            &[("SHIPGATE_OIDC_TOKEN", &token)],
            &["--wait", "--timeout", timeout],
        );
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
    }
    // --timeout means nothing without --wait.
    let out = run(&[("SHIPGATE_OIDC_TOKEN", &token)], &["--timeout", "1m"]);
    assert_exit(&out, 2);
    // A token command that fails, or prints something else than one token.
    for (command, needle) in [
        ("echo no >&2; exit 3", "--token-command exited with 3"),
        ("echo two words", "exactly one token"),
        ("true", "exactly one token"),
    ] {
        let out = run(&[], &["--wait", "--token-command", command]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(needle), "{command}: {}", stderr(&out));
    }
    // Nothing was staged by any of these.
    let (_, body) = setup.gate.get("/v1/releases");
    assert_eq!(body_json(&body)["releases"], serde_json::json!([]));
    // Without --wait, a given token is all staging needs.
    let out = run(&[("SHIPGATE_OIDC_TOKEN", &token)], &[]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("staged release 1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn serve_dev_stands_in_for_the_github_token_endpoint_and_its_printed_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, banner) = crate::gate_flow::start_dev(dir.path());
    let find = |needle: &str| {
        banner
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no line starting with {needle:?} in {banner:?}"))
            .to_owned()
    };
    let request_url = find("export ACTIONS_ID_TOKEN_REQUEST_URL=")
        .split_once('=')
        .unwrap()
        .1
        .trim_matches('\'')
        .to_owned();
    let request_token = find("export ACTIONS_ID_TOKEN_REQUEST_TOKEN=")
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let maintainer = find("maintainer token")
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let secret = find("TOTP secret")
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let url = banner[0].strip_prefix("listening on ").unwrap().to_owned();

    // The endpoint answers like GitHub's, only with the request token.
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let path = request_url.strip_prefix(&url).unwrap();
    let get = |path: &str, bearer: Option<&str>| {
        let auth = bearer.map_or(String::new(), |b| format!("Authorization: Bearer {b}\r\n"));
        crate::gate_util::raw_http(
            port,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n").as_bytes(),
        )
    };
    let (status, body) = get(&format!("{path}&audience=x"), Some(&request_token));
    assert_eq!(status, 200, "{body}");
    assert!(
        body_json(&body)["value"]
            .as_str()
            .unwrap()
            .starts_with("eyJ")
    );
    for (query, bearer, want) in [
        ("&audience=x", None, 401),
        ("&audience=x", Some("wrong-request-token"), 401),
        ("", Some(request_token.as_str()), 400),
        ("&audience=x&admin=1", Some(request_token.as_str()), 400),
    ] {
        let (status, body) = get(&format!("{path}{query}"), bearer);
        assert_eq!(status, want, "{query} {bearer:?}: {body}");
    }

    // The printed `stage --wait`, with the printed environment.
    std::fs::write(dir.path().join("hello.txt"), b"hello again\n").unwrap();
    let stage_line = find("TOKEN=$(shipgate stage --wait");
    let args: Vec<&str> = stage_line
        .trim_start_matches("TOKEN=$(")
        .trim_end_matches(')')
        .split_whitespace()
        .skip(1)
        .collect();
    let mut cmd = shipgate();
    cmd.current_dir(dir.path())
        .env_remove("SHIPGATE_OIDC_TOKEN")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token)
        .args(&args);
    let mut waiting = Waiting::spawn(cmd);
    waiting.expect_line("staged release 1: hello 1.1.0");
    let out = shipgate()
        .current_dir(dir.path())
        .env("SHIPGATE_MAINTAINER_TOKEN", &maintainer)
        .args([
            "approve",
            "1",
            "--gate",
            &url,
            "--code",
            &crate::gate_util::totp(&secret, 0),
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let (code, token, err) = waiting.finish();
    assert_eq!(code, Some(0), "{err}");
    let token = token.trim().to_owned();

    // The printed deploy-step check, with that token.
    let verify_line = find("shipgate oidc verify");
    let args: Vec<String> = verify_line
        .split_whitespace()
        .skip(1)
        .map(|w| {
            if w == "\"$TOKEN\"" {
                token.clone()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let out = shipgate()
        .current_dir(dir.path())
        .env("SHIPGATE_CACHE_DIR", dir.path().join("cache"))
        .args(&args)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("sub=release:hello@1.1.0"),
        "{}",
        stdout(&out)
    );
    let _ = child.kill();
    let _ = child.wait();
}
