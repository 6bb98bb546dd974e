//! Text that could fool a reviewer: file names that display as something
//! else, provenance claims and reasons carrying terminal control sequences.
//! The gate refuses them where they come in; the CLI escapes whatever a gate
//! sends anyway (checked against a fake gate that answers hostile JSON).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use crate::gate_util::{
    CiIssuer, Gate, bound_config, cli_in, enroll, error_code, json, multipart, sha256_hex, totp,
};
use crate::util::{assert_exit, stderr, stdout};

/// Names a reviewer would misread; each must be refused naming the character.
const DECEPTIVE_NAMES: [(&str, &str); 8] = [
    ("x.txt\u{202E}gpj.exe", "U+202E"),
    ("a.txt\u{200B}", "U+200B"),
    ("caf\u{E9}", "U+00E9"),
    ("cafe\u{301}", "U+0301"),
    ("..\u{2215}etc\u{2215}passwd", "U+2215"),
    ("line\u{2028}break", "U+2028"),
    ("\u{115F}", "U+115F"),
    ("bom\u{FEFF}", "U+FEFF"),
];

#[test]
fn gate_refuses_deceptive_file_names_naming_the_character() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let data = b"payload";
    for (name, code_point) in DECEPTIVE_NAMES {
        let announce = serde_json::json!({"files": [
            {"name": name, "size": data.len(), "sha256": sha256_hex(data)}
        ]})
        .to_string();
        let (ct, body) = multipart(&announce, &[("file.0", data)]);
        let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
        let (status, text) = gate.request(
            "POST",
            "/v1/packages/hello/versions/1.0.0",
            Some(&token),
            Some(&ct),
            &body,
        );
        assert_eq!(status, 400, "{name:?}: {text}");
        assert_eq!(error_code(&text), "bad_request");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(code_point), "{name:?}: {message}");
        assert!(message.contains("file name"), "{message}");
    }
    // The CLI refuses such a file before it sends anything (or spends the token).
    let (name, code_point) = DECEPTIVE_NAMES[0];
    std::fs::write(gate.path().join(name), data).unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let out = gate.stage(&token, "hello", "1.0.0", &[name]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains(code_point), "{}", stderr(&out));
    assert!(!stderr(&out).contains('\u{202E}'), "{:?}", stderr(&out));
    // Nothing was staged, and an ordinary artifact name still is (with the
    // token the CLI did not spend).
    let out = gate.cli(&[], &["releases", "--gate", &gate.url, "--json"]);
    assert_eq!(json(&out)["releases"], serde_json::json!([]));
    let file = "shipgate-1.2.3-x86_64-unknown-linux-gnu.tar.gz";
    std::fs::write(gate.path().join(file), data).unwrap();
    assert_exit(&gate.stage(&token, "hello", "1.0.0", &[file]), 0);
}

#[test]
fn gate_refuses_ci_tokens_whose_provenance_could_drive_a_terminal() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    std::fs::write(gate.path().join("a.bin"), b"a").unwrap();
    // `hello` pins the environment, so a hostile one there would already
    // fail the binding; `other` pins none, so these reach the provenance check.
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        (
            "hello",
            "acme/hello",
            "42",
            &["sha=0000000\n  repository  acme/trusted (owner id 1)\x1b[1A\x1b[2K"],
        ),
        (
            "other",
            "acme/other",
            "43",
            &["environment=prod\x1b]0;pwned\x07"],
        ),
        ("other", "acme/other", "43", &["environment=prod\u{202E}"]),
        ("other", "acme/other", "43", &["sha=4e9b7dbc"]),
        ("other", "acme/other", "43", &["run_id=12\n3"]),
    ];
    for (package, repository, owner, extra) in cases {
        let token = ci.github_token("shipgate-test", repository, owner, "1.0.0", extra);
        let out = gate.stage(&token, package, "1.0.0", &["a.bin"]);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("credentials were refused"),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    // The precise reason is in the server log, escaped.
    let log = gate.log();
    assert!(log.contains("provenance of hello: claim `sha`"), "{log}");
    assert!(
        log.contains("provenance of other: claim `environment`"),
        "{log}"
    );
    assert!(log.contains("provenance of other: claim `run_id`"), "{log}");
    assert!(!log.contains('\x1b') && !log.contains('\u{202E}'), "{log}");
    let out = gate.cli(&[], &["releases", "--gate", &gate.url, "--json"]);
    assert_eq!(json(&out)["releases"], serde_json::json!([]));
    // A clean token for the same package still stages.
    let token = ci.github_token("shipgate-test", "acme/other", "43", "1.0.0", &[]);
    assert_exit(&gate.stage(&token, "other", "1.0.0", &["a.bin"]), 0);
}

#[test]
fn reject_reasons_refuse_terminal_tricks_and_line_breaks_are_shown_escaped() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let (carol, secret) = enroll(&gate, "carol", "other");
    std::fs::write(gate.path().join("a.bin"), b"a").unwrap();
    let token = ci.github_token("shipgate-test", "acme/other", "43", "1.0.0", &[]);
    assert_exit(&gate.stage(&token, "other", "1.0.0", &["a.bin"]), 0);
    let env = [("SHIPGATE_MAINTAINER_TOKEN", carol.as_str())];
    let reject = |reason: &str| {
        let code = totp(&secret, 0);
        gate.cli(
            &env,
            &[
                "reject", "1", "--gate", &gate.url, "--reason", reason, "--code", &code,
            ],
        )
    };
    for (reason, code_point) in [("red \x1b[31mOK", "U+001B"), ("x\u{202E}y", "U+202E")] {
        let out = reject(reason);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(code_point), "{}", stderr(&out));
    }
    // A line break is allowed in a reason, but printed as `\n`.
    assert_exit(&reject("unreviewed commit\napproved: yes"), 0);
    let out = gate.cli(&[], &["release", "show", "1", "--gate", &gate.url]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("reason      unreviewed commit\\napproved: yes\n"),
        "{}",
        stdout(&out)
    );
    let out = gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    );
    assert_eq!(
        json(&out)["reject_reason"],
        "unreviewed commit\napproved: yes"
    );
}

