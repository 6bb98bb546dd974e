//! Figures for webhooks (ignored by default; run with
//! `cargo test -p shipgate --test cli webhook_bench -- --ignored --nocapture`).
//! They print figures and assert no timing:
//!
//! - commit → delivered: from `shipgate stage` returning (the `staged`
//!   event committed) to the receiver reading the signed delivery, over 50
//!   releases;
//! - staging time with a receiver that answers at once, and with one that
//!   never answers (every delivery hangs until the 300 s timeout): the
//!   state change must not wait on the receiver.

use std::time::{Duration, Instant};

use crate::gate_util::{CiIssuer, Gate, Minter, hello_publisher, write_gate_key};
use crate::util::assert_exit;
use crate::webhook_receiver::{Answer, Receiver};

const RELEASES: usize = 50;

fn gate(ci: &CiIssuer, url: &str) -> Gate {
    let config = format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"

[webhook_delivery]
timeout_seconds = 300

[limits]
max_pending_releases = 100

[[package]]
name = "hello"
maintainers = ["alice"]

{publisher}
[[package.webhook]]
url = "{url}"
events = ["staged"]
secret_file = "hook.key"
"#,
        publisher = hello_publisher(&ci.url)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gate.toml"), config).unwrap();
    write_gate_key(dir.path());
    let key = dir.path().join("hook.key");
    std::fs::write(&key, "bench-key-0123456789abcdef\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    Gate::start_in(dir)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

fn summary(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:?} p90={:?} max={:?}",
        samples.len(),
        percentile(&samples, 50),
        percentile(&samples, 90),
        samples[samples.len() - 1]
    );
}

/// Stages `RELEASES` versions; returns how long each `shipgate stage` took
/// and when it returned.
fn stage_all(gate: &Gate, minter: &Minter) -> Vec<(Duration, Instant)> {
    std::fs::write(gate.path().join("a.txt"), b"a\n").unwrap();
    (0..RELEASES)
        .map(|i| {
            let version = format!("1.0.{i}");
            let token = minter.github_token("shipgate-test", "acme/hello", "42", &version);
            let start = Instant::now();
            let out = gate.stage(&token, "hello", &version, &["a.txt"]);
            let done = Instant::now();
            assert_exit(&out, 0);
            (done - start, done)
        })
        .collect()
}

#[test]
#[ignore = "benchmark: prints figures"]
fn webhook_bench() {
    let ci = CiIssuer::start();
    let minter = Minter::new(&ci);

    let receiver = Receiver::start(vec![]);
    let healthy = gate(&ci, &receiver.url());
    let staged = stage_all(&healthy, &minter);
    let got = receiver.wait_until("every staged delivery", |r| r.len() >= RELEASES);
    assert_eq!(got.len(), RELEASES);
    let mut latency = Vec::new();
    for (i, (_, committed)) in staged.iter().enumerate() {
        let version = format!("1.0.{i}");
        let index = got
            .iter()
            .position(|r| r.json()["version"] == version.as_str())
            .unwrap();
        latency.push(got[index].arrived.saturating_duration_since(*committed));
    }
    summary("commit -> delivered", latency);
    summary(
        "stage, healthy receiver",
        staged.iter().map(|(d, _)| *d).collect(),
    );

    let hanging = Receiver::start(vec![Answer::Hang; RELEASES]);
    let stuck = gate(&ci, &hanging.url());
    let staged = stage_all(&stuck, &minter);
    summary(
        "stage, receiver that never answers",
        staged.iter().map(|(d, _)| *d).collect(),
    );
    println!(
        "deliveries hanging at the end: {}",
        hanging.hangs_started() - hanging.hangs_ended()
    );
}
