//! The crash drill: a real `shipgate serve` is killed with SIGKILL at 50
//! random moments while client threads stage small and large releases and
//! approve them (quorum 1 and 2, so some approvals release and sign), and is
//! restarted each time on the same data directory. After every restart,
//! before the clients go on, `checks::check` proves that every release is
//! whole or absent, that every acknowledged staging, approval and release is
//! kept and none is doubled, that the event sequence is gapless and only
//! grows, and that the transparency log has one leaf per event, verifies
//! with `shipgate log verify`, and is consistent (a consistency proof each)
//! with every signed checkpoint a watcher thread saw before the kill.
//!
//! The moments come from a seeded RNG: the seed is printed, and
//! `SHIPGATE_CRASH_SEED=N` replays the same schedule (kill delays, client
//! choices; thread interleaving still varies from run to run).

mod checks;
mod clients;
mod http;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clients::{AUDIENCE, Maintainer, PACKAGES, Shared};
use shipgate_gate::config::GateConfig;

use crate::gate_util::{CiIssuer, Gate, Minter, write_gate_key};
use crate::util::{assert_exit, peer};

/// Kills while clients are at work.
const KILLS: usize = 50;
/// The environment variable that fixes the seed.
const SEED_VAR: &str = "SHIPGATE_CRASH_SEED";
/// Maintainers enrolled per package: enough fresh TOTP steps for the run
/// (each maintainer can approve about once per 30-second step).
const MAINTAINERS_PER_PACKAGE: usize = 14;

fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR}={text:?} is not a number")),
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        }
    }
}

fn config(issuer: &str) -> String {
    let mut text = format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "{AUDIENCE}"
max_upload_bytes = 4194304

# The drill stages far more than a package would keep undecided.
[limits]
max_pending_releases = 100000
"#
    );
    for (name, repository, owner, quorum) in PACKAGES {
        let maintainers: Vec<String> = (1..=MAINTAINERS_PER_PACKAGE)
            .map(|i| format!("\"{name}{i}\""))
            .collect();
        text.push_str(&format!(
            r#"
[[package]]
name = "{name}"
maintainers = [{}]
quorum = {quorum}

[[package.publisher]]
provider = "github"
issuer = "{issuer}"
repository = "{repository}"
repository_owner_id = "{owner}"
workflow = ".github/workflows/release.yml"
environment = "release"
ref = "refs/tags/v*"
"#,
            maintainers.join(", ")
        ));
    }
    text
}

/// Enrols every maintainer (through the library `shipgate admin enroll`
/// calls: this is setup, not what the drill tests).
fn enroll_all(dir: &std::path::Path) -> Vec<Maintainer> {
    let config = GateConfig::load(&dir.join("gate.toml")).unwrap();
    let mut all = Vec::new();
    for (package, ..) in PACKAGES {
        for i in 1..=MAINTAINERS_PER_PACKAGE {
            let name = format!("{package}{i}");
            let creds = shipgate_gate::block_on(shipgate_gate::admin::enroll(
                &config,
                &name,
                &[package.to_owned()],
                shipgate_gate::unix_now(),
            ))
            .unwrap()
            .unwrap();
            all.push(Maintainer {
                name,
                package: package.to_owned(),
                token: creds.token,
                secret: creds.totp_secret,
            });
        }
    }
    all
}

