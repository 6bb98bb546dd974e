//! The gate's transparency log end to end: a real `shipgate serve`, the CLI
//! for every step, an independent auditor in Python, and a dishonest
//! operator who edits the database (rewrites a leaf, drops a leaf, forks the
//! history) and restarts the gate — `shipgate log verify` and `shipgate
//! fetch` must each catch it with exit 1.

use std::process::Output;

use serde_json::Value;
use shipgate_log::{Checkpoint, Frontier, Hash, NoteSigner, leaf_hash};
use shipgate_manifest::SecretKeyFile;

use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, error_code, json, totp};
use crate::util::{assert_exit, python_with, stderr, stdout};

/// A port that was free a moment ago, so the gate keeps its URL across
/// restarts (clients remember checkpoints per gate URL).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gate with `hello 1.0.0` released by alice and bob. Leaves: 0 and 1
/// the policies of `hello` (quorum 2) and `other`, 2 alice enrolled, 3 bob
/// enrolled, 4 staged, 5 approved (alice), 6 approved (bob), 7 released.
pub(crate) struct Released {
    pub ci: CiIssuer,
    pub gate: Gate,
    pub alice: (String, String),
}

pub(crate) fn released() -> Released {
    let ci = CiIssuer::start();
    let port = free_port();
    let config = bound_config(&ci.url).replace(
        "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"",
        &format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
    );
    assert!(config.contains(&port.to_string()));
    let gate = Gate::start(&config);
    let alice = enroll(&gate, "alice", "hello");
    let bob = enroll(&gate, "bob", "hello");
    std::fs::write(gate.path().join("hello.txt"), b"hello 1.0.0\n").unwrap();
    let id = stage(&ci, &gate, "1.0.0");
    assert_eq!(id, 1);
    approve(&gate, id, &alice, 0);
    let out = approve(&gate, id, &bob, 0);
    assert_eq!(json(&out)["state"], "released");
    Released { ci, gate, alice }
}

pub(crate) fn stage(ci: &CiIssuer, gate: &Gate, version: &str) -> i64 {
    let token = ci.github_token("shipgate-test", "acme/hello", "42", version, &[]);
    let out = gate.stage(&token, "hello", version, &["hello.txt", "--json"]);
    assert_exit(&out, 0);
    json(&out)["id"].as_i64().unwrap()
}

pub(crate) fn approve(gate: &Gate, id: i64, who: &(String, String), step: i64) -> Output {
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &who.0)],
        &[
            "approve",
            &id.to_string(),
            "--gate",
            &gate.url,
            "--code",
            &totp(&who.1, step),
            "--json",
        ],
    );
    assert_exit(&out, 0);
    out
}

/// `fetch --json` of hello 1.0.0 into `out_dir` with the pinned gate key.
fn fetch(gate: &Gate, out_dir: &str) -> Output {
    fetch_with(gate, out_dir, &["--json"])
}

/// `fetch` of hello 1.0.0 into `out_dir` with the pinned gate key and `extra`.
fn fetch_with(gate: &Gate, out_dir: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "fetch",
        "--gate",
        &gate.url,
        "hello",
        "1.0.0",
        "--out",
        out_dir,
        "--gate-key",
        "gate.pub",
    ];
    args.extend_from_slice(extra);
    gate.cli(&[], &args)
}

