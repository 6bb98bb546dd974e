//! Drills on three replicas sharing one PostgreSQL database: the load
//! drill beside one embedded gate, and a crash drill that kills replicas at
//! random while a client stages and approves. Peers as in `gate_scale.rs`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::gate_scale::{log_verify_entries, three_replicas};
use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, json, totp};
use crate::pg_util::PgDatabase;
use crate::util::{assert_exit, stdout};

const LOAD_CLIENTS: usize = 20;

/// The load drill's config: package `load`, one maintainer per client.
fn load_config(issuer: &str) -> String {
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

/// Runs `bench/gate/load.py drill` with its clients spread over `gates`
/// (enrolled through the first); returns its report.
fn load_drill(ci: &CiIssuer, gates: &[&Gate]) -> String {
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
        "gate": gates[0].url, "gates": urls, "pid": gates[0].pid(), "seconds": 6, "procs": 1,
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
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
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

/// The load drill against one embedded gate, then against three replicas
/// on PostgreSQL, in the same run: both get only the expected answers; the
/// reports (throughput, p50/p99 per call) are printed side by side
/// (`cargo test ... load_drill -- --nocapture`; the full-size run is
/// `bench/gate/replicas.sh`).
#[test]
fn load_drill_on_three_replicas_beside_one_embedded_gate() {
    let ci = CiIssuer::start();
    let single = Gate::start(&load_config(&ci.url));
    let embedded = load_drill(&ci, &[&single]);
    drop(single);
    let database = PgDatabase::new();
    let (_shared, replicas) = three_replicas(&load_config(&ci.url), &database);
    let scaled = load_drill(&ci, &replicas.iter().collect::<Vec<_>>());
    eprintln!("--- one embedded gate\n{embedded}\n--- three replicas on PostgreSQL\n{scaled}");
}

const CRASH_MAINTAINERS: usize = 16;

/// `hello` with maintainers m1..m16 (quorum 2: each release takes two
/// fresh maintainers, so no TOTP step is needed twice), and one public URL
/// for all replicas (so they sign checkpoints under one log origin, as
/// replicas behind one load balancer do).
fn crash_config(issuer: &str) -> String {
    let maintainers: Vec<String> = (1..=CRASH_MAINTAINERS)
        .map(|i| format!("\"m{i}\""))
        .collect();
    bound_config(issuer)
        .replace(
            "public_url = \"http://127.0.0.1\"",
            "public_url = \"http://127.0.0.1:9\"",
        )
        .replace(
            "maintainers = [\"alice\", \"bob\", \"erin\", \"frank\"]",
            &format!("maintainers = [{}]", maintainers.join(", ")),
        )
}

type Replicas = std::sync::Arc<std::sync::Mutex<Vec<Option<Gate>>>>;

/// The URL of a running replica, chosen by `pick`.
fn running_url(replicas: &Replicas, pick: usize) -> String {
    let all = replicas.lock().unwrap();
    let running: Vec<&Gate> = all.iter().flatten().collect();
    running[pick % running.len()].url.clone()
}

/// SIGKILL replicas at random while clients stage and approve: afterwards
/// every release is whole, no acknowledged approval is lost or doubled,
/// every checkpoint a client saw is extended by the final log, and `log
/// verify --entries` passes on every replica with one root.
#[test]
fn crash_drill_replicas_killed_at_random_lose_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let ci = CiIssuer::start();
    let database = PgDatabase::new();
    let (shared, gates) = three_replicas(&crash_config(&ci.url), &database);
    let maintainers: Vec<(String, String)> = (1..=CRASH_MAINTAINERS)
        .map(|i| enroll(&gates[0], &format!("m{i}"), "hello"))
        .collect();
    std::fs::write(shared.path().join("hello.txt"), b"crash drill\n").unwrap();
    let replicas: Replicas =
        std::sync::Arc::new(std::sync::Mutex::new(gates.into_iter().map(Some).collect()));

    // The killer: every 0.3 to 1.2 s one replica dies and comes back.
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let killer = {
        let (replicas, done) = (replicas.clone(), done.clone());
        std::thread::spawn(move || {
            let mut kills = 0;
            let mut seed = std::process::id() as u64;
            let mut next = move || {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                seed >> 33
            };
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(300 + next() % 900));
                let k = (next() % 3) as usize;
                let Some(gate) = replicas.lock().unwrap()[k].take() else {
                    continue;
                };
                let dir = gate.kill();
                kills += 1;
                std::thread::sleep(Duration::from_millis(next() % 400));
                replicas.lock().unwrap()[k] = Some(Gate::start_in(dir));
            }
            kills
        })
    };

    let cli =
        |args: &[&str], env: &[(&str, &str)]| crate::gate_util::cli_in(shared.path(), env, args);
    let mut staged: Vec<i64> = Vec::new();
    let mut acknowledged: Vec<(i64, String)> = Vec::new();
    let mut checkpoints = 0;
    for round in 0..CRASH_MAINTAINERS / 2 {
        let version = format!("1.0.{round}");
        let mut id = None;
        for attempt in 0..6 {
            let url = running_url(&replicas, round + attempt);
            let token = ci.github_token("shipgate-test", "acme/hello", "42", &version, &[]);
            let out = cli(
                &[
                    "stage",
                    "--gate",
                    &url,
                    "--package",
                    "hello",
                    "--version",
                    &version,
                    "hello.txt",
                    "--json",
                ],
                &[("SHIPGATE_OIDC_TOKEN", &token)],
            );
            if out.status.success() {
                id = json(&out)["id"].as_i64();
                break;
            }
        }
        let Some(id) = id else { continue };
        staged.push(id);
        for who in [2 * round, 2 * round + 1] {
            let (token, secret) = &maintainers[who];
            let code = totp(secret, 0);
            for attempt in 0..2 {
                let url = running_url(&replicas, who + attempt);
                let out = cli(
                    &["approve", &id.to_string(), "--gate", &url, "--code", &code],
                    &[("SHIPGATE_MAINTAINER_TOKEN", token)],
                );
                if out.status.success() {
                    acknowledged.push((id, format!("m{}", who + 1)));
                    break;
                }
            }
        }
        // A client looks at the log; each checkpoint it accepted is kept.
        let url = running_url(&replicas, round);
        let out = cli(
            &[
                "log",
                "verify",
                "--gate",
                &url,
                "--gate-key",
                "gate.pub",
                "--checkpoint",
                "cp.note",
            ],
            &[],
        );
        if out.status.success() {
            checkpoints += 1;
            std::fs::copy(
                shared.path().join("cp.note"),
                shared.path().join(format!("seen-{checkpoints}.note")),
            )
            .unwrap();
        }
    }
    done.store(true, Ordering::SeqCst);
    let kills = killer.join().unwrap();
    assert!(kills > 0, "the drill killed no replica");
    assert!(
        !staged.is_empty() && checkpoints > 0,
        "nothing got through the drill"
    );

    let url = running_url(&replicas, 0);
    for id in &staged {
        let out = cli(
            &["release", "show", &id.to_string(), "--gate", &url, "--json"],
            &[],
        );
        assert_exit(&out, 0);
        let view = json(&out);
        assert_eq!(view["files"].as_array().map(Vec::len), Some(1), "{view}");
        let approvals: Vec<&str> = view["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["maintainer"].as_str().unwrap())
            .collect();
        for (_, who) in acknowledged.iter().filter(|(r, _)| r == id) {
            let times = approvals.iter().filter(|a| **a == who.as_str()).count();
            assert_eq!(times, 1, "acknowledged approval of {who} on {id}: {view}");
        }
        if view["state"] == "released" {
            let version = view["version"].as_str().unwrap();
            let out = cli(
                &[
                    "fetch",
                    "--gate",
                    &url,
                    "hello",
                    version,
                    "--out",
                    &format!("got-{id}"),
                    "--gate-key",
                    "gate.pub",
                ],
                &[],
            );
            assert_exit(&out, 0);
        } else {
            assert_eq!(view["state"], "staged", "{view}");
        }
    }
    for seen in 1..=checkpoints {
        let out = cli(
            &[
                "log",
                "verify",
                "--gate",
                &url,
                "--gate-key",
                "gate.pub",
                "--checkpoint",
                &format!("seen-{seen}.note"),
            ],
            &[],
        );
        assert_exit(&out, 0);
    }
    let all = replicas.lock().unwrap();
    let roots: Vec<_> = all
        .iter()
        .flatten()
        .map(|gate| log_verify_entries(shared.path(), &gate.url)["root"].clone())
        .collect();
    assert_eq!(roots.len(), 3);
    assert!(roots[0].is_string(), "{roots:?}");
    assert!(roots.iter().all(|root| *root == roots[0]), "{roots:?}");
    eprintln!(
        "crash drill: {kills} kills, {} releases staged, {} approvals acknowledged, {checkpoints} checkpoints seen",
        staged.len(),
        acknowledged.len()
    );
}
