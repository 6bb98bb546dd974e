//! Witnesses end to end, all real processes: `shipgate witness serve`, a
//! gate with a `[[witness]]` entry, and clients with `--witness`.
//!
//! - the gate gets its checkpoint cosigned and serves it; `fetch` and
//!   `log verify` require the cosignature (and old clients still parse the
//!   cosigned note);
//! - the witness restarts with its state;
//! - a witness that is down blocks nothing; when it is back the gate
//!   catches up; while it is down the cosignature ages and `--max-age`
//!   refuses the checkpoint (what a frozen gate looks like to a client);
//! - a fork: the operator copies the gate's directory while it is stopped
//!   and runs the copy as a second gate with the same key and origin, so
//!   client A and client B are shown two different logs of the same size.
//!   A copy of the real data directory (rather than a proxy serving a
//!   forged note) makes the fork a real one: both gates sign valid
//!   checkpoints and produce valid consistency proofs from the size the
//!   witness knows, so only the witness's memory can tell them apart.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::gate_log::{approve, free_port, log_verify, stage};
use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, json, raw_http};
use crate::util::{assert_exit, shipgate, stderr, stdout};

const WITNESS: &str = "witness.test/w1";

/// A running `shipgate witness serve`; killed when dropped.
struct WitnessProcess {
    child: Child,
}

