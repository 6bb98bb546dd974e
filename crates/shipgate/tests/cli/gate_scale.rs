//! The gate on PostgreSQL with real servers: a replica that loses its
//! database answers 503 and recovers by itself; `admin migrate` moves an
//! embedded gate and the log verifies with the same root; three replicas on
//! one database share one state (stage on one, approve on another, fetch
//! from a third), spend each TOTP code once and count lockouts together.
//!
//! Peers: `SHIPGATE_TEST_POSTGRES` (a server where tests may create
//! databases) and `SHIPGATE_TEST_PG_BIN` (PostgreSQL's programs, for the
//! test that runs a cluster of its own so it can stop it);
//! `.ci/setup-postgres.sh` provides both. The server runs as the `postgres`
//! user through `runuser` (it refuses root), as in CI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::gate_util::{
    CiIssuer, Gate, bound_config, default_config, enroll, json, totp, write_gate_key,
};
use crate::util::{assert_exit, stdout};

fn env_or_explain(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run .ci/setup-postgres.sh (it starts PostgreSQL and exports it)")
    })
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A fresh database on the `SHIPGATE_TEST_POSTGRES` server; dropped on drop.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PgDatabase {
    pub fn new() -> PgDatabase {
        let admin = env_or_explain("SHIPGATE_TEST_POSTGRES");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "shipgate_cli_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let (server, _) = admin.rsplit_once('/').unwrap();
        PgDatabase {
            url: format!("{server}/{name}"),
            admin,
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
        });
    }
}

/// A PostgreSQL cluster of this test's own (so it may stop it).
struct Cluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn as_postgres(bin: &Path, program: &str, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("runuser (PostgreSQL runs as the postgres user): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn start() -> Cluster {
        let bin = PathBuf::from(env_or_explain("SHIPGATE_TEST_PG_BIN"));
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for (path, mode) in [(dir.path(), "0755"), (data.as_path(), "0700")] {
            let ok = Command::new("chmod").arg(mode).arg(path).status().unwrap();
            assert!(ok.success());
        }
        let ok = Command::new("chown")
            .args(["postgres:", data.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success(), "chown postgres (the tests run as root in CI)");
        as_postgres(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "--auth=trust",
                "--username=postgres",
            ],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            _dir: dir,
            data,
            bin,
            port,
        };
        cluster.run();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-w",
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "start",
            ],
        );
    }

    fn stop(&self) {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-w",
                "-m",
                "fast",
                "stop",
            ],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

