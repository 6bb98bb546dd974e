//! A small smoke run of the load drill (`bench/gate/load.py drill`, the
//! benchmark driver): 20 clients for 3 seconds against a real gate, so the
//! driver keeps working and concurrent staging, listing, approving and
//! fetching gets no answer other than the expected refusals. The full drill
//! (500 clients, 60 s, release build) is `bench/gate/run.sh drill`.

use std::path::Path;
use std::process::Command;

use crate::gate_util::{CiIssuer, Gate, enroll};
use crate::util::stdout;

const LOAD_CLIENTS: usize = 20;

/// The load drill's config: package `load`, one maintainer per client.
pub fn load_config(issuer: &str) -> String {
    let maintainers: Vec<String> = (1..=LOAD_CLIENTS).map(|i| format!("\"l{i}\"")).collect();
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"

[limits]
max_pending_releases = 100000

[[package]]
name = "load"
quorum = 1
maintainers = [{}]

[[package.publisher]]
provider = "github"
issuer = "{issuer}"
repository = "acme/load"
repository_owner_id = "4242"
workflow = ".github/workflows/release.yml"
environment = "*"
ref = "refs/tags/v*"
"#,
        maintainers.join(", ")
    )
}

/// A drill size from the environment (bench/gate/replicas.sh sets them for a
/// longer run), or `default`.
fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `bench/gate/load.py drill` with its clients spread over `gates`
/// (enrolled through the first); returns its report.
pub fn load_drill(ci: &CiIssuer, gates: &[&Gate]) -> String {
    let clients: Vec<serde_json::Value> = (1..=LOAD_CLIENTS)
        .map(|i| {
            let (token, secret) = enroll(gates[0], &format!("l{i}"), "load");
            serde_json::json!({"token": token, "totp_secret": secret})
        })
        .collect();
    let (_, _, discovery) =
        crate::util::http_get(&format!("{}/.well-known/openid-configuration", ci.url));
    let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    let (_, _, jwks) = crate::util::http_get(discovery["jwks_uri"].as_str().unwrap());
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let mut keys: Vec<_> = std::fs::read_dir(ci.dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .collect();
    keys.sort();
    let urls: Vec<&str> = gates.iter().map(|g| g.url.as_str()).collect();
    let plan = serde_json::json!({
        "gate": gates[0].url, "gates": urls, "pid": gates[0].pid(),
        "seconds": knob("SHIPGATE_LOAD_SECONDS", 6), "procs": knob("SHIPGATE_LOAD_PROCS", 1),
        "payload_bytes": 4096, "think_seconds": 0.02,
        "issuer": ci.url, "audience": "shipgate-test",
        "issuer_kid": jwks["keys"][0]["kid"], "issuer_key": keys.last().unwrap(),
        "package": "load", "repository": "acme/load", "owner_id": "4242",
        "clients": clients,
    });
    let plan_path = gates[0].path().join("drill.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/gate/load.py");
    let out = Command::new(crate::util::peer("python3"))
        .arg(&driver)
        .arg("drill")
        .arg(&plan_path)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}\n--- server log\n{}",
        String::from_utf8_lossy(&out.stderr),
        gates[0].log()
    );
    assert!(text.contains("unexpected answers and errors: 0"), "{text}");
    for call in ["stage", "approve", "list", "fetch"] {
        assert!(
            text.lines().any(|l| l.starts_with(call)),
            "no {call} went through:\n{text}"
        );
    }
    text
}

#[test]
fn load_drill_smoke_run_has_no_unexpected_answers() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&load_config(&ci.url));
    let text = load_drill(&ci, &[&gate]);
    eprintln!("{text}");
    assert!(text.contains("gate RSS (MiB)"), "{text}");
}
