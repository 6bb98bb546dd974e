//! Drills on three replicas sharing one PostgreSQL database: the load
//! drill beside one embedded gate, and a crash drill that kills replicas at
//! random while a client stages and approves. Peers as in `gate_scale.rs`.

use std::path::Path;
use std::time::Duration;

use crate::gate_load::{load_config, load_drill};
use crate::gate_scale::{log_verify_entries, three_replicas};
use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, json, totp};
use crate::pg_util::PgDatabase;
use crate::util::assert_exit;

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
    let (_shared, replicas) = three_replicas(&load_config(&ci.url), &database.url);
    let scaled = load_drill(&ci, &replicas.iter().collect::<Vec<_>>());
    eprintln!("--- one embedded gate\n{embedded}\n--- three replicas on PostgreSQL\n{scaled}");
}

const CRASH_CLIENTS: usize = 3;
const CRASH_ROUNDS_PER_CLIENT: usize = 6;
const CRASH_MAINTAINERS: usize = 2 * CRASH_CLIENTS * CRASH_ROUNDS_PER_CLIENT;

/// `hello` with maintainers m1..m36 (quorum 2: each release takes two
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

/// A small deterministic random source (seeded per run from the pid).
fn random_source(seed: u64) -> impl FnMut() -> u64 {
    let mut seed = seed;
    move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    }
}

/// What one drill client saw.
#[derive(Default)]
struct ClientRecord {
    staged: Vec<i64>,
    /// (release, maintainer) of every approval the gate answered 2xx to.
    acknowledged: Vec<(i64, String)>,
    /// Copies of every checkpoint the client accepted.
    checkpoints: Vec<String>,
}

/// One client of the crash drill: stages its releases, has two maintainers
/// approve each, and checks the log after each round, on whichever replica
/// runs; a refused or unanswered call is tried again on another replica
/// for up to 30 seconds (replicas die, the database restarts).
fn crash_client(
    client: usize,
    dir: &Path,
    ci: &CiIssuer,
    replicas: &Replicas,
    maintainers: &[(String, String)],
) -> ClientRecord {
    let cli = |args: &[&str], env: &[(&str, &str)]| crate::gate_util::cli_in(dir, env, args);
    let retrying = |mut call: Box<dyn FnMut(usize) -> Option<std::process::Output> + '_>| {
        let start = std::time::Instant::now();
        let mut attempt = 0;
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(out) = call(attempt) {
                return Some(out);
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    };
    let mut record = ClientRecord::default();
    let cp = format!("cp-{client}.note");
    for step in 0..CRASH_ROUNDS_PER_CLIENT {
        let round = step * CRASH_CLIENTS + client;
        let version = format!("1.0.{round}");
        let staged = retrying(Box::new(|attempt| {
            let url = running_url(replicas, round + attempt);
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
            out.status.success().then_some(out)
        }));
        let Some(id) = staged.and_then(|out| json(&out)["id"].as_i64()) else {
            continue;
        };
        record.staged.push(id);
        for who in [2 * round, 2 * round + 1] {
            let (token, secret) = &maintainers[who];
            let code = totp(secret, 0);
            let approved = retrying(Box::new(|attempt| {
                let url = running_url(replicas, who + attempt);
                let out = cli(
                    &["approve", &id.to_string(), "--gate", &url, "--code", &code],
                    &[("SHIPGATE_MAINTAINER_TOKEN", token)],
                );
                // A code the gate already spent (the answer to an approval
                // that committed was lost) is refused for good: stop there.
                let spent = String::from_utf8_lossy(&out.stderr).contains("already");
                (out.status.success() || spent).then_some(out)
            }));
            if approved.is_some_and(|out| out.status.success()) {
                record.acknowledged.push((id, format!("m{}", who + 1)));
            }
        }
        // The client looks at the log; each checkpoint it accepted is kept.
        let url = running_url(replicas, round);
        let out = cli(
            &[
                "log",
                "verify",
                "--gate",
                &url,
                "--gate-key",
                "gate.pub",
                "--checkpoint",
                &cp,
            ],
            &[],
        );
        if out.status.success() {
            let seen = format!("seen-{client}-{step}.note");
            std::fs::copy(dir.join(&cp), dir.join(&seen)).unwrap();
            record.checkpoints.push(seen);
        }
    }
    record
}