/// A stand-in gate that answers each request by path with canned JSON, so
/// the CLI can be shown what a hostile or older gate might send.
struct FakeGate {
    url: String,
}

impl FakeGate {
    fn start(answers: Vec<(&'static str, u16, String)>) -> FakeGate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                    if line.trim().is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let (status, answer) = answers
                    .iter()
                    .find(|(head, _, _)| request_line.starts_with(head))
                    .map_or((404, "{}".to_owned()), |(_, s, a)| (*s, a.clone()));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        FakeGate { url }
    }
}

#[test]
fn cli_escapes_control_and_format_characters_a_gate_sends() {
    let esc = "\x1b[1A\x1b[2K";
    let summary = serde_json::json!({
        "id": 1, "package": format!("hello{esc}"), "version": "1.0.0\u{202E}",
        "state": "staged", "created_at": 0, "decided_at": null,
    });
    let mut view = summary.clone();
    let extra = serde_json::json!({
        "provenance": {
            "issuer": "https://ci.example", "subject": format!("repo:acme/hello{esc}"),
            "repository": "acme/hello\n  repository  acme/trusted",
            "repository_owner_id": "42\u{200B}",
            "workflow": "acme/hello/.github/workflows/release.yml@refs/tags/v1",
            "ref": "refs/tags/v1\x1b]0;pwned\x07",
            "commit_sha": format!("0000000\n  commit      {esc}"),
            "run_id": "1\r", "environment": "prod\x1b]0;pwned\x07", "event_name": "push\u{FEFF}",
        },
        "files": [{"path": "x.txt\u{202E}gpj.exe", "size": 1, "sha256": "a".repeat(64)}],
        "approvals": [{"maintainer": format!("alice{esc}"), "approved_at": 0}],
        "quorum": 2,
        "reject_reason": "\x1b[31mfine\x1b[0m",
        "diff": {"previous_version": "0.9\u{2028}", "added": [{"path": "b\u{200B}", "size": 1, "sha256": "b".repeat(64)}],
                 "removed": [], "changed": [], "unchanged": 0},
    });
    for (key, value) in extra.as_object().unwrap() {
        view[key] = value.clone();
    }
    let list = serde_json::json!({"releases": [summary]});
    let refusal =
        serde_json::json!({"error": {"code": "conflict\x1b[2J", "message": format!("no{esc}")}});
    let fake = FakeGate::start(vec![
        ("GET /v1/releases/1 ", 200, view.to_string()),
        ("GET /v1/releases ", 200, list.to_string()),
        ("POST /v1/releases/1/approve ", 409, refusal.to_string()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let hostile = [
        '\x1b', '\u{7}', '\r', '\u{202E}', '\u{200B}', '\u{2028}', '\u{FEFF}',
    ];
    let clean =
        |text: &str| !text.contains(hostile) && !text.contains("\n  repository  acme/trusted");

    let show = cli_in(
        dir.path(),
        &[],
        &["release", "show", "1", "--gate", &fake.url],
    );
    assert_exit(&show, 0);
    let text = stdout(&show);
    assert!(clean(&text), "{text:?}");
    for escaped in [
        "hello\\u{1b}[1A\\u{1b}[2K 1.0.0\\u{202e}",
        "acme/hello\\n  repository  acme/trusted (owner id 42\\u{200b})",
        "commit      0000000\\n  commit      \\u{1b}[1A",
        "environment prod\\u{1b}]0;pwned\\u{7}",
        "x.txt\\u{202e}gpj.exe",
        "reason      \\u{1b}[31mfine\\u{1b}[0m",
        "changes since 0.9\\u{2028}",
        "+ b\\u{200b}",
        "alice\\u{1b}[1A",
        "run         1\\r",
    ] {
        assert!(text.contains(escaped), "{escaped:?} in {text}");
    }

    let list = cli_in(dir.path(), &[], &["releases", "--gate", &fake.url]);
    assert_exit(&list, 0);
    assert!(clean(&stdout(&list)), "{:?}", stdout(&list));
    assert!(
        stdout(&list).contains("hello\\u{1b}[1A"),
        "{}",
        stdout(&list)
    );

    // `approve` names what it decides on, then shows the gate's refusal.
    let approve = cli_in(
        dir.path(),
        &[("SHIPGATE_MAINTAINER_TOKEN", "sgm_alice_x")],
        &["approve", "1", "--gate", &fake.url, "--code", "12345678"],
    );
    assert_exit(&approve, 1);
    let err = stderr(&approve);
    assert!(clean(&err), "{err:?}");
    assert!(err.contains("commit 0000000\\n  commit"), "{err}");
    assert!(err.contains("no\\u{1b}[1A"), "{err}");

    // JSON output keeps the values exact (JSON escapes them itself).
    let out = cli_in(
        dir.path(),
        &[],
        &["release", "show", "1", "--gate", &fake.url, "--json"],
    );
    assert_eq!(
        json(&out)["provenance"]["environment"],
        "prod\x1b]0;pwned\x07"
    );
}
