//! Webhook drills with real processes: `shipgate serve` as the gate,
//! `shipgate oidc serve` as CI's issuer, the CLI for every decision, and
//! real HTTP receivers on loopback (the Python receiver of
//! docs/webhooks.md run as written, and a scriptable Rust one that can go
//! down, answer 500, redirect, send an endless body or hang).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::gate_util::{CiIssuer, Gate, enroll, hello_publisher, totp, write_gate_key};
use crate::util::{assert_exit, peer, stderr, stdout};
use crate::webhook_receiver::{Answer, Receiver, Request, hmac_sha256};

const KEY: &str = "webhook-test-key-0123456789abcdef";

/// A gate config: `hello` (alice, bob; quorum 2) bound to `ci`, with
/// `package_hooks` after the package and `gate_hooks` before it.
fn config(ci: &CiIssuer, delivery: &str, gate_hooks: &str, package_hooks: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = 1048576

[webhook_delivery]
{delivery}

{gate_hooks}

[[package]]
name = "hello"
maintainers = ["alice", "bob"]
quorum = 2

{publisher}
{package_hooks}"#,
        publisher = hello_publisher(&ci.url),
    )
}

/// A `[[webhook]]` or `[[package.webhook]]` table.
fn hook(table: &str, url: &str, events: &[&str], extra: &str) -> String {
    let events: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "[[{table}]]\nurl = \"{url}\"\nevents = [{}]\nsecret_file = \"hook.key\"\n{extra}\n",
        events.join(", ")
    )
}

/// A gate directory with `config`, a gate key and `hook.key` (0600).
fn gate_dir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gate.toml"), config).unwrap();
    write_gate_key(dir.path());
    write_key(dir.path(), 0o600);
    dir
}