/// Starts the server and kills it a few milliseconds later, before or while
/// it opens the database and sweeps the blob directory.
fn kill_during_startup(dir: &std::path::Path, delay: Duration) {
    let mut child = crate::util::shipgate()
        .current_dir(dir)
        .args(["serve", "--config", "gate.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn crash_drill_sigkill_at_random_moments_loses_and_halves_nothing() {
    let seed = seed();
    eprintln!("crash drill: seed {seed} (replay the schedule with {SEED_VAR}={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();

    let ci = CiIssuer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gate.toml"), config(&ci.url)).unwrap();
    write_gate_key(dir.path());
    let key_text = std::fs::read_to_string(dir.path().join("gate.pub")).unwrap();
    let key = shipgate_manifest::PublicKey::parse(&key_text, "gate.pub").unwrap();
    let maintainers = Arc::new(enroll_all(dir.path()));
    let minter = Arc::new(Minter::new(&ci));

    let shared = Arc::new(Shared::default());
    let mut threads = Vec::new();
    for (thread, big) in [(1, false), (2, false), (3, true)] {
        let (shared, minter, seed) = (shared.clone(), minter.clone(), rng.u64(..));
        threads.push(std::thread::spawn(move || {
            clients::stager(shared, minter, thread, big, seed);
        }));
    }
    for _ in 0..3 {
        let (shared, maintainers, seed) = (shared.clone(), maintainers.clone(), rng.u64(..));
        threads.push(std::thread::spawn(move || {
            clients::approver(shared, maintainers, seed);
        }));
    }
    {
        let (shared, key, seed) = (shared.clone(), key.clone(), rng.u64(..));
        threads.push(std::thread::spawn(move || {
            clients::watcher(shared, key, seed);
        }));
    }

    let mut history = checks::History::default();
    let mut dir = dir;
    let mut startup_kills = 0;
    let mut checking = Duration::ZERO;
    let mut check = |gate: &Gate, label: &str| {
        let begun = Instant::now();
        let ledger = shared.ledger.lock().unwrap();
        let problems = checks::check(gate, &key, &ledger, &mut history);
        assert!(
            problems.is_empty(),
            "{label} (seed {seed}):\n{}\n--- server log\n{}",
            problems.join("\n"),
            gate.log()
        );
        checking += begun.elapsed();
    };
    for kill in 1..=KILLS {
        // Now and then, a kill while the server starts (and sweeps).
        if rng.u8(..6) == 0 {
            kill_during_startup(dir.path(), Duration::from_millis(rng.u64(0..40)));
            startup_kills += 1;
        }
        let gate = Gate::start_in(dir);
        check(&gate, &format!("before kill {kill}"));
        shared.publish(Some(gate.port));
        std::thread::sleep(Duration::from_millis(rng.u64(30..=400)));
        shared.publish(None);
        dir = gate.kill();
    }
    let gate = Gate::start_in(dir);
    check(&gate, "after the last kill");
    shared.stop();
    for thread in threads {
        thread.join().unwrap();
    }

    // The drill did what it claims: work was cut mid-flight, and work went through.
    let ledger = shared.ledger.lock().unwrap();
    let problems = checks::check_all_checkpoints(&gate, &key, &ledger);
    assert!(
        problems.is_empty(),
        "the final log is not consistent with checkpoints seen during the drill (seed {seed}):\n{}",
        problems.join("\n")
    );
    let out = checks::log_verify(&gate, true);
    assert_exit(&out, 0);
    let released = history
        .releases
        .values()
        .filter(|(state, _)| *state == shipgate_gate::storage::ReleaseState::Released)
        .count();
    let summary = format!(
        "{KILLS} kills at work + {startup_kills} during startup in {:.1} s ({:.1} s of checks; seed {seed}): \
         {} releases ({released} released), {} events; acknowledged: {} stagings, {} approvals, \
         {} releases; {} checkpoints seen, all extended by the log after each kill; \
         cut by a kill: {:?}, {} of them uploads mid-stream",
        started.elapsed().as_secs_f64(),
        checking.as_secs_f64(),
        history.releases.len(),
        history.events.len(),
        ledger.stages.len(),
        ledger.approvals.len(),
        ledger.releases.len(),
        ledger.checkpoints.len(),
        ledger.dropped,
        ledger.mid_upload,
    );
    eprintln!("crash drill: {summary}");
    let log = gate.log();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("refused") || l.contains("ERROR"))
        .collect::<Vec<_>>();
    assert!(
        ledger.unexpected.is_empty(),
        "unexpected answers (seed {seed}):\n{}\n--- refusals and errors in the server log\n{}",
        ledger.unexpected.join("\n"),
        refused.join("\n")
    );
    assert!(
        ledger.mid_upload > 0,
        "no kill landed mid-upload: {summary}"
    );
    assert!(
        !ledger.stages.is_empty() && !ledger.approvals.is_empty() && released > 0,
        "{summary}"
    );

    // One released version, checked end to end with the CLI and the real minisign.
    let (id, _) = ledger.releases.first().cloned().unwrap();
    let detail = history.releases.get(&id).unwrap();
    assert_eq!(detail.0, shipgate_gate::storage::ReleaseState::Released);
    let (status, body) = gate.get(&format!("/v1/releases/{id}"));
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (package, version) = (
        view["package"].as_str().unwrap(),
        view["version"].as_str().unwrap(),
    );
    // `gate.cli` keeps the remembered checkpoint in the gate's directory,
    // not in the user's own config.
    let out = gate.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &gate.url,
            package,
            version,
            "--out",
            "fetched",
            "--gate-key",
            "gate.pub",
        ],
    );
    assert_exit(&out, 0);
    let minisign = std::process::Command::new(peer("minisign"))
        .current_dir(gate.path())
        .args(["-V", "-m", "fetched/shipgate.manifest", "-p", "gate.pub"])
        .output()
        .unwrap();
    assert!(
        minisign.status.success(),
        "minisign: {}",
        String::from_utf8_lossy(&minisign.stderr)
    );

    // The checks can fail: a lost blob and a rewritten event are caught.
    let blobs = gate.path().join("data/blobs");
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&victim).unwrap();
    let mut rewritten = checks::History {
        events: history.events.clone(),
        ..Default::default()
    };
    rewritten.events[0].detail.push(' ');
    let problems = checks::check(&gate, &key, &ledger, &mut rewritten);
    let text = problems.join("\n");
    assert!(text.contains("blob directory: extra [], missing"), "{text}");
    assert!(text.contains("the event history was rewritten"), "{text}");
    // ... and a checkpoint of a history the gate never had (another root at
    // an old size) is not extended by the log.
    let mut forked = ledger.checkpoints[ledger.checkpoints.len() / 2].clone();
    forked.checkpoint.root = ledger.checkpoints.last().unwrap().checkpoint.root;
    let fake = clients::Ledger {
        checkpoints: vec![forked],
        ..Default::default()
    };
    let problems = checks::check_all_checkpoints(&gate, &key, &fake);
    assert_eq!(problems.len(), 1, "{problems:?}");
}
