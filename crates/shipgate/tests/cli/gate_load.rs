//! A small smoke run of the load drill (`bench/gate/load.py drill`, the
//! benchmark driver): 20 clients for 3 seconds against a real gate, so the
//! driver keeps working and concurrent staging, listing, approving and
//! fetching gets no answer other than the expected refusals. The full drill
//! (500 clients, 60 s, release build) is `bench/gate/run.sh drill`.

use crate::gate_util::{CiIssuer, Gate, enroll};
use crate::util::{http_get, peer, stdout};

const CLIENTS: usize = 20;

#[test]
fn load_drill_smoke_run_has_no_unexpected_answers() {
    let ci = CiIssuer::start();
    let maintainers: Vec<String> = (1..=CLIENTS).map(|i| format!("\"l{i}\"")).collect();
    let config = format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"

# The drill stages far more than a package would keep undecided.
[limits]
max_pending_releases = 100000

[[package]]
name = "load"
quorum = 1
maintainers = [{}]

[[package.publisher]]
provider = "github"
issuer = "{}"
repository = "acme/load"
repository_owner_id = "4242"
workflow = ".github/workflows/release.yml"
environment = "*"
ref = "refs/tags/v*"
"#,
        maintainers.join(", "),
        ci.url
    );
    let gate = Gate::start(&config);
    let clients: Vec<serde_json::Value> = (1..=CLIENTS)
        .map(|i| {
            let (token, secret) = enroll(&gate, &format!("l{i}"), "load");
            serde_json::json!({"token": token, "totp_secret": secret})
        })
        .collect();
    let (_, _, discovery) = http_get(&format!("{}/.well-known/openid-configuration", ci.url));
    let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
    let (_, _, jwks) = http_get(discovery["jwks_uri"].as_str().unwrap());
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let mut keys: Vec<_> = std::fs::read_dir(ci.dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .collect();
    keys.sort();
    let plan = serde_json::json!({
        "gate": gate.url, "pid": gate.pid(), "seconds": 6, "procs": 1,
        "payload_bytes": 4096, "think_seconds": 0.02,
        "issuer": ci.url, "audience": "shipgate-test",
        "issuer_kid": jwks["keys"][0]["kid"], "issuer_key": keys.last().unwrap(),
        "package": "load", "repository": "acme/load", "owner_id": "4242",
        "clients": clients,
    });
    let plan_path = gate.path().join("drill.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let driver = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/gate/load.py");
    let out = std::process::Command::new(peer("python3"))
        .arg(&driver)
        .arg("drill")
        .arg(&plan_path)
        .output()
        .unwrap();
    let text = stdout(&out);
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "{text}\n{}\n--- server log\n{}",
        String::from_utf8_lossy(&out.stderr),
        gate.log()
    );
    assert!(text.contains("unexpected answers and errors: 0"), "{text}");
    for call in ["stage", "approve", "list", "fetch"] {
        assert!(
            text.lines().any(|l| l.starts_with(call)),
            "no {call} went through:\n{text}"
        );
    }
    assert!(text.contains("gate RSS (MiB)"), "{text}");
}
