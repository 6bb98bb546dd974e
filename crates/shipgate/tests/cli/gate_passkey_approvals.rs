//! Passkey approvals checked from the log alone: a real gate, whose log is
//! given the leaves a passkey-enabled gate writes (enrolments, a passkey
//! policy, approvals holding WebAuthn assertions signed by a software
//! authenticator) the way a dishonest operator would edit it — stop, edit
//! the database, restart. `shipgate log verify --entries` and `shipgate
//! fetch --require-passkey-approvals` must accept the honest log and name
//! the leaf of every forged, moved or replayed approval; the Python example
//! in `docs/examples` must agree.

use std::path::Path;

use serde_json::{Value, json};
use shipgate_protocol::leaf::LogEvent;
use shipgate_protocol::manifest::{release_manifest, sha256_hex};
use shipgate_protocol::passkey::{Decision, DecisionCommitment};
use shipgate_protocol::passkey_verify::Algorithm;
use shipgate_protocol::passkey_verify::software_authenticator::{SoftwareAuthenticator, nonce};
use shipgate_protocol::release::ReleaseFile;

use crate::gate_log::{Released, approve, log_verify, released, rewrite_history, stage};
use crate::gate_log_meaning::tamper;
use crate::gate_util::{Gate, enroll, json};
use crate::util::{assert_exit, python_with, stderr, stdout};

/// An `events` row about no release.
fn event_row(kind: &str, actor: &str, detail: &Value) -> String {
    format!(
        "INSERT INTO events (at, kind, release_id, actor, detail) VALUES (1800000000, '{kind}', NULL, '{actor}', '{detail}')"
    )
}

/// Every leaf (index order).
fn leaves(gate: &Gate) -> Vec<LogEvent> {
    let out = gate.cli(
        &[],
        &[
            "log", "show", "--gate", &gate.url, "--limit", "1000", "--json",
        ],
    );
    assert_exit(&out, 0);
    json(&out)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut event = e["event"].clone();
            let object = event.as_object_mut().unwrap();
            LogEvent {
                seq: object["seq"].as_i64().unwrap(),
                time: object["time"].as_i64().unwrap(),
                kind: object["kind"].as_str().unwrap().into(),
                actor: object["actor"].as_str().unwrap().into(),
                release_id: object["release_id"].as_i64(),
                package: object["package"].as_str().map(str::to_owned),
                version: object["version"].as_str().map(str::to_owned),
                detail: object["detail"].as_object().unwrap().clone(),
            }
        })
        .collect()
}

fn index_of(events: &[LogEvent], kind: &str, release: Option<i64>, actor: Option<&str>) -> usize {
    events
        .iter()
        .position(|e| {
            e.kind == kind && e.release_id == release && actor.is_none_or(|a| e.actor == a)
        })
        .unwrap_or_else(|| panic!("no {kind} leaf for {release:?} by {actor:?}"))
}

/// A gate whose log holds (in this order) hello 1.0.0 approved with TOTP
/// under a policy that allows it; erin enrolled; passkey credentials for
/// alice (ES256, counting) and erin (Ed25519); a passkey-only policy for
/// hello; hello 2.0.0 approved by alice and erin with passkeys and
/// released; hello 3.0.0 staged.
struct PasskeyGate {
    gate: Gate,
    alice: SoftwareAuthenticator,
    erin: SoftwareAuthenticator,
    /// The honest leaves, as (seq, bytes).
    honest: Vec<(i64, Vec<u8>)>,
}