impl WitnessProcess {
    fn start(dir: &Path, port: u16, log_key: &str) -> WitnessProcess {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("witness.stderr"))
            .unwrap();
        let mut child = shipgate()
            .current_dir(dir)
            .env("SHIPGATE_LOG", "info")
            .args(["witness", "serve", "--key", "w.key", "--state", "state"])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--log", log_key])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            format!("listening on http://127.0.0.1:{port}"),
            "{}",
            std::fs::read_to_string(dir.join("witness.stderr")).unwrap_or_default()
        );
        WitnessProcess { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A witness key in a fresh directory: (dir, verifier key file).
fn witness_key() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = shipgate()
        .current_dir(dir.path())
        .args(["witness", "keygen", "--name", WITNESS, "--key", "w.key"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(WITNESS), "{}", stdout(&out));
    let public = dir.path().join("w.key.pub");
    (dir, public)
}

/// A gate asking the witness at `witness_port` (refreshing every second),
/// with hello 1.0.0 released.
fn gate_with_witness(ci: &CiIssuer, witness_port: u16, vkey: &str) -> Gate {
    let port = free_port();
    let config = bound_config(&ci.url).replace(
        "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"",
        &format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
    ) + &format!(
        "\n[[witness]]\nname = \"{WITNESS}\"\nurl = \"http://127.0.0.1:{witness_port}\"\nkey = \"{vkey}\"\nrefresh_seconds = 1\n"
    );
    let gate = Gate::start(&config);
    let alice = enroll(&gate, "alice", "hello");
    let bob = enroll(&gate, "bob", "hello");
    std::fs::write(gate.path().join("hello.txt"), b"hello 1.0.0\n").unwrap();
    let id = stage(ci, &gate, "1.0.0");
    approve(&gate, id, &alice, 0);
    let out = approve(&gate, id, &bob, 0);
    assert_eq!(json(&out)["state"], "released");
    gate
}

/// The gate's checkpoint note: (size, whether the witness cosigned it).
fn checkpoint(gate: &Gate) -> (u64, bool, String) {
    let (status, note) = gate.get("/v1/log/checkpoint");
    assert_eq!(status, 200, "{note}");
    let size = note.lines().nth(1).unwrap().parse().unwrap();
    let cosigned = note.contains(&format!("\u{2014} {WITNESS} "));
    (size, cosigned, note)
}

/// Waits (at most a minute) until the gate serves a cosigned checkpoint of its current size.
fn wait_cosigned(gate: &Gate) -> u64 {
    let start = Instant::now();
    loop {
        let (size, cosigned, _) = checkpoint(gate);
        if cosigned {
            return size;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the witness never cosigned; gate log:\n{}",
            gate.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn log_key(gate: &Gate) -> String {
    let (status, key) = gate.get("/v1/log/key");
    assert_eq!(status, 200);
    key.trim().to_owned()
}

fn abs(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn cosigned_checkpoints_restart_outage_and_max_age() {
    let ci = CiIssuer::start();
    let (wdir, wpub) = witness_key();
    let vkey = std::fs::read_to_string(&wpub).unwrap().trim().to_owned();
    let wport = free_port();
    let gate = gate_with_witness(&ci, wport, &vkey);
    let witness = WitnessProcess::start(wdir.path(), wport, &log_key(&gate));
    let size = wait_cosigned(&gate);
    assert_eq!(size, checkpoint(&gate).0);

    // fetch and log verify require the cosignature; the report names it.
    let out = gate.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &gate.url,
            "hello",
            "1.0.0",
            "--out",
            "out",
            "--gate-key",
            "gate.pub",
            "--witness",
            abs(&wpub),
            "--witnesses-required",
            "1",
            "--max-age",
            "1h",
        ],
    );
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("1 valid cosignature(s), 1 required (witness.test/w1)"),
        "{}",
        stdout(&out)
    );
    let out = log_verify(&gate, &["--witness", abs(&wpub), "--json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["witnesses"]["cosigned_by"][0][0], WITNESS);
    // A client without --witness still reads the cosigned note.
    assert_exit(&log_verify(&gate, &["--checkpoint", "plain.note"]), 0);

    // A second witness that never cosigned: all given are required by default.
    let (_other_dir, other_pub) = {
        let dir = tempfile::tempdir().unwrap();
        let out = shipgate()
            .current_dir(dir.path())
            .args([
                "witness",
                "keygen",
                "--name",
                "other.test/w2",
                "--key",
                "o.key",
            ])
            .output()
            .unwrap();
        assert_exit(&out, 0);
        let public = dir.path().join("o.key.pub");
        (dir, public)
    };
    let out = log_verify(
        &gate,
        &["--witness", abs(&wpub), "--witness", abs(&other_pub)],
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("1 valid witness cosignature(s), 2 required"),
        "{err}"
    );
    assert!(err.contains("other.test/w2"), "{err}");
    assert_exit(
        &log_verify(
            &gate,
            &[
                "--witness",
                abs(&wpub),
                "--witness",
                abs(&other_pub),
                "--witnesses-required",
                "1",
            ],
        ),
        0,
    );
    // Usage errors: exit 2.
    assert_exit(&log_verify(&gate, &["--max-age", "1h"]), 2);
    assert_exit(
        &log_verify(&gate, &["--witness", abs(&wdir.path().join("w.key"))]),
        2,
    );
    assert_exit(
        &log_verify(
            &gate,
            &["--witness", abs(&wpub), "--witnesses-required", "2"],
        ),
        2,
    );

    // The witness restarts with its state: it still knows the size it cosigned.
    witness.stop();
    let witness = WitnessProcess::start(wdir.path(), wport, &log_key(&gate));
    let (_, note) = gate.get("/v1/log/checkpoint");
    let gate_note: String = note
        .split_inclusive('\n')
        .filter(|l| !l.contains(WITNESS))
        .collect();
    let body = format!("old 0\n\n{gate_note}");
    let request = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, answer) = raw_http(wport, request.as_bytes());
    assert_eq!(status, 409, "{answer}");
    assert!(answer.contains(&format!("{size}\n")), "{answer}");

    // Down: staging still works; the new checkpoint is served without a
    // cosignature, and a client requiring one refuses it.
    witness.stop();
    std::fs::write(gate.path().join("hello.txt"), b"hello 1.0.1\n").unwrap();
    stage(&ci, &gate, "1.0.1");
    let (grown, cosigned, _) = checkpoint(&gate);
    assert!(grown > size && !cosigned);
    let out = log_verify(&gate, &["--witness", abs(&wpub)]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("0 valid witness cosignature(s), 1 required"),
        "{}",
        stderr(&out)
    );

    // The gate notices the outage and keeps trying in the background (wait
    // for its attempt: on a busy machine it may come after the checks above).
    let start = Instant::now();
    while !gate.log().contains("witness did not cosign") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the gate never tried the stopped witness:\n{}",
            gate.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Up again: the gate catches up from the size the witness kept.
    let witness = WitnessProcess::start(wdir.path(), wport, &log_key(&gate));
    assert_eq!(wait_cosigned(&gate), grown);

    // The gate stops advancing (its witness is cut off, so its view can no
    // longer be freshly cosigned): the cosignature ages past --max-age.
    witness.stop();
    std::thread::sleep(Duration::from_millis(3100));
    let out = log_verify(&gate, &["--witness", abs(&wpub), "--max-age", "2s"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("more than --max-age 2s"), "{err}");
    assert!(err.contains("s old"), "{err}");
    assert_exit(
        &log_verify(&gate, &["--witness", abs(&wpub), "--max-age", "1h"]),
        0,
    );
}

#[test]
fn a_forked_gate_is_refused_by_the_witness_and_by_clients() {
    let ci = CiIssuer::start();
    let (wdir, wpub) = witness_key();
    let vkey = std::fs::read_to_string(&wpub).unwrap().trim().to_owned();
    let wport = free_port();
    let gate = gate_with_witness(&ci, wport, &vkey);
    let _witness = WitnessProcess::start(wdir.path(), wport, &log_key(&gate));
    let size = wait_cosigned(&gate);

    // The operator stops the gate, copies its whole directory, and starts
    // both: the honest gate A and the copy B (same key, same origin).
    let port_a = gate.port;
    let (_, dir_a) = gate.terminate();
    let dir_b = tempfile::tempdir().unwrap();
    copy_dir(dir_a.path(), dir_b.path());
    let port_b = free_port();
    let config_b = std::fs::read_to_string(dir_b.path().join("gate.toml"))
        .unwrap()
        .replacen(
            &format!("listen = \"127.0.0.1:{port_a}\""),
            &format!("listen = \"127.0.0.1:{port_b}\""),
            1,
        );
    std::fs::write(dir_b.path().join("gate.toml"), config_b).unwrap();
    std::fs::remove_file(dir_b.path().join("serve.stderr")).unwrap();
    let gate_a = Gate::start_in(dir_a);

    // Client A's log grows by one release; the witness cosigns it.
    std::fs::write(gate_a.path().join("hello.txt"), b"hello 1.0.1\n").unwrap();
    stage(&ci, &gate_a, "1.0.1");
    let grown = wait_cosigned(&gate_a);
    assert_eq!(grown, size + 1);

    // Client B is shown another history of the same size.
    let gate_b = Gate::start_in(dir_b);
    std::fs::write(gate_b.path().join("hello.txt"), b"evil 1.0.1\n").unwrap();
    stage(&ci, &gate_b, "1.0.1");
    let (size_b, _, note_b) = checkpoint(&gate_b);
    let (_, _, note_a) = checkpoint(&gate_a);
    assert_eq!(size_b, grown);
    assert_ne!(
        note_a.lines().nth(2),
        note_b.lines().nth(2),
        "the two roots differ"
    );
    // Both gates sign valid checkpoints: only the witness tells them apart.
    assert_exit(&log_verify(&gate_b, &["--checkpoint", "b.note"]), 0);

    // The witness refuses B's checkpoint: the gate logs why...
    let start = Instant::now();
    while !gate_b.log().contains("the witness refuses this checkpoint") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{}",
            gate_b.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, cosigned_b, _) = checkpoint(&gate_b);
    assert!(!cosigned_b);
    // ...and a client requiring the cosignature refuses B, accepts A.
    let out = log_verify(&gate_b, &["--witness", abs(&wpub)]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("0 valid witness cosignature(s), 1 required"),
        "{}",
        stderr(&out)
    );
    assert_exit(&log_verify(&gate_a, &["--witness", abs(&wpub)]), 0);
    // The witness's memory is A's history.
    let origin = note_a.lines().next().unwrap();
    let (status, kept) = raw_http(
        wport,
        format!("GET /checkpoint?origin={origin} HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 200, "{kept}");
    assert!(note_a.starts_with(kept.lines().take(3).collect::<Vec<_>>().join("\n").as_str()));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
            // The gate refuses a data directory others can read.
            std::fs::set_permissions(&target, entry.metadata().unwrap().permissions()).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The witness's HTTP API against hostile and wrong requests, with a log
/// played by the test itself (its own note key and Merkle tree).
#[test]
fn the_witness_api_answers_each_refusal_with_its_status() {
    use shipgate_log::{Checkpoint, MemoryTree, NoteSigner, leaf_hash};

    let (wdir, _) = witness_key();
    let log = NoteSigner::from_ed25519_seed("log.test", &[5; 32]).unwrap();
    let stranger = NoteSigner::from_ed25519_seed("log.test", &[6; 32]).unwrap();
    let port = free_port();
    let _witness = WitnessProcess::start(wdir.path(), port, &log.verifier().to_string());
    let mut tree = MemoryTree::new();
    for i in 0..5u8 {
        tree.append(leaf_hash(&[i])).unwrap();
    }
    let note = |signer: &NoteSigner, origin: &str, size: u64| {
        Checkpoint::new(origin, size, tree.root(size).unwrap())
            .sign(signer)
            .unwrap()
    };
    let post = |body: &[u8]| {
        let mut request = format!(
            "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        raw_http(port, &request)
    };
    let proof = |old: u64, new: u64| -> String {
        tree.consistency_proof(old, new)
            .unwrap()
            .iter()
            .map(|h| format!("{}\n", h.to_base64()))
            .collect()
    };
    let (status, answer) = post(format!("old 0\n\n{}", note(&log, "log.test", 3)).as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.starts_with(&format!("\u{2014} {WITNESS} ")),
        "{answer}"
    );
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"garbage".to_vec(), 400),
        (
            format!("old 0\n\n{}", note(&log, "log.test", 5)).into_bytes(),
            409,
        ),
        (
            format!("old 3\n\n{}", note(&stranger, "log.test", 5)).into_bytes(),
            403,
        ),
        (
            format!("old 0\n\n{}", note(&log, "other.test", 5)).into_bytes(),
            404,
        ),
        (
            format!("old 6\n\n{}", note(&log, "log.test", 5)).into_bytes(),
            400,
        ),
        (
            format!("old 3\n{}\n{}", proof(2, 5), note(&log, "log.test", 5)).into_bytes(),
            422,
        ),
        (vec![b'x'; 1 << 20], 413),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&body);
        assert_eq!(status, expected, "{answer}");
    }
    let (status, answer) =
        post(format!("old 3\n{}\n{}", proof(3, 5), note(&log, "log.test", 5)).as_bytes());
    assert_eq!(status, 200, "{answer}");
    let (status, key) = raw_http(
        port,
        b"GET /key HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(key.starts_with(&format!("{WITNESS}+")), "{key}");
}