/// Polls `/healthz` until it answers `status` (or fails after `limit`).
fn wait_for_health(gate: &Gate, status: u16, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let (got, body) = gate.get("/healthz");
        if got == status {
            return body;
        }
        assert!(
            start.elapsed() < limit,
            "/healthz stayed {got} (wanted {status}): {body}\n{}",
            gate.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_replica_that_loses_its_database_answers_503_and_recovers_by_itself() {
    let cluster = Cluster::start();
    let gate = Gate::start(&default_config(&format!(
        "database = \"{}\"",
        cluster.url()
    )));
    let (alice, _) = enroll(&gate, "alice", "hello");
    wait_for_health(&gate, 200, Duration::from_secs(10));

    cluster.stop();
    let body = wait_for_health(&gate, 503, Duration::from_secs(30));
    assert!(body.contains("database"), "{body}");
    // A write is refused with 503 (retry later), not a 500 or a hang.
    let (status, text) = gate.request(
        "POST",
        "/v1/releases/1/approve",
        Some(&alice),
        Some("application/json"),
        br#"{"code":"12345678"}"#,
    );
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("unavailable"), "{text}");
    // So is the administration beside it, with the reason.
    let out = gate.admin(&["enroll", "bob", "--package", "hello"]);
    assert_exit(&out, 2);

    cluster.run();
    wait_for_health(&gate, 200, Duration::from_secs(60));
    let out = gate.admin(&["enroll", "bob", "--package", "hello"]);
    assert_exit(&out, 0);
}

/// Stages 1.0.0 on `stage_on`, alice approves on `approve_on` and bob on
/// `approve_on` too (quorum 2); returns the decision's JSON.
fn release_hello(
    ci: &CiIssuer,
    stage_on: &Gate,
    approve_on: &Gate,
    alice: &(String, String),
    bob: &(String, String),
) {
    std::fs::write(stage_on.path().join("hello.txt"), b"hello 1.0.0\n").unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    assert_exit(&stage_on.stage(&token, "hello", "1.0.0", &["hello.txt"]), 0);
    for (maintainer, secret) in [alice, bob] {
        let out = approve_on.cli(
            &[("SHIPGATE_MAINTAINER_TOKEN", maintainer)],
            &[
                "approve",
                "1",
                "--gate",
                &approve_on.url,
                "--code",
                &totp(secret, 0),
            ],
        );
        assert_exit(&out, 0);
    }
}

fn log_verify_entries(dir: &Path, url: &str) -> serde_json::Value {
    let out = crate::gate_util::cli_in(
        dir,
        &[],
        &[
            "log",
            "verify",
            "--gate",
            url,
            "--gate-key",
            "gate.pub",
            "--entries",
            "--json",
        ],
    );
    assert_exit(&out, 0);
    json(&out)
}

#[test]
fn migrate_moves_an_embedded_gate_and_its_log_verifies_with_the_same_root() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let alice = enroll(&gate, "alice", "hello");
    let bob = enroll(&gate, "bob", "hello");
    release_hello(&ci, &gate, &gate, &alice, &bob);
    let before = log_verify_entries(gate.path(), &gate.url);
    let (status, dir) = gate.terminate();
    assert!(status.success());

    let target = PgDatabase::new();
    let migrate = |extra: &[&str]| {
        let mut args = vec![
            "admin",
            "migrate",
            "--to-database",
            &target.url,
            "--config",
            "gate.toml",
        ];
        args.extend_from_slice(extra);
        crate::gate_util::cli_in(dir.path(), &[], &args)
    };
    let out = migrate(&["--json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert!(before["size"].as_u64().unwrap() >= 4, "{before}");
    assert_eq!(report["log_size"], before["size"], "{report}");
    assert_eq!(report["log_root"], before["root"], "{report}");
    // A second run finds the target in use and changes nothing.
    let again = migrate(&[]);
    assert_exit(&again, 2);
    assert!(
        crate::util::stderr(&again).contains("not empty"),
        "{}",
        crate::util::stderr(&again)
    );

    // The gate on the copy serves the same log, and it goes on from there.
    let config = std::fs::read_to_string(dir.path().join("gate.toml")).unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        format!("database = \"{}\"\n{config}", target.url),
    )
    .unwrap();
    // The embedded file is not what it reads: move it out of the way.
    std::fs::rename(
        dir.path().join("data/gate.db"),
        dir.path().join("gate.db.migrated"),
    )
    .unwrap();
    let moved = Gate::start_in(dir);
    let after = log_verify_entries(moved.path(), &moved.url);
    assert_eq!(after["size"], before["size"], "{after}");
    assert_eq!(after["root"], before["root"], "{after}");
    let out = moved.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &moved.url,
            "hello",
            "1.0.0",
            "--out",
            "got",
            "--gate-key",
            "gate.pub",
        ],
    );
    assert_exit(&out, 0);
}

/// Three `shipgate serve` processes on one PostgreSQL database, with the
/// same gate key, secrets key and blob directory.
fn three_replicas(config: &str, database: &PgDatabase) -> (tempfile::TempDir, Vec<Gate>) {
    let shared = tempfile::tempdir().unwrap();
    write_gate_key(shared.path());
    std::fs::create_dir(shared.path().join("blobs")).unwrap();
    let config = config.replace(
        "gate_key = \"gate.key\"",
        &format!(
            "gate_key = \"{key}\"\nsecrets_key_file = \"{secrets}\"\ndatabase = \"{url}\"",
            key = shared.path().join("gate.key").display(),
            secrets = shared.path().join("secrets.key").display(),
            url = database.url,
        ),
    );
    let replicas = (0..3)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("gate.toml"), &config).unwrap();
            std::fs::copy(shared.path().join("gate.pub"), dir.path().join("gate.pub")).unwrap();
            let data = dir.path().join("data");
            std::fs::create_dir(&data).unwrap();
            std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
            std::os::unix::fs::symlink(shared.path().join("blobs"), data.join("blobs")).unwrap();
            Gate::start_in(dir)
        })
        .collect();
    (shared, replicas)
}

