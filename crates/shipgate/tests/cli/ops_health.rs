//! `/healthz` and `/metrics` scraped from a real gate.

use std::collections::BTreeMap;

use crate::gate_util::{CiIssuer, Gate, Minter, bound_config, raw_http};
use crate::ops_util::free_port;
use crate::util::{assert_exit, python_with};

/// One sample of the text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus/OpenMetrics text format strictly: every line is a
/// `# HELP`/`# TYPE`/`# UNIT` comment, `# EOF` (last), or a sample.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "no # EOF at the end");
    let mut samples = Vec::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap();
            assert!(["HELP", "TYPE", "UNIT"].contains(&kind), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut labels = BTreeMap::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    labels.insert(key.to_owned(), value.trim_end_matches('"').to_owned());
                }
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), BTreeMap::new()),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[test]
fn healthz_and_metrics_on_a_separate_listener() {
    let ci = CiIssuer::start();
    let metrics_port = free_port();
    let config = format!(
        "metrics_listen = \"127.0.0.1:{metrics_port}\"\n{}",
        bound_config(&ci.url)
    );
    let gate = Gate::start(&config);
    let minter = Minter::new(&ci);
    std::fs::write(gate.path().join("a.txt"), b"a\n").unwrap();
    let token = minter.github_token("shipgate-test", "acme/hello", "42", "1.0.0");
    assert_exit(&gate.stage(&token, "hello", "1.0.0", &["a.txt"]), 0);
    // A replayed CI token and a bad maintainer token: refused credentials.
    assert_exit(&gate.stage(&token, "hello", "1.0.1", &["a.txt"]), 1);
    let (status, _) = gate.request(
        "POST",
        "/v1/releases/1/approve",
        Some("not-a-maintainer-token"),
        Some("application/json"),
        br#"{"code":"12345678"}"#,
    );
    assert_eq!(status, 401);
    for id in [1, 2, 3] {
        gate.get(&format!("/v1/releases/{id}"));
    }

    // /healthz on the public listener: all three checks pass.
    let (status, body) = gate.get("/healthz");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    for check in ["process", "database", "disk"] {
        assert_eq!(health["checks"][check]["ok"], true, "{body}");
    }
    // Verdicts only: the figures are for the metrics listener.
    assert_eq!(health["checks"]["disk"], serde_json::json!({ "ok": true }));
    // /metrics is not on the public listener.
    assert_eq!(gate.get("/metrics").0, 404);

    // The metrics listener serves both.
    let get = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (status, text) = raw_http(metrics_port, get);
    assert_eq!(status, 200, "{text}");
    let samples = parse_exposition(&text);
    assert_eq!(
        value(&samples, "shipgate_releases", &[("state", "staged")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "shipgate_releases", &[("state", "released")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "shipgate_events", &[("kind", "staged")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "shipgate_maintainers_locked", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "shipgate_decisions_total",
            &[("decision", "approve"), ("outcome", "refused")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "shipgate_refused_tokens_total",
            &[("class", "replayed")]
        ),
        Some(1.0),
        "{text}"
    );
    let refused: f64 = samples
        .iter()
        .filter(|s| s.name == "shipgate_refused_tokens_total")
        .map(|s| s.value)
        .sum();
    assert_eq!(refused, 2.0, "{text}");
    // Latency by route template: three reads of /v1/releases/{id}, and no
    // series named after a raw path.
    let reads: f64 = samples
        .iter()
        .filter(|s| {
            s.name == "shipgate_http_request_duration_seconds_count"
                && s.labels.get("route").map(String::as_str) == Some("/v1/releases/{id}")
                && s.labels.get("method").map(String::as_str) == Some("GET")
        })
        .map(|s| s.value)
        .sum();
    assert_eq!(reads, 3.0, "{text}");
    assert!(!text.contains("/v1/releases/1\""), "{text}");
    let (status, body) = raw_http(
        metrics_port,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["checks"]["disk"]["min_free_bytes"], 1u64 << 30);
    assert!(health["checks"]["disk"]["free_bytes"].as_u64().unwrap() > 0);
    // Nothing else on the metrics listener.
    let (status, _) = raw_http(
        metrics_port,
        b"GET /v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 404);
}

#[test]
fn healthz_fails_with_503_when_the_disk_is_short_or_the_database_takes_no_writes() {
    let ci = CiIssuer::start();
    let config = format!(
        "min_free_disk_bytes = 18446744073709551615\n{}",
        bound_config(&ci.url)
    );
    let gate = Gate::start(&config);
    let (status, body) = gate.get("/healthz");
    assert_eq!(status, 503, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "failing");
    assert_eq!(health["checks"]["disk"]["ok"], false);
    assert_eq!(health["checks"]["database"]["ok"], true);

    // Another process holds SQLite's write lock (Python's sqlite3): the
    // write probe cannot get it and the gate says so.
    let gate = Gate::start(&bound_config(&ci.url));
    assert_eq!(gate.get("/healthz").0, 200);
    let python = python_with(&["sqlite3"]);
    let mut holder = std::process::Command::new(python)
        .current_dir(gate.path())
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect('data/gate.db', isolation_level=None)\n\
             c.execute('BEGIN IMMEDIATE')\n\
             print('locked', flush=True)\n\
             sys.stdin.read()\n",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let (status, body) = gate.get("/healthz");
    drop(holder.stdin.take());
    holder.wait().unwrap();
    assert_eq!(status, 503, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["checks"]["database"]["ok"], false, "{body}");
    assert_eq!(health["checks"]["disk"]["ok"], true, "{body}");
    // Released again: healthy.
    assert_eq!(gate.get("/healthz").0, 200);
}