/// `log verify` against the saved `cp.note` fails (exit 1) and says `why`.
fn log_verify_catches(gate: &Gate, why: &str) -> Output {
    let out = log_verify(gate, &["--checkpoint", "cp.note"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains(why), "{why:?}: {}", stderr(&out));
    out
}

pub(crate) fn log_verify(gate: &Gate, extra: &[&str]) -> Output {
    let mut args = vec![
        "log",
        "verify",
        "--gate",
        &gate.url,
        "--gate-key",
        "gate.pub",
    ];
    args.extend_from_slice(extra);
    gate.cli(&[], &args)
}

/// Stops the gate, lets `edit` change the stored leaves (seq, data) as a
/// dishonest operator would, recomputes everything the gate stores about
/// them (leaf hashes, frontier, root) and forgets the signed checkpoints so
/// the gate signs the new history, then starts the gate again on its port.
pub(crate) fn rewrite_history(gate: Gate, edit: impl FnOnce(&mut Vec<(i64, Vec<u8>)>)) -> Gate {
    let (status, dir) = gate.terminate();
    assert!(status.success());
    let db = dir.path().join("data/gate.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Row;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let rows = sqlx::query("SELECT seq, data FROM log_leaves ORDER BY idx")
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut leaves: Vec<(i64, Vec<u8>)> =
            rows.iter().map(|r| (r.get("seq"), r.get("data"))).collect();
        edit(&mut leaves);
        let mut tx = pool.begin().await.unwrap();
        for sql in ["DELETE FROM log_leaves", "DELETE FROM log_checkpoints"] {
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
        }
        let mut frontier = Frontier::new();
        for (index, (seq, data)) in leaves.iter().enumerate() {
            let hash = leaf_hash(data);
            frontier.append(hash).unwrap();
            sqlx::query("INSERT INTO log_leaves (idx, seq, data, hash) VALUES (?, ?, ?, ?)")
                .bind(index as i64)
                .bind(seq)
                .bind(data)
                .bind(hash.as_bytes().as_slice())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        let blob: Vec<u8> = frontier.hashes().iter().flat_map(|h| h.0).collect();
        sqlx::query("UPDATE log_state SET size = ?, frontier = ?, root = ? WHERE id = 1")
            .bind(frontier.size() as i64)
            .bind(blob)
            .bind(frontier.root().as_bytes().as_slice())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        pool.close().await;
    });
    Gate::start_in(dir)
}

pub(crate) fn get_json(gate: &Gate, path: &str) -> Value {
    let (status, body) = gate.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn fetch_proves_inclusion_and_log_verify_follows_the_growing_log() {
    let Released { ci, gate, alice } = released();
    let dir = gate.path().to_owned();

    // fetch checks the `released` leaf against what it verified itself.
    let out = fetch(&gate, "got");
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["log"]["index"], 7);
    assert_eq!(report["log"]["checkpoint_size"], 8);
    assert_eq!(report["log"]["previous_checkpoint_size"], Value::Null);
    let remembered = dir.join("user-config/log_checkpoints.toml");
    assert!(remembered.is_file());
    // The human report says it too; the second fetch checks consistency
    // with the checkpoint the first one remembered.
    let out = fetch_with(&gate, "got2", &[]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("released event #7 included in")
            && stdout(&out).contains("consistent with the checkpoint of size 8"),
        "{}",
        stdout(&out)
    );

    // The release routes expose the index; the key is published twice.
    assert_eq!(get_json(&gate, "/v1/releases/1")["log_index"], 7);
    let entry = get_json(&gate, "/v1/packages/hello/versions/1.0.0/release");
    assert_eq!(entry["log_index"], 7);
    assert_eq!(entry["manifest_sha256"], report["manifest_sha256"]);
    let info = get_json(&gate, "/v1/info");
    let (status, key) = gate.get("/v1/log/key");
    assert_eq!(status, 200);
    assert_eq!(key.trim(), info["log_key"].as_str().unwrap());
    let origin = format!("127.0.0.1:{}", gate.port);
    assert_eq!(info["log_origin"], origin.as_str());
    assert!(key.starts_with(&format!("{origin}+")), "{key}");

    // First look with a checkpoint file, then more events (a rejection by
    // a maintainer, admin actions from another process), then a check that
    // the log only grew, with a full re-hash of every entry.
    let out = log_verify(&gate, &["--checkpoint", "cp.note"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("first look"), "{}", stdout(&out));
    let saved = std::fs::read_to_string(dir.join("cp.note")).unwrap();
    assert!(saved.starts_with(&format!("{origin}\n8\n")), "{saved}");
    let id = stage(&ci, &gate, "2.0.0");
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice.0)],
        &[
            "reject",
            &id.to_string(),
            "--gate",
            &gate.url,
            "--reason",
            "wrong build\nsee the ticket",
            "--code",
            &totp(&alice.1, 1),
        ],
    );
    assert_exit(&out, 0);
    assert_exit(&gate.admin(&["unlock", "alice"]), 0);
    assert_exit(&gate.admin(&["revoke", "alice"]), 0);
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--entries", "--json"]);
    assert_exit(&out, 0);
    let verified = json(&out);
    assert_eq!(verified["previous_size"], 8);
    assert_eq!(verified["size"], 12);
    assert_eq!(verified["consistent"], true);
    assert_eq!(verified["entries"]["entries"], 12);
    assert_eq!(verified["entries"]["kinds"]["approved"], 2);
    assert_eq!(verified["entries"]["kinds"]["maintainer_revoked"], 1);
    assert_eq!(verified["entries"]["kinds"]["package_policy"], 2);
    // The honest history means what it says, all of it checked.
    assert_eq!(verified["entries"]["violations"], serde_json::json!([]));
    assert_eq!(verified["entries"]["unchecked"], serde_json::json!([]));
    let saved = std::fs::read_to_string(dir.join("cp.note")).unwrap();
    assert!(saved.starts_with(&format!("{origin}\n12\n")), "{saved}");
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--entries"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("meaning     every event replayed")
            && !stdout(&out).contains("unchecked"),
        "{}",
        stdout(&out)
    );
    // Without --checkpoint: the checkpoint fetch remembered for this gate.
    let out = log_verify(&gate, &[]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("extends the saved checkpoint of size 8"),
        "{}",
        stdout(&out)
    );
    let out = log_verify(&gate, &[]);
    assert!(stdout(&out).contains("nothing new"), "{}", stdout(&out));

    // log show: readable, and text from the gate is printed escaped.
    let out = gate.cli(&[], &["log", "show", "--gate", &gate.url]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for expected in [
        "maintainer_enrolled",
        "alice for hello",
        "released",
        "approved by alice, bob",
        "rejected",
        "maintainer_revoked",
        "hello: quorum 2 of alice, bob, erin, frank",
        "events 0..=11 of 12",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    assert!(
        text.contains("reason: wrong build\\nsee the ticket"),
        "{text}"
    );
    let out = gate.cli(
        &[],
        &[
            "log", "show", "--gate", &gate.url, "--from", "7", "--limit", "2", "--json",
        ],
    );
    assert_exit(&out, 0);
    let shown = json(&out);
    assert_eq!(shown["entries"].as_array().unwrap().len(), 2);
    assert_eq!(shown["entries"][0]["index"], 7);
    assert_eq!(shown["entries"][0]["event"]["kind"], "released");
    assert_eq!(shown["entries"][0]["event"]["format"], "shipgate.event.v1");
    assert_eq!(
        shown["entries"][0]["event"]["detail"]["manifest_sha256"],
        report["manifest_sha256"]
    );
    assert_eq!(shown["entries"][1]["event"]["kind"], "staged");
    let out = gate.cli(&[], &["log", "show", "--gate", &gate.url, "--from", "99"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("no events from index 99"),
        "{}",
        stdout(&out)
    );

    // An independent auditor (Python + cryptography) agrees on everything.
    let python = python_with(&["cryptography"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/log_audit.py");
    let out = std::process::Command::new(python)
        .args([script, &gate.url])
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{summary}");
    assert_eq!(summary["size"], 12);
    assert_eq!(summary["inclusion_checked"], 12);
    assert_eq!(summary["consistency_checked"], 11);
}

#[test]
fn log_routes_refuse_bad_ranges_with_the_usual_error_shape() {
    let Released { gate, .. } = released();
    for path in [
        "/v1/log/entries",
        "/v1/log/entries?start=2",
        "/v1/log/entries?start=3&end=3",
        "/v1/log/entries?start=4&end=2",
        "/v1/log/entries?start=0&end=9",
        "/v1/log/entries?start=-1&end=2",
        "/v1/log/entries?start=0&end=2&extra=1",
        "/v1/log/entries?start=x&end=2",
        "/v1/log/entries?start=0&end=99999999999999999999999",
        "/v1/log/proof/inclusion?index=8&size=8",
        "/v1/log/proof/inclusion?index=0&size=9",
        "/v1/log/proof/inclusion?index=0",
        "/v1/log/proof/consistency?from=5&to=2",
        "/v1/log/proof/consistency?from=1&to=9",
        "/v1/log/proof/consistency?to=3",
        "/v1/packages/..%2Fx/versions/1.0.0/release",
    ] {
        let (status, body) = gate.get(path);
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(&body), "bad_request", "{path}");
    }
    let (status, body) = gate.get("/v1/packages/hello/versions/9.9.9/release");
    assert_eq!(status, 404, "{body}");
    assert_eq!(error_code(&body), "not_found");
    // Good requests, and the page cap.
    let page = get_json(&gate, "/v1/log/entries?start=1&end=6");
    assert_eq!(page["entries"].as_array().unwrap().len(), 5);
    assert_eq!(page["entries"][0]["index"], 1);
    let proof = get_json(&gate, "/v1/log/proof/inclusion?index=7&size=8");
    assert_eq!(proof["proof"].as_array().unwrap().len(), 3);
    let proof = get_json(&gate, "/v1/log/proof/consistency?from=0&to=8");
    assert_eq!(proof["proof"], serde_json::json!([]));
    let (status, note) = gate.get("/v1/log/checkpoint");
    assert_eq!(status, 200);
    assert!(note.contains("\n8\n"), "{note}");
    let openapi = get_json(&gate, "/v1/openapi.json");
    assert!(openapi["paths"]["/v1/log/proof/consistency"]["get"].is_object());
}

#[test]
fn a_rewritten_history_is_caught_by_log_verify_and_fetch() {
    let Released { gate, .. } = released();
    assert_exit(&fetch(&gate, "before"), 0);
    assert_exit(&log_verify(&gate, &["--checkpoint", "cp.note"]), 0);

    // The operator makes leaf 5 say that "mallory" approved, and recomputes
    // everything: the new log is internally consistent...
    let gate = rewrite_history(gate, |leaves| {
        let text = String::from_utf8(leaves[5].1.clone()).unwrap();
        assert!(text.contains("\"actor\":\"alice\""), "{text}");
        leaves[5].1 = text
            .replace("\"actor\":\"alice\"", "\"actor\":\"mallory\"")
            .replace("\"maintainer\":\"alice\"", "\"maintainer\":\"mallory\"")
            .into_bytes();
    });
    let out = log_verify(&gate, &["--checkpoint", "fresh.note"]);
    assert_exit(&out, 0);
    // ...though it no longer means anything a gate could have done...
    let out = log_verify(&gate, &["--checkpoint", "fresh.note", "--entries"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(
            "log leaf 5 approves hello 1.0.0 (release 1), but mallory is not an enrolled maintainer"
        ),
        "{}",
        stderr(&out)
    );
    // ...and not consistent with what clients saw before.
    let out = log_verify_catches(&gate, "NOT consistent");
    assert!(
        stderr(&out).contains("hint: the gate rewrote"),
        "{}",
        stderr(&out)
    );
    // The saved checkpoint is kept as evidence, not overwritten.
    let saved = std::fs::read_to_string(gate.path().join("cp.note")).unwrap();
    assert!(saved.contains("\n8\n"));
    let out = log_verify(&gate, &[]);
    assert_exit(&out, 1);
    let out = fetch(&gate, "after");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("NOT consistent"), "{}", stderr(&out));
    assert!(!gate.path().join("after/hello.txt").exists());
}

#[test]
fn a_dropped_leaf_is_caught_shrunk_and_regrown() {
    let Released { ci, gate, .. } = released();
    assert_exit(&log_verify(&gate, &["--checkpoint", "cp.note"]), 0);
    assert_exit(&fetch(&gate, "before"), 0);
    // Bob's approval disappears from the log.
    let gate = rewrite_history(gate, |leaves| {
        let dropped = leaves.remove(6);
        assert!(String::from_utf8_lossy(&dropped.1).contains("\"actor\":\"bob\""));
    });
    log_verify_catches(&gate, "shrank from 8 to 7");
    // The fetch sees the rollback too.
    let out = fetch(&gate, "after");
    assert_exit(&out, 1);
    // More events make the log larger again; the proof still cannot be made.
    stage(&ci, &gate, "3.0.0");
    assert_exit(&gate.admin(&["unlock", "alice"]), 0);
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--json"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("does not extend the saved one"),
        "{}",
        stderr(&out)
    );
    assert_exit(&fetch(&gate, "after2"), 1);
}

#[test]
fn a_forked_checkpoint_is_caught() {
    let Released { gate, .. } = released();
    assert_exit(&log_verify(&gate, &["--checkpoint", "cp.note"]), 0);
    assert_exit(&fetch(&gate, "before"), 0);
    let saved = std::fs::read_to_string(gate.path().join("cp.note")).unwrap();

    // A note for the same size with another root, signed with the real gate
    // key (a gate showing two histories to two clients).
    let secret = SecretKeyFile::from_file(&gate.path().join("gate.key"))
        .unwrap()
        .unlock(None)
        .unwrap();
    let origin = saved.lines().next().unwrap().to_owned();
    let signer = NoteSigner::from_ed25519_seed(&origin, &secret.ed25519_seed()).unwrap();
    let forged = Checkpoint::new(origin.as_str(), 8, Hash([9; 32]))
        .sign(&signer)
        .unwrap();
    std::fs::write(gate.path().join("fork.note"), &forged).unwrap();
    let out = log_verify(&gate, &["--checkpoint", "fork.note"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("forked history"), "{}", stderr(&out));
    // The fork file is evidence: it was not overwritten.
    assert_eq!(
        std::fs::read_to_string(gate.path().join("fork.note")).unwrap(),
        forged
    );

    // The gate itself forks: same size, another leaf, freshly signed.
    let gate = rewrite_history(gate, |leaves| {
        let text = String::from_utf8(leaves[0].1.clone()).unwrap();
        leaves[0].1 = text.replace("\"time\":", "\"time\":1").into_bytes();
    });
    let (_, note) = gate.get("/v1/log/checkpoint");
    assert!(note.starts_with(&format!("{origin}\n8\n")), "{note}");
    assert_ne!(note, saved);
    log_verify_catches(&gate, "two different root hashes for size 8");
    let out = fetch(&gate, "after");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("forked"), "{}", stderr(&out));

    // Saved checkpoints that are not the gate's: another key's is a failed
    // check (1); garbage is an input error (2).
    assert_exit(
        &crate::util::run_in(
            gate.path(),
            &["keygen", "-s", "other.key", "-p", "other.pub"],
        ),
        0,
    );
    let other = SecretKeyFile::from_file(&gate.path().join("other.key"))
        .unwrap()
        .unlock(None)
        .unwrap();
    let other = NoteSigner::from_ed25519_seed(&origin, &other.ed25519_seed()).unwrap();
    let foreign = Checkpoint::new(origin.as_str(), 8, Hash([9; 32]))
        .sign(&other)
        .unwrap();
    std::fs::write(gate.path().join("foreign.note"), foreign).unwrap();
    let out = log_verify(&gate, &["--checkpoint", "foreign.note"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("not signed by this gate's key"),
        "{}",
        stderr(&out)
    );
    std::fs::write(gate.path().join("garbage.note"), "not a note\n").unwrap();
    let out = log_verify(&gate, &["--checkpoint", "garbage.note"]);
    assert_exit(&out, 2);
    // A checkpoint of the gate signed by another key than the pinned one.
    let out = gate.cli(
        &[],
        &[
            "log",
            "verify",
            "--gate",
            &gate.url,
            "--gate-key",
            "other.pub",
            "--checkpoint",
            "x.note",
        ],
    );
    assert_exit(&out, 1);
    assert!(!gate.path().join("x.note").exists());
    // Unreachable gate and bad usage: 2.
    let out = gate.cli(
        &[],
        &[
            "log",
            "verify",
            "--gate",
            "http://127.0.0.1:1",
            "--gate-key",
            "gate.pub",
        ],
    );
    assert_exit(&out, 2);
}

/// A gate that logs something else than what it released: the released
/// leaf claims another manifest digest. A client that never saw this gate
/// (nothing to compare with) still refuses, because it re-derives the leaf
/// from what it verified instead of trusting the bytes.
#[test]
fn a_released_leaf_that_lies_about_the_release_is_refused() {
    let Released { gate, .. } = released();
    let gate = rewrite_history(gate, |leaves| {
        let text = String::from_utf8(leaves[7].1.clone()).unwrap();
        let digest = text
            .split("\"manifest_sha256\":\"")
            .nth(1)
            .unwrap()
            .get(..64)
            .unwrap()
            .to_owned();
        leaves[7].1 = text.replace(&digest, &"0".repeat(64)).into_bytes();
    });
    let out = gate.cli(
        &[("SHIPGATE_CONFIG_DIR", "fresh-user")],
        &[
            "fetch",
            "--gate",
            &gate.url,
            "hello",
            "1.0.0",
            "--out",
            "got",
            "--gate-key",
            "gate.pub",
        ],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("log leaf 7 records manifest_sha256"),
        "{}",
        stderr(&out)
    );
    assert!(!gate.path().join("got/hello.txt").exists());
    assert!(!gate.path().join("fresh-user/log_checkpoints.toml").exists());
}

/// Leaves the gate stores in a non-canonical form (whitespace added, the
/// stored hash recomputed so the tree is coherent) fail the full audit and
/// the listing: one event has exactly one leaf.
#[test]
fn non_canonical_leaves_fail_the_full_audit() {
    let Released { gate, .. } = released();
    let gate = rewrite_history(gate, |leaves| {
        let text = String::from_utf8(leaves[2].1.clone()).unwrap();
        leaves[2].1 = text.replacen(",", ", ", 1).into_bytes();
    });
    // The checkpoint alone is fine (a first look has nothing to compare)...
    assert_exit(&log_verify(&gate, &["--checkpoint", "a.note"]), 0);
    // ...the full audit is not.
    let out = log_verify(&gate, &["--checkpoint", "b.note", "--entries"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("log leaf 2 is malformed: the leaf is not in canonical form"),
        "{}",
        stderr(&out)
    );
    assert!(
        !gate.path().join("b.note").exists(),
        "nothing saved on failure"
    );
    let out = gate.cli(&[], &["log", "show", "--gate", &gate.url]);
    assert_exit(&out, 1);
}