fn write_key(dir: &Path, mode: u32) {
    let path = dir.join("hook.key");
    std::fs::write(&path, format!("{KEY}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Stages `hello VERSION` with a fresh CI token; returns the release id.
fn stage(gate: &Gate, ci: &CiIssuer, version: &str) -> String {
    let file = format!("hello-{version}.tar.gz");
    std::fs::write(gate.path().join(&file), version.as_bytes()).unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", version, &[]);
    let out = gate.stage(&token, "hello", version, &[&file]);
    assert_exit(&out, 0);
    stdout(&out)
        .split("staged release ")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("no release id in {}", stdout(&out)))
}

/// Approves release `id` as `token`/`secret`; returns the CLI's JSON answer.
fn approve(gate: &Gate, id: &str, token: &str, secret: &str) -> serde_json::Value {
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", token)],
        &[
            "approve",
            id,
            "--gate",
            &gate.url,
            "--code",
            &totp(secret, 0),
            "--json",
        ],
    );
    assert_exit(&out, 0);
    crate::gate_util::json(&out)
}

/// Stages 1.0.0 and has alice and bob approve it; returns the id.
fn release_one(gate: &Gate, ci: &CiIssuer) -> String {
    let (alice, alice_secret) = enroll(gate, "alice", "hello");
    let (bob, bob_secret) = enroll(gate, "bob", "hello");
    let id = stage(gate, ci, "1.0.0");
    approve(gate, &id, &alice, &alice_secret);
    let decision = approve(gate, &id, &bob, &bob_secret);
    assert_eq!(decision["state"], "released", "{decision}");
    id
}

/// Waits (at most two minutes) until the gate's log contains `needle`.
fn wait_for_log(gate: &Gate, needle: &str) {
    let start = Instant::now();
    while !gate.log().contains(needle) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no {needle:?} in the gate's log:\n{}",
            gate.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks the signature headers of `request` against [`KEY`] with an
/// independent HMAC, and that the headers agree with the body.
fn assert_signed(request: &Request) {
    let timestamp = request.header("x-shipgate-timestamp");
    assert!(
        !timestamp.is_empty() && timestamp.bytes().all(|b| b.is_ascii_digit()),
        "{timestamp}"
    );
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(&request.body);
    assert_eq!(
        request.header("x-shipgate-signature"),
        format!("sha256={}", hmac_sha256(KEY.as_bytes(), &message)),
        "signature of {request:?}"
    );
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.path, "/hook");
    let delivery = request.header("x-shipgate-delivery");
    assert!(
        delivery.len() == 32 && delivery.bytes().all(|b| b.is_ascii_hexdigit()),
        "{delivery}"
    );
}

/// The events of `requests` (the `X-Shipgate-Event` header), sorted.
fn events(requests: &[Request]) -> Vec<String> {
    let mut kinds: Vec<String> = requests
        .iter()
        .map(|r| r.header("x-shipgate-event").to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// The Python receiver of docs/webhooks.md, run as a real process.
struct DocReceiver {
    child: Child,
    port: u16,
    lines: std::sync::mpsc::Receiver<String>,
}

impl DocReceiver {
    fn start(dir: &Path) -> DocReceiver {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhooks.md"),
        )
        .unwrap();
        let script = doc
            .split("```python\n")
            .nth(1)
            .and_then(|rest| rest.split("\n```").next())
            .expect("a ```python block in docs/webhooks.md");
        let path = dir.join("receiver.py");
        std::fs::write(&path, script).unwrap();
        let mut child = Command::new(peer("python3"))
            .arg(&path)
            .arg("0")
            .env("WEBHOOK_SECRET_FILE", dir.join("hook.key"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the documented receiver did not start: {first:?}"))
            .parse()
            .unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        DocReceiver { child, port, lines }
    }

    /// The next `n` lines it prints (two minutes at most).
    fn next_lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.lines
                    .recv_timeout(Duration::from_secs(120))
                    .expect("a line from the documented receiver")
            })
            .collect()
    }

    /// POSTs `body` with the given timestamp and signature; the status.
    fn post(&self, timestamp: &str, signature: &str, body: &str) -> u16 {
        let request = format!(
            "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Shipgate-Event: staged\r\nX-Shipgate-Delivery: forged\r\nX-Shipgate-Timestamp: {timestamp}\r\nX-Shipgate-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        crate::gate_util::raw_http(self.port, request.as_bytes()).0
    }
}

impl Drop for DocReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn deliveries_are_signed_filtered_and_pass_the_documented_receiver() {
    let ci = CiIssuer::start();
    let scratch = tempfile::tempdir().unwrap();
    write_key(scratch.path(), 0o600);
    let python = DocReceiver::start(scratch.path());
    let package_hook = Receiver::start(vec![]);
    let slack = Receiver::start(vec![]);
    let gate_hooks = hook(
        "webhook",
        &format!("http://127.0.0.1:{}/hook", python.port),
        &["staged", "approved", "released"],
        "",
    ) + &hook("webhook", &slack.url(), &["approved"], "format = \"slack\"");
    let package_hooks = hook(
        "package.webhook",
        &package_hook.url(),
        &["staged", "released", "rejected"],
        "",
    );
    let gate = Gate::start_in(gate_dir(&config(
        &ci,
        "backoff_ms = 100",
        &gate_hooks,
        &package_hooks,
    )));
    let id = release_one(&gate, &ci);

    // The package's webhook: staged and released, not the approvals.
    let got = package_hook.wait_until("staged and released", |r| r.len() >= 2);
    assert_eq!(events(&got), ["released", "staged"]);
    for request in &got {
        assert_signed(request);
        let body = request.json();
        assert_eq!(body["id"], request.header("x-shipgate-delivery"));
        assert_eq!(body["event"], request.header("x-shipgate-event"));
        assert_eq!(body["package"], "hello");
        assert_eq!(body["version"], "1.0.0");
        assert_eq!(body["release_id"].to_string(), id);
        assert_eq!(body["url"], format!("http://127.0.0.1/releases/{id}"));
        let time = body["time"].as_str().unwrap();
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("shipgate: hello 1.0.0 "), "{text}");
        assert!(text.contains(&format!("|release {id}>")), "{text}");
    }
    let staged = got
        .iter()
        .find(|r| r.header("x-shipgate-event") == "staged")
        .unwrap();
    assert_eq!(
        staged.json()["actor"],
        "repo:acme/hello:environment:release"
    );
    assert_ne!(
        got[0].header("x-shipgate-delivery"),
        got[1].header("x-shipgate-delivery")
    );

    // The Slack-format webhook: only `text`, one per approval.
    let got = slack.wait_until("two approvals", |r| r.len() >= 2);
    assert_eq!(events(&got), ["approved", "approved"]);
    let mut texts: Vec<String> = got
        .iter()
        .map(|r| {
            assert_signed(r);
            let body = r.json();
            assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
            body["text"].as_str().unwrap().to_owned()
        })
        .collect();
    texts.sort();
    assert!(texts[0].contains("was approved by alice"), "{texts:?}");
    assert!(texts[1].contains("was approved by bob"), "{texts:?}");

    // The documented Python receiver verified and printed all four.
    let mut lines = python.next_lines(4);
    lines.sort();
    let summary: Vec<String> = lines
        .iter()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        summary,
        [
            "approved hello 1.0.0",
            "approved hello 1.0.0",
            "released hello 1.0.0",
            "staged hello 1.0.0"
        ],
        "{lines:?}"
    );
    // ... and refuses a forged signature and a replayed (old) delivery.
    let body = r#"{"event":"staged","package":"hello","version":"6.6.6"}"#;
    let now = unix_now().to_string();
    assert_eq!(python.post(&now, "sha256=00", body), 401);
    let old = (unix_now() - 3600).to_string();
    let old_signature = format!(
        "sha256={}",
        hmac_sha256(KEY.as_bytes(), format!("{old}.{body}").as_bytes())
    );
    assert_eq!(python.post(&old, &old_signature, body), 401);
    let good = format!(
        "sha256={}",
        hmac_sha256(KEY.as_bytes(), format!("{now}.{body}").as_bytes())
    );
    assert_eq!(python.post(&now, &good, body), 204, "the control request");
    assert_eq!(python.next_lines(1)[0], "staged hello 6.6.6 forged");
}

