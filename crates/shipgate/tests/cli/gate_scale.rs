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

use std::path::Path;
use std::time::{Duration, Instant};

use crate::gate_util::{
    CiIssuer, Gate, bound_config, default_config, enroll, json, totp, write_gate_key,
};
use crate::pg_util::{Cluster, PgDatabase};
use crate::util::{assert_exit, stdout};

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
pub fn release_hello(
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

pub fn log_verify_entries(dir: &Path, url: &str) -> serde_json::Value {
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
    fetch_hello(&moved);
}

/// `shipgate fetch` of hello 1.0.0 from `gate` into `got/`, with every
/// check (signature by `gate.pub`, log inclusion); it must succeed.
fn fetch_hello(gate: &Gate) {
    let args = ["fetch", "--gate", &gate.url, "hello", "1.0.0"];
    let out = gate.cli(
        &[],
        &[&args[..], &["--out", "got", "--gate-key", "gate.pub"]].concat(),
    );
    assert_exit(&out, 0);
}

/// Three `shipgate serve` processes on one PostgreSQL database, with the
/// same gate key, secrets key and blob directory.
pub fn three_replicas(config: &str, database_url: &str) -> (tempfile::TempDir, Vec<Gate>) {
    let shared = tempfile::tempdir().unwrap();
    write_gate_key(shared.path());
    std::fs::create_dir(shared.path().join("blobs")).unwrap();
    let config = config.replace(
        "gate_key = \"gate.key\"",
        &format!(
            "gate_key = \"{key}\"\nsecrets_key_file = \"{secrets}\"\ndatabase = \"{url}\"",
            key = shared.path().join("gate.key").display(),
            secrets = shared.path().join("secrets.key").display(),
            url = database_url,
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
pub fn three_replicas_share_one_state_one_log_and_each_totp_code_once() {
    let ci = CiIssuer::start();
    let database = PgDatabase::new();
    let (_shared, replicas) = three_replicas(&bound_config(&ci.url), &database.url);
    let [a, b, c] = [&replicas[0], &replicas[1], &replicas[2]];
    let alice = enroll(a, "alice", "hello");
    let bob = enroll(b, "bob", "hello");
    let erin = enroll(c, "erin", "hello");

    // Stage on one, approve on another, fetch from the third.
    release_hello(&ci, a, b, &alice, &bob);
    fetch_hello(c);
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
/// The administration commands act on the configured database: a passkey
/// link for a maintainer enrolled on PostgreSQL is made there; backup and restore (files of the
/// embedded database) refuse, pointing at PostgreSQL's own tools, instead
/// of writing a `gate.db` the gate never reads.
#[test]
fn admin_commands_use_postgres_and_file_backups_refuse() {
    let database = PgDatabase::new();
    let config = default_config(&format!("database = \"{}\"", database.url)).replace(
        "public_url = \"http://127.0.0.1\"",
        "public_url = \"http://localhost\"",
    );
    let gate = Gate::start(&config);
    enroll(&gate, "alice", "hello");
    let out = gate.admin(&["enroll", "alice", "--passkey", "--json"]);
    assert_exit(&out, 0);
    assert!(json(&out)["passkey_link"].is_string(), "{}", stdout(&out));
    // A credential id may begin with '-' (base64url): it is read as the
    // id, not as an option.
    let out = gate.admin(&["revoke", "alice", "--passkey", "-bX9kZ0"]);
    assert_exit(&out, 2);
    assert!(
        crate::util::stderr(&out).contains("has no passkey with credential id \"-bX9kZ0\""),
        "{}",
        crate::util::stderr(&out)
    );
    let out = gate.admin(&["backup", "backup.db"]);
    assert_exit(&out, 2);
    assert!(
        crate::util::stderr(&out).contains("only possible with the embedded database"),
        "{}",
        crate::util::stderr(&out)
    );
    let (_, dir) = gate.terminate();
    std::fs::write(dir.path().join("backup.db"), b"SQLite format 3\0").unwrap();
    let out = crate::gate_util::cli_in(
        dir.path(),
        &[],
        &["admin", "restore", "backup.db", "--config", "gate.toml"],
    );
    assert_exit(&out, 2);
    assert!(
        crate::util::stderr(&out).contains("pg_restore"),
        "{}",
        crate::util::stderr(&out)
    );
    assert!(!dir.path().join("data/gate.db").exists());
}

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

#[test]
fn migrate_moves_the_blobs_into_a_bucket_too_and_the_gate_serves_from_both() {
    use crate::gate_blobs_s3::s3_server;
    let s3 = s3_server::S3Server::start();
    let bucket = s3.fresh_bucket();
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let alice = enroll(&gate, "alice", "hello");
    let bob = enroll(&gate, "bob", "hello");
    release_hello(&ci, &gate, &gate, &alice, &bob);
    let before = log_verify_entries(gate.path(), &gate.url);
    let (status, dir) = gate.terminate();
    assert!(status.success());
    let blobs_before: Vec<String> = std::fs::read_dir(dir.path().join("data/blobs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() == 64)
        .collect();
    assert!(!blobs_before.is_empty());

    let target = PgDatabase::new();
    let to_blobs = format!("s3://{bucket}/gate");
    // The bucket is reached as the standard AWS variables say.
    let aws = [
        ("AWS_ENDPOINT_URL", s3.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", s3_server::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", s3_server::SECRET_KEY),
        ("AWS_REGION", s3_server::REGION),
    ];
    let migrate = |to_blobs: &str| {
        crate::gate_util::cli_in(
            dir.path(),
            &aws,
            &[
                "admin",
                "migrate",
                "--to-database",
                &target.url,
                "--to-blobs",
                to_blobs,
                "--config",
                "gate.toml",
                "--json",
            ],
        )
    };
    // Not a bucket: refused before anything is copied.
    let refused = migrate("/srv/blobs");
    assert_exit(&refused, 2);
    let out = migrate(&to_blobs);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["log_root"], before["root"], "{report}");
    assert_eq!(
        report["blobs"]["copied"].as_u64().unwrap()
            + report["blobs"]["already_present"].as_u64().unwrap(),
        report["referenced_blobs"].as_u64().unwrap(),
        "{report}"
    );
    assert!(report["blobs"]["copied"].as_u64().unwrap() >= 1, "{report}");

    // The gate on PostgreSQL and the bucket, with its old blob directory
    // and database moved away, serves the same log and the same bytes.
    let config = std::fs::read_to_string(dir.path().join("gate.toml")).unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        format!(
            "database = \"{}\"\n{}",
            target.url,
            crate::gate_blobs_s3::s3_config_for_bucket(&config, &s3, &bucket)
        ),
    )
    .unwrap();
    std::fs::rename(
        dir.path().join("data/gate.db"),
        dir.path().join("gate.db.migrated"),
    )
    .unwrap();
    std::fs::rename(
        dir.path().join("data/blobs"),
        dir.path().join("blobs.migrated"),
    )
    .unwrap();
    let moved = Gate::start_in(dir);
    let after = log_verify_entries(moved.path(), &moved.url);
    assert_eq!(after["root"], before["root"], "{after}");
    fetch_hello(&moved);
    assert!(
        !moved.path().join("data/blobs").exists()
            || std::fs::read_dir(moved.path().join("data/blobs"))
                .unwrap()
                .filter_map(Result::ok)
                .all(|e| e.file_name().len() != 64),
        "blobs were served from the bucket, not a directory"
    );
}