/// SIGKILL replicas at random, and crash and restart PostgreSQL once, while
/// three clients stage and approve at the same time: afterwards every
/// release is whole, every blob a release references is there, no
/// acknowledged approval is lost or doubled, every checkpoint a client saw
/// is extended by the final log, and `log verify --entries` passes on
/// every replica with one root.
#[test]
fn crash_drill_replicas_killed_at_random_lose_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let ci = CiIssuer::start();
    let cluster = crate::pg_util::Cluster::start();
    let (shared, gates) = three_replicas(&crash_config(&ci.url), &cluster.url());
    let maintainers: Vec<(String, String)> = (1..=CRASH_MAINTAINERS)
        .map(|i| enroll(&gates[0], &format!("m{i}"), "hello"))
        .collect();
    std::fs::write(shared.path().join("hello.txt"), b"crash drill\n").unwrap();
    let replicas: Replicas =
        std::sync::Arc::new(std::sync::Mutex::new(gates.into_iter().map(Some).collect()));

    let done = AtomicBool::new(false);
    let ((kills, database_crashed), records) = std::thread::scope(|scope| {
        // The killer: every 0.2 to 0.8 s one replica dies and comes back;
        // after the first kill the database crashes and restarts once.
        let killer = scope.spawn(|| {
            let mut next = random_source(u64::from(std::process::id()));
            let mut kills = 0;
            let mut database_crashed = false;
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200 + next() % 600));
                if kills == 1 && !database_crashed {
                    cluster.crash();
                    database_crashed = true;
                    std::thread::sleep(Duration::from_millis(500 + next() % 1000));
                    cluster.run();
                }
                let k = (next() % 3) as usize;
                let Some(gate) = replicas.lock().unwrap()[k].take() else {
                    continue;
                };
                let dir = gate.kill();
                kills += 1;
                std::thread::sleep(Duration::from_millis(next() % 400));
                replicas.lock().unwrap()[k] = Some(Gate::start_in(dir));
            }
            (kills, database_crashed)
        });
        let clients: Vec<_> = (0..CRASH_CLIENTS)
            .map(|client| {
                let (dir, ci, replicas, maintainers) =
                    (shared.path(), &ci, &replicas, &maintainers);
                scope.spawn(move || crash_client(client, dir, ci, replicas, maintainers))
            })
            .collect();
        let records: Vec<ClientRecord> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        done.store(true, Ordering::SeqCst);
        (killer.join().unwrap(), records)
    });
    assert!(
        kills >= 2 && database_crashed,
        "the drill was over before the killer got going: {kills} kills, database crashed: {database_crashed}"
    );
    let staged: Vec<i64> = records.iter().flat_map(|r| r.staged.clone()).collect();
    let acknowledged: Vec<(i64, String)> = records
        .iter()
        .flat_map(|r| r.acknowledged.clone())
        .collect();
    let checkpoints: Vec<String> = records.iter().flat_map(|r| r.checkpoints.clone()).collect();
    assert!(
        !staged.is_empty() && !checkpoints.is_empty(),
        "nothing got through the drill"
    );

    let cli =
        |args: &[&str], env: &[(&str, &str)]| crate::gate_util::cli_in(shared.path(), env, args);
    let url = running_url(&replicas, 0);
    let mut released = 0;
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
        for who in &approvals {
            let times = approvals.iter().filter(|a| *a == who).count();
            assert_eq!(times, 1, "approval of {who} doubled on {id}: {view}");
        }
        for (_, who) in acknowledged.iter().filter(|(r, _)| r == id) {
            assert!(
                approvals.contains(&who.as_str()),
                "acknowledged approval of {who} on {id} lost: {view}"
            );
        }
        // The staged bytes are there for a maintainer (the blob exists and
        // matches), released or not.
        let version = view["version"].as_str().unwrap();
        let (token, _) = &maintainers[0];
        let out = cli(
            &[
                "release",
                "download",
                &id.to_string(),
                "--gate",
                &url,
                "--out",
                &format!("staged-{id}"),
            ],
            &[("SHIPGATE_MAINTAINER_TOKEN", token)],
        );
        assert_exit(&out, 0);
        if view["state"] == "released" {
            released += 1;
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
    for seen in &checkpoints {
        let out = cli(
            &[
                "log",
                "verify",
                "--gate",
                &url,
                "--gate-key",
                "gate.pub",
                "--checkpoint",
                seen,
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
        "crash drill: {kills} kills and one database crash, {} releases staged ({released} released), {} approvals acknowledged by {CRASH_CLIENTS} clients, {} checkpoints seen",
        staged.len(),
        acknowledged.len(),
        checkpoints.len()
    );
}