#[test]
fn the_documented_openssl_command_computes_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    write_key(dir.path(), 0o600);
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhooks.md"),
    )
    .unwrap();
    let command = doc
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a ```sh block in docs/webhooks.md")
        .replace("webhooks/hello-bot.key", "hook.key");
    let body = r#"{"id":"x","event":"staged"}"#;
    std::fs::write(dir.path().join("body.json"), body).unwrap();
    let out = Command::new(peer("bash"))
        .args(["-euo", "pipefail", "-c", &command])
        .env("TS", "1780000000")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        hmac_sha256(KEY.as_bytes(), format!("1780000000.{body}").as_bytes())
    );
}

#[test]
fn a_receiver_down_then_up_gets_each_event_once_across_a_gate_crash() {
    let ci = CiIssuer::start();
    let port = crate::publish_util::unused_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let hooks = hook(
        "package.webhook",
        &url,
        &["staged", "approved", "released"],
        "",
    );
    let gate = Gate::start_in(gate_dir(&config(
        &ci,
        "timeout_seconds = 2\nbackoff_ms = 100\nmax_backoff_ms = 400",
        "",
        &hooks,
    )));
    // Every decision goes through while nobody listens.
    release_one(&gate, &ci);
    wait_for_log(&gate, "webhook delivery failed; will retry");
    assert!(!gate.log().contains("webhook delivered"), "{}", gate.log());

    // The gate dies; the receiver comes up; the gate restarts and delivers
    // what was waiting in its database.
    let dir = gate.kill();
    let receiver = Receiver::start_on(port, vec![]);
    let gate = Gate::start_in(dir);
    let ids = |requests: &[Request]| -> BTreeSet<String> {
        requests
            .iter()
            .map(|r| r.header("x-shipgate-delivery").to_owned())
            .collect()
    };
    let got = receiver.wait_until("four deliveries", |r| ids(r).len() >= 4);
    // One delivery id per event; a repeat would carry the same id and body.
    let mut by_id: BTreeMap<String, Vec<&Request>> = BTreeMap::new();
    for request in &got {
        assert_signed(request);
        by_id
            .entry(request.header("x-shipgate-delivery").to_owned())
            .or_default()
            .push(request);
    }
    assert_eq!(by_id.len(), 4, "{got:#?}");
    let mut kinds: Vec<String> = Vec::new();
    for copies in by_id.values() {
        assert!(copies.iter().all(|r| r.body == copies[0].body));
        kinds.push(copies[0].header("x-shipgate-event").to_owned());
    }
    kinds.sort();
    assert_eq!(kinds, ["approved", "approved", "released", "staged"]);
    wait_for_log(&gate, "webhook delivered");
}

#[test]
fn hostile_receivers_are_retried_without_being_believed() {
    let ci = CiIssuer::start();
    // Hang past the (2 s) timeout, a 500 with an endless body, a redirect, then
    // a 200 with an endless body: delivered on the fourth attempt.
    let receiver = Receiver::start(vec![
        Answer::Hang,
        Answer::Endless(500),
        Answer::Redirect("/elsewhere".into()),
        Answer::Endless(200),
    ]);
    let hooks = hook("package.webhook", &receiver.url(), &["staged"], "");
    let gate = Gate::start_in(gate_dir(&config(
        &ci,
        "timeout_seconds = 2\nbackoff_ms = 50\nmax_backoff_ms = 100",
        "",
        &hooks,
    )));
    stage(&gate, &ci, "1.0.0");
    wait_for_log(&gate, "webhook delivered");
    let got = receiver.requests();
    assert_eq!(got.len(), 4, "{got:#?}");
    for request in &got {
        assert_signed(request);
        assert_eq!(request.body, got[0].body, "the same body each time");
        assert_eq!(
            request.header("x-shipgate-delivery"),
            got[0].header("x-shipgate-delivery")
        );
    }
    assert!(
        got.iter().all(|r| r.path == "/hook"),
        "a redirect was followed: {got:#?}"
    );
    // The endless bodies were cut off: the gate read at most a few
    // hundred bytes, so the writer stopped once the socket buffers filled.
    assert!(
        receiver.endless_written() < 64 << 20,
        "{} bytes written",
        receiver.endless_written()
    );
    let log = gate.log();
    for needle in [
        "no answer within 2 s",
        "receiver answered 500 Internal Server Error: xxxx",
        "redirects are not followed",
        "attempt=4",
    ] {
        assert!(log.contains(needle), "{needle:?} not in {log}");
    }
    assert!(
        !log.contains("/hook"),
        "the log names webhooks by origin only"
    );
}

#[test]
fn a_hanging_receiver_blocks_neither_decisions_nor_other_deliveries() {
    let ci = CiIssuer::start();
    // The first delivery (staged) hangs for the whole test: the timeout is
    // five minutes. Everything after it is answered at once.
    let receiver = Receiver::start(vec![Answer::Hang]);
    let hooks = hook(
        "package.webhook",
        &receiver.url(),
        &["staged", "approved", "released"],
        "",
    );
    let gate = Gate::start_in(gate_dir(&config(&ci, "timeout_seconds = 300", "", &hooks)));
    let (alice, alice_secret) = enroll(&gate, "alice", "hello");
    let (bob, bob_secret) = enroll(&gate, "bob", "hello");
    let id = stage(&gate, &ci, "1.0.0");
    receiver.wait_until("the staged delivery", |r| !r.is_empty());
    assert_eq!(receiver.hangs_started(), 1);
    approve(&gate, &id, &alice, &alice_secret);
    let decision = approve(&gate, &id, &bob, &bob_secret);
    assert_eq!(decision["state"], "released");
    let got = receiver.wait_until("the approvals and the release", |r| r.len() >= 4);
    assert_eq!(events(&got), ["approved", "approved", "released", "staged"]);
    assert_eq!(
        receiver.hangs_ended(),
        0,
        "the staged delivery is still hanging"
    );
}

#[test]
fn webhook_mistakes_stop_the_gate_with_the_field_named() {
    let ci = CiIssuer::start();
    let run = |config: &str, key_mode: u32| {
        let dir = gate_dir(config);
        write_key(dir.path(), key_mode);
        let out = crate::util::run_in(dir.path(), &["serve", "--config", "gate.toml"]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let good = hook(
        "package.webhook",
        "https://hooks.example.org/T/B/x",
        &["staged"],
        "",
    );
    let err = run(&config(&ci, "", "", &good), 0o644);
    assert!(err.contains("hook.key"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert!(err.contains("https://hooks.example.org"), "{err}");
    assert!(!err.contains("/T/B/x"), "the URL's path stays out: {err}");
    for (hooks, gate_hooks, needle) in [
        (
            hook(
                "package.webhook",
                "http://hooks.example.org/x",
                &["staged"],
                "",
            ),
            String::new(),
            "package[0].webhook[0].url: must be https",
        ),
        (
            hook("package.webhook", "https://h.example/x", &[], ""),
            String::new(),
            "package[0].webhook[0].events: is empty",
        ),
        (
            hook("package.webhook", "https://h.example/x", &["stagged"], ""),
            String::new(),
            "stagged",
        ),
        (
            hook(
                "package.webhook",
                "https://h.example/x",
                &["staged"],
                "secret = \"x\"",
            ),
            String::new(),
            "unknown field `secret`",
        ),
        (
            String::new(),
            hook(
                "webhook",
                "https://h.example/x",
                &["staged"],
                "format = \"teams\"",
            ),
            "teams",
        ),
        (
            hook("package.webhook", "https://h.example/x", &["staged"], ""),
            hook("webhook", "https://h.example/x", &["released"], ""),
            "package[0].webhook[0].url: is also a gate-wide [[webhook]]",
        ),
    ] {
        let err = run(&config(&ci, "", &gate_hooks, &hooks), 0o600);
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    let err = run(&config(&ci, "timeout_seconds = 0", "", ""), 0o600);
    assert!(err.contains("webhook_delivery.timeout_seconds"), "{err}");
}

#[test]
fn a_delivery_is_given_up_after_its_time_and_counted_in_metrics() {
    let ci = CiIssuer::start();
    let receiver = Receiver::start(vec![Answer::Status(500); 1000]);
    let hooks = hook("package.webhook", &receiver.url(), &["staged"], "");
    let metrics_port = crate::publish_util::unused_port();
    let config = format!(
        "metrics_listen = \"127.0.0.1:{metrics_port}\"\n{}",
        config(
            &ci,
            "backoff_ms = 100\nmax_backoff_ms = 200\ngive_up_after_seconds = 3",
            "",
            &hooks,
        )
    );
    let gate = Gate::start_in(gate_dir(&config));
    stage(&gate, &ci, "1.0.0");
    wait_for_log(&gate, "webhook delivery given up");
    assert!(gate.log().contains("gave up after"), "{}", gate.log());
    let attempts = receiver.requests().len();
    assert!(attempts >= 2, "retried before giving up: {attempts}");
    let get = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (status, text) = crate::gate_util::raw_http(metrics_port, get);
    assert_eq!(status, 200);
    for line in [
        "shipgate_webhook_deliveries{state=\"failed\"} 1",
        "shipgate_webhook_deliveries{state=\"pending\"} 0",
        "shipgate_webhook_attempts_total{outcome=\"failed\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in {text}");
    }
}