#[test]
fn three_replicas_share_one_state_one_log_and_each_totp_code_once() {
    let ci = CiIssuer::start();
    let database = PgDatabase::new();
    let (_shared, replicas) = three_replicas(&bound_config(&ci.url), &database);
    let [a, b, c] = [&replicas[0], &replicas[1], &replicas[2]];
    let alice = enroll(a, "alice", "hello");
    let bob = enroll(b, "bob", "hello");
    let erin = enroll(c, "erin", "hello");

    // Stage on one, approve on another, fetch from the third.
    release_hello(&ci, a, b, &alice, &bob);
    let out = c.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &c.url,
            "hello",
            "1.0.0",
            "--out",
            "got",
            "--gate-key",
            "gate.pub",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read(c.path().join("got/hello.txt")).unwrap(),
        b"hello 1.0.0\n"
    );

    // One code sent to two replicas at once (for two releases) is accepted
    // once.
    for version in ["2.0.0", "2.0.1"] {
        std::fs::write(a.path().join("hello.txt"), version).unwrap();
        let token = ci.github_token("shipgate-test", "acme/hello", "42", version, &[]);
        assert_exit(&a.stage(&token, "hello", version, &["hello.txt"]), 0);
    }
    let code = totp(&erin.1, 1);
    let approvals: Vec<_> = [(b, "2"), (c, "3")]
        .into_iter()
        .map(|(gate, id)| {
            crate::util::shipgate()
                .current_dir(gate.path())
                .env("SHIPGATE_MAINTAINER_TOKEN", &erin.0)
                .args(["approve", id, "--gate", &gate.url, "--code", &code])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let accepted = approvals
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .filter(|out| out.status.success())
        .count();
    assert_eq!(accepted, 1, "one code, two replicas: accepted exactly once");

    // Wrong codes count together: five, spread over the replicas, lock.
    for gate in [a, b, c, a, b] {
        let (status, _) = gate.request(
            "POST",
            "/v1/releases/2/approve",
            Some(&bob.0),
            Some("application/json"),
            br#"{"code":"00000000"}"#,
        );
        assert_eq!(status, 401);
    }
    let out = c.admin(&["status", "bob"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("locked: admin unlock"),
        "{}",
        stdout(&out)
    );
    // Locked everywhere: even the right code is refused on any replica.
    let (status, _) = a.request(
        "POST",
        "/v1/releases/2/approve",
        Some(&bob.0),
        Some("application/json"),
        format!(r#"{{"code":"{}"}}"#, totp(&bob.1, 0)).as_bytes(),
    );
    assert_eq!(status, 401);

    // One log, whichever replica serves it.
    let roots: Vec<_> = replicas
        .iter()
        .map(|gate| log_verify_entries(gate.path(), &gate.url)["root"].clone())
        .collect();
    assert!(roots[0].is_string(), "{roots:?}");
    assert!(roots.iter().all(|root| *root == roots[0]), "{roots:?}");
}

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

/// A `database` the gate cannot use stops it with one line naming the
/// file and the key; a password in the URL never reaches the output.
#[test]
fn a_bad_database_setting_is_refused_and_its_password_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    write_gate_key(dir.path());
    for (value, needle) in [
        ("mysql://gate@db/gate", "unsupported scheme"),
        ("gate.db", "not a URL"),
        ("", "not a URL"),
    ] {
        let config = default_config(&format!("database = \"{value}\""));
        std::fs::write(dir.path().join("gate.toml"), config).unwrap();
        let out = crate::util::run_in(dir.path(), &["serve", "--config", "gate.toml"]);
        assert_exit(&out, 2);
        let err = crate::util::stderr(&out);
        for want in ["gate.toml", "database", needle] {
            assert!(err.contains(want), "{want:?} for {value:?}: {err}");
        }
    }
    // Nothing listens on port 1: the gate fails to start, without the password.
    let config = default_config("database = \"postgres://gate:s3cret-pw@127.0.0.1:1/gate\"");
    std::fs::write(dir.path().join("gate.toml"), &config).unwrap();
    let out = crate::util::run_in(dir.path(), &["serve", "--config", "gate.toml"]);
    assert!(!out.status.success());
    let all = format!("{}{}", stdout(&out), crate::util::stderr(&out));
    assert!(all.contains("database"), "{all}");
    assert!(!all.contains("s3cret-pw"), "{all}");
    let out = crate::util::run_in(
        dir.path(),
        &["admin", "enroll", "alice", "--package", "hello"],
    );
    assert_exit(&out, 2);
    assert!(!crate::util::stderr(&out).contains("s3cret-pw"));

    // `admin migrate` wants a PostgreSQL URL and an embedded source.
    std::fs::write(dir.path().join("gate.toml"), default_config("")).unwrap();
    let out = crate::util::run_in(
        dir.path(),
        &["admin", "migrate", "--to-database", "sqlite://elsewhere.db"],
    );
    assert_exit(&out, 2);
    assert!(
        crate::util::stderr(&out).contains("--to-database"),
        "{}",
        crate::util::stderr(&out)
    );
    std::fs::write(dir.path().join("gate.toml"), &config).unwrap();
    let out = crate::util::run_in(
        dir.path(),
        &[
            "admin",
            "migrate",
            "--to-database",
            "postgres://gate@127.0.0.1:1/other",
        ],
    );
    assert_exit(&out, 2);
    assert!(
        crate::util::stderr(&out).contains("already uses"),
        "{}",
        crate::util::stderr(&out)
    );
    assert!(!crate::util::stderr(&out).contains("s3cret-pw"));
}

/// `admin migrate` refuses while a gate serves the data directory.
#[test]
fn migrate_refuses_while_the_gate_runs() {
    let gate = Gate::start(&default_config(""));
    let database = PgDatabase::new();
    let out = gate.cli(
        &[],
        &[
            "admin",
            "migrate",
            "--to-database",
            &database.url,
            "--config",
            "gate.toml",
        ],
    );
    assert_exit(&out, 2);
    assert!(
        crate::util::stderr(&out).contains("stop it first"),
        "{}",
        crate::util::stderr(&out)
    );
}