fn passkey_gate() -> PasskeyGate {
    let Released { ci, gate, alice } = released();
    let erin = enroll(&gate, "erin", "hello");
    let rp_id = "127.0.0.1";
    let mut alice_key = SoftwareAuthenticator::new(Algorithm::Es256, "alice", rp_id);
    alice_key.counting = true;
    let erin_key = SoftwareAuthenticator::new(Algorithm::EdDsa, "erin", rp_id);
    // The policy as the gate logs it, plus what a passkey-only package adds.
    let policy = leaves(&gate)[0].detail.clone();
    assert_eq!(policy["package"], "hello");
    let mut passkey_policy = policy.clone();
    passkey_policy.insert("approval".into(), json!("passkey"));
    let gate = tamper(
        gate,
        &[
            event_row(
                "passkey_enrolled",
                "alice",
                &json!({"maintainer": "alice", "passkey": alice_key.enrolment()}),
            ),
            event_row(
                "passkey_enrolled",
                "erin",
                &json!({"maintainer": "erin", "passkey": erin_key.enrolment()}),
            ),
            event_row("package_policy", "gate", &Value::Object(passkey_policy)),
        ],
    );
    assert_eq!(stage(&ci, &gate, "2.0.0"), 2);
    approve(&gate, 2, &alice, 1);
    let out = approve(&gate, 2, &erin, 0);
    assert_eq!(json(&out)["state"], "released");
    assert_eq!(stage(&ci, &gate, "3.0.0"), 3);

    // What the gate will write: the passkey policy (the gate logged the
    // policy again on restart, without `approval`, as this gate does not
    // know it yet) and the two approvals as passkey decisions.
    let events = leaves(&gate);
    let staged = &events[index_of(&events, "staged", Some(2), None)];
    let files: Vec<ReleaseFile> = serde_json::from_value(staged.detail["files"].clone()).unwrap();
    let digest = sha256_hex(
        &release_manifest("hello", "2.0.0", &files)
            .unwrap()
            .to_bytes(),
    );
    let released_leaf = &events[index_of(&events, "released", Some(2), None)];
    assert_eq!(
        released_leaf.detail_str("manifest_sha256"),
        Some(digest.as_str()),
        "the digest recomputed from the staged leaf is the one the gate signed"
    );
    let mut keys = [alice_key, erin_key];
    let origin = gate.url.clone();
    let mut rewritten = Vec::new();
    for (index, mut event) in events.into_iter().enumerate() {
        if event.kind == "package_policy" && index > 7 && event.detail["package"] == "hello" {
            event.detail.insert("approval".into(), json!("passkey"));
        }
        if event.kind == "approved" && event.release_id == Some(2) {
            let key = if event.actor == "alice" {
                &mut keys[0]
            } else {
                &mut keys[1]
            };
            let nonce = nonce(&format!("{} 2", event.actor));
            let passkey = key.decide(&DecisionCommitment {
                origin: &origin,
                release_id: 2,
                package: "hello",
                version: "2.0.0",
                manifest_sha256: &digest,
                decision: Decision::Approve,
                nonce: &nonce,
            });
            event.detail.insert("approval".into(), json!("passkey"));
            event.detail.insert("passkey".into(), passkey);
        }
        rewritten.push((event.seq, event.to_leaf().unwrap()));
    }
    let honest = rewritten.clone();
    let gate = rewrite_history(gate, move |leaves| *leaves = rewritten);
    let [alice, erin] = keys;
    PasskeyGate {
        gate,
        alice,
        erin,
        honest,
    }
}

impl PasskeyGate {
    /// `extra` events written into the database; the gate appends them to
    /// its log when it starts again.
    fn with_extra(self, extra: Vec<LogEvent>) -> PasskeyGate {
        let rows: Vec<String> = extra
            .iter()
            .map(|e| {
                format!(
                    "INSERT INTO events (at, kind, release_id, actor, detail) VALUES (1800000000, '{}', {}, '{}', '{}')",
                    e.kind,
                    e.release_id.map_or("NULL".to_owned(), |id| id.to_string()),
                    e.actor,
                    Value::Object(e.detail.clone())
                )
            })
            .collect();
        let gate = tamper(self.gate, &rows);
        PasskeyGate { gate, ..self }
    }

    /// An `approved` leaf for hello 3.0.0 (release 3) by `who` with
    /// `detail`.
    fn approval(&self, who: &str, detail: Value) -> LogEvent {
        let mut detail = detail.as_object().unwrap().clone();
        detail.insert("maintainer".into(), json!(who));
        LogEvent {
            seq: 0,
            time: 1800000000,
            kind: "approved".into(),
            actor: who.into(),
            release_id: Some(3),
            package: Some("hello".into()),
            version: Some("3.0.0".into()),
            detail,
        }
    }

    /// A passkey decision object for release 3 over its staged files.
    fn decide(&mut self, who: &str, nonce: &str) -> Value {
        let events = leaves(&self.gate);
        let staged = &events[index_of(&events, "staged", Some(3), None)];
        let files: Vec<ReleaseFile> =
            serde_json::from_value(staged.detail["files"].clone()).unwrap();
        let digest = sha256_hex(
            &release_manifest("hello", "3.0.0", &files)
                .unwrap()
                .to_bytes(),
        );
        let commitment = DecisionCommitment {
            origin: &self.gate.url,
            release_id: 3,
            package: "hello",
            version: "3.0.0",
            manifest_sha256: &digest,
            decision: Decision::Approve,
            nonce,
        };
        let key = if who == "alice" {
            &mut self.alice
        } else {
            &mut self.erin
        };
        key.decide(&commitment)
    }

    /// `log verify --entries --json` fails with exactly one violation: its
    /// (index, rule, message).
    fn one_violation(&self) -> (u64, String, String) {
        let mut violations = self.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        violations.remove(0)
    }

    /// `log verify --entries --json` fails: the (index, rule, message) of
    /// each violation, each also on stderr.
    fn violations(&self) -> Vec<(u64, String, String)> {
        let out = log_verify(
            &self.gate,
            &["--checkpoint", "bad.note", "--entries", "--json"],
        );
        assert_exit(&out, 1);
        let report = json(&out);
        report["entries"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                assert!(stderr(&out).contains(&format!("error: log leaf {}", v["index"])));
                (
                    v["index"].as_u64().unwrap(),
                    v["rule"].as_str().unwrap().into(),
                    v["message"].as_str().unwrap().into(),
                )
            })
            .collect()
    }

    fn last_index(&self) -> u64 {
        self.honest.len() as u64
    }
}

fn fetch(gate: &Gate, version: &str, out_dir: &str) -> std::process::Output {
    gate.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &gate.url,
            "hello",
            version,
            "--out",
            out_dir,
            "--gate-key",
            "gate.pub",
            "--require-passkey-approvals",
            "--json",
        ],
    )
}

#[test]
fn an_honest_passkey_log_verifies_and_fetch_reports_its_approvals() {
    let PasskeyGate {
        gate, alice, erin, ..
    } = passkey_gate();
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--entries", "--json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["entries"]["violations"], json!([]));
    let releases = report["entries"]["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 2);
    let kinds = |r: &Value| -> Vec<(String, String)> {
        r["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["maintainer"].as_str().unwrap().into(),
                    a["approval"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        kinds(&releases[0]),
        [
            ("alice".into(), "totp".into()),
            ("bob".into(), "totp".into())
        ]
    );
    assert_eq!(releases[0]["passkey_required"], false);
    assert_eq!(
        kinds(&releases[1]),
        [
            ("alice".into(), "passkey".into()),
            ("erin".into(), "passkey".into())
        ]
    );
    assert_eq!(releases[1]["passkey_required"], true);
    assert_eq!(
        releases[1]["approvals"][0]["credential_id"],
        alice.credential_id_b64()
    );
    let text = log_verify(&gate, &["--checkpoint", "cp2.note", "--entries"]);
    assert_exit(&text, 0);
    assert!(
        stdout(&text).contains("approvals   2 releases: 1 approved by passkeys only"),
        "{}",
        stdout(&text)
    );

    // fetch: the passkey release passes and lists its approvals ...
    let out = fetch(&gate, "2.0.0", "two");
    assert_exit(&out, 0);
    let report = json(&out);
    let approvals = &report["approvals"];
    assert_eq!(approvals["quorum"], 2);
    assert_eq!(approvals["approvals"][1]["maintainer"], "erin");
    assert_eq!(approvals["approvals"][1]["approval"], "passkey");
    assert_eq!(
        approvals["approvals"][1]["credential_id"],
        erin.credential_id_b64()
    );
    assert!(gate.path().join("two/hello.txt").exists());
    // ... the TOTP release is refused, and nothing is written.
    let out = fetch(&gate, "1.0.0", "one");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(
            "hello 1.0.0 has 0 verified passkey approval(s), but its quorum is 2 (approvals: alice by TOTP, bob by TOTP)"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!gate.path().join("one").exists());

    // The documented Python check agrees, leaf by leaf.
    let events = leaves(&gate);
    let write = |name: &str, index: usize| {
        let path = gate.path().join(name);
        std::fs::write(&path, events[index].to_leaf().unwrap()).unwrap();
        path
    };
    let enrolled = write(
        "enrolled.json",
        index_of(&events, "passkey_enrolled", None, Some("erin")),
    );
    let approved = write(
        "approved.json",
        index_of(&events, "approved", Some(2), Some("erin")),
    );
    let released = write(
        "released.json",
        index_of(&events, "released", Some(2), None),
    );
    let out = run_example(&[&enrolled, &approved, &released]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("ok: erin approved hello 2.0.0 (release 2) over manifest"),
        "{}",
        stdout(&out)
    );
    // And refuses alice's credential for erin's approval, and the approval
    // presented as release 1's.
    let alices = write(
        "alice.json",
        index_of(&events, "passkey_enrolled", None, Some("alice")),
    );
    let out = run_example(&[&alices, &approved]);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("FAIL: the credential belongs to another maintainer"));
    let mut moved = events[index_of(&events, "approved", Some(2), Some("erin"))].clone();
    moved.release_id = Some(1);
    let moved_path = gate.path().join("moved.json");
    std::fs::write(&moved_path, moved.to_leaf().unwrap()).unwrap();
    let out = run_example(&[&enrolled, &moved_path]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("FAIL: the signed challenge is not this decision's commitment"),
        "{}",
        stdout(&out)
    );
}

fn run_example(files: &[&Path]) -> std::process::Output {
    let python = python_with(&["cryptography"]);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/check_passkey_approval.py");
    std::process::Command::new(python)
        .arg(script)
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn an_assertion_moved_to_another_release_is_refused() {
    let gate = passkey_gate();
    let events = leaves(&gate.gate);
    let alices = events[index_of(&events, "approved", Some(2), Some("alice"))]
        .detail
        .clone();
    let moved = gate.approval("alice", Value::Object(alices));
    let gate = gate.with_extra(vec![moved]);
    let (index, rule, message) = gate.one_violation();
    assert_eq!((index, rule.as_str()), (gate.last_index(), "passkey"));
    assert!(
        message.starts_with("approves hello 3.0.0 (release 3) with a passkey decision that does not stand: passkey.client_data_json's challenge is not the one this decision commits to"),
        "{message}"
    );
}

#[test]
fn a_totp_approval_for_a_passkey_only_package_is_refused() {
    let gate = passkey_gate();
    let totp = gate.approval("erin", json!({"approval": "totp"}));
    // What the gate logs today for a TOTP approval (no `approval` key) is
    // TOTP too.
    let gate = gate.with_extra(vec![totp, gate_approval_without_kind()]);
    let violations = gate.violations();
    let rules: Vec<(u64, &str)> = violations.iter().map(|v| (v.0, v.1.as_str())).collect();
    let first = gate.last_index();
    assert_eq!(
        rules,
        [(first, "approval_kind"), (first + 1, "approval_kind")]
    );
    assert!(
        violations[0]
            .2
            .contains("approves hello 3.0.0 (release 3) with TOTP, but its policy (leaf"),
        "{violations:?}"
    );
}

fn gate_approval_without_kind() -> LogEvent {
    LogEvent {
        seq: 0,
        time: 1800000000,
        kind: "approved".into(),
        actor: "alice".into(),
        release_id: Some(3),
        package: Some("hello".into()),
        version: Some("3.0.0".into()),
        detail: json!({"maintainer": "alice"}).as_object().unwrap().clone(),
    }
}

#[test]
fn an_approval_by_a_revoked_credential_is_refused() {
    let mut gate = passkey_gate();
    let revoked = LogEvent {
        seq: 0,
        time: 1800000000,
        kind: "passkey_revoked".into(),
        actor: "admin".into(),
        release_id: None,
        package: None,
        version: None,
        detail: json!({"maintainer": "erin", "credential_id": gate.erin.credential_id_b64()})
            .as_object()
            .unwrap()
            .clone(),
    };
    let passkey = gate.decide("erin", &nonce("erin 3"));
    let approval = gate.approval("erin", json!({"approval": "passkey", "passkey": passkey}));
    let gate = gate.with_extra(vec![revoked, approval]);
    let (index, rule, message) = gate.one_violation();
    assert_eq!((index, rule.as_str()), (gate.last_index() + 1, "passkey"));
    assert!(
        message.contains(&format!("which was revoked at leaf {}", gate.last_index())),
        "{message}"
    );
}

#[test]
fn a_replayed_nonce_is_refused() {
    let mut gate = passkey_gate();
    // A fresh, valid signature over release 3, with release 2's nonce.
    let passkey = gate.decide("erin", &nonce("erin 2"));
    let approval = gate.approval("erin", json!({"approval": "passkey", "passkey": passkey}));
    let gate = gate.with_extra(vec![approval]);
    let (index, rule, message) = gate.one_violation();
    assert_eq!((index, rule.as_str()), (gate.last_index(), "replayed"));
    assert!(message.contains("again (first used at leaf"), "{message}");
}

#[test]
fn a_signature_counter_that_does_not_grow_is_refused() {
    let mut gate = passkey_gate();
    // Alice's authenticator said 1 for release 2; a clone says 1 again.
    gate.alice.counter = 0;
    let passkey = gate.decide("alice", &nonce("alice 3"));
    let approval = gate.approval("alice", json!({"approval": "passkey", "passkey": passkey}));
    let gate = gate.with_extra(vec![approval]);
    let (index, rule, message) = gate.one_violation();
    assert_eq!((index, rule.as_str()), (gate.last_index(), "replayed"));
    assert!(
        message.contains("has signature counter 1 for credential"),
        "{message}"
    );
}
