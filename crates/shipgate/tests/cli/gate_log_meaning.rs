//! `shipgate log verify --entries` checks what the log means, not only its
//! hashes. A dishonest operator with disk access stops the gate, writes
//! events straight into the database (or edits leaves) and restarts it: the
//! gate appends the new events to its log on start, so the hashes, the
//! frontier and the root are all consistent and freshly signed. Each test
//! breaks one rule; the audit must name the leaf and exit 1.

use serde_json::{Value, json};

use crate::gate_log::{Released, approve, log_verify, released, rewrite_history, stage};
use crate::gate_util::{Gate, json};
use crate::util::{assert_exit, stderr, stdout};

/// Stops the gate, runs `statements` on its database, starts it again.
pub(crate) fn tamper(gate: Gate, statements: &[String]) -> Gate {
    let (status, dir) = gate.terminate();
    assert!(status.success());
    let db = dir.path().join("data/gate.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        for statement in statements {
            // The test's own statements, written to tamper.
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    });
    Gate::start_in(dir)
}

/// An `events` row.
fn event(kind: &str, release: Option<i64>, actor: &str, detail: Value) -> String {
    format!(
        "INSERT INTO events (at, kind, release_id, actor, detail) VALUES (1800000000, '{kind}', {}, '{actor}', '{detail}')",
        release.map_or("NULL".to_owned(), |id| id.to_string())
    )
}

/// A `released` event as the gate writes it.
fn released_event(release: i64, approved_by: &[&str]) -> String {
    event(
        "released",
        Some(release),
        "gate",
        json!({
            "manifest_sha256": "0".repeat(64),
            "signature_key_id": "0123456789ABCDEF",
            "approved_by": approved_by,
        }),
    )
}

/// `log verify --entries --json` with a fresh checkpoint file fails with
/// exit 1, nothing saved; returns (violations, stderr).
fn audit_fails(gate: &Gate) -> (Vec<(u64, String, String)>, String) {
    let out = log_verify(gate, &["--checkpoint", "audit.note", "--entries", "--json"]);
    assert_exit(&out, 1);
    assert!(!gate.path().join("audit.note").exists(), "saved on failure");
    let report = json(&out);
    assert_eq!(report["consistent"], true);
    let violations = report["entries"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["index"].as_u64().unwrap(),
                v["rule"].as_str().unwrap().to_owned(),
                v["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let err = stderr(&out);
    assert!(err.contains("break the gate's rules"), "{err}");
    assert!(err.contains("hint: do not trust releases"), "{err}");
    (violations, err)
}

#[test]
fn a_release_nobody_approved_is_caught() {
    let Released { ci, gate, .. } = released();
    assert_eq!(stage(&ci, &gate, "2.0.0"), 2);
    let gate = tamper(gate, &[released_event(2, &[])]);
    let (violations, err) = audit_fails(&gate);
    let expected = "releases hello 2.0.0 (release 2) with 0 approval(s) that count, but its policy (leaf 0) needs 2";
    assert_eq!(violations, [(9, "quorum".into(), expected.into())]);
    assert!(
        err.contains(&format!("error: log leaf 9 {expected}")),
        "{err}"
    );
    // The hashes alone still pass: the log is consistent.
    assert_exit(&log_verify(&gate, &["--checkpoint", "plain.note"]), 0);
}

#[test]
fn approvals_by_a_revoked_maintainer_do_not_count() {
    let Released { ci, gate, .. } = released();
    assert_eq!(stage(&ci, &gate, "2.0.0"), 2);
    assert_exit(&gate.admin(&["revoke", "alice"]), 0);
    let gate = tamper(
        gate,
        &[
            event("approved", Some(2), "alice", json!({"maintainer": "alice"})),
            event("approved", Some(2), "bob", json!({"maintainer": "bob"})),
            released_event(2, &["alice", "bob"]),
        ],
    );
    let (violations, _) = audit_fails(&gate);
    let rules: Vec<(u64, &str)> = violations.iter().map(|v| (v.0, v.1.as_str())).collect();
    assert_eq!(rules, [(10, "not_allowed"), (12, "quorum"), (12, "quorum")]);
    assert_eq!(
        violations[0].2,
        "approves hello 2.0.0 (release 2), but alice is revoked"
    );
    assert!(
        violations[1]
            .2
            .contains("with 1 approval(s) that count (bob), but its policy (leaf 0) needs 2"),
        "{violations:?}"
    );
    assert!(
        violations[2].2.contains("names alice among the approvers"),
        "{violations:?}"
    );
}

#[test]
fn a_version_released_twice_is_caught() {
    let Released { ci, gate, alice } = released();
    assert_eq!(stage(&ci, &gate, "2.0.0"), 2);
    approve(&gate, 2, &alice, 1);
    let erin = crate::gate_util::enroll(&gate, "erin", "hello");
    let out = approve(&gate, 2, &erin, 0);
    assert_eq!(json(&out)["state"], "released");
    // Release 2 is made to say it is 1.0.0 too, from its staging on.
    let gate = rewrite_history(gate, |leaves| {
        for leaf in &mut leaves[8..] {
            let text = String::from_utf8(leaf.1.clone()).unwrap();
            leaf.1 = text
                .replace("\"version\":\"2.0.0\"", "\"version\":\"1.0.0\"")
                .into_bytes();
        }
    });
    let (violations, _) = audit_fails(&gate);
    assert_eq!(
        violations,
        [(
            12,
            "released_twice".into(),
            "releases hello 1.0.0 (release 2), but hello 1.0.0 was already released at leaf 7"
                .into()
        )]
    );
}

#[test]
fn a_decision_on_a_decided_release_is_caught() {
    let Released { gate, .. } = released();
    let gate = tamper(
        gate,
        &[event(
            "rejected",
            Some(1),
            "bob",
            json!({"maintainer": "bob", "reason": "too late"}),
        )],
    );
    let (violations, _) = audit_fails(&gate);
    assert_eq!(
        violations,
        [(
            8,
            "already_decided".into(),
            "rejects hello 1.0.0 (release 1), which was already released at leaf 7".into()
        )]
    );
}

#[test]
fn an_event_for_a_release_never_staged_is_caught() {
    let Released { gate, .. } = released();
    let gate = tamper(
        gate,
        &[
            "INSERT INTO releases (id, package, version, state, issuer, subject, repository, workflow, git_ref, commit_sha, run_id, created_at) VALUES (5, 'hello', '5.0.0', 'staged', 'i', 's', 'acme/hello', 'w', 'r', 'c', '1', 1800000000)".into(),
            released_event(5, &[]),
        ],
    );
    let (violations, _) = audit_fails(&gate);
    assert_eq!(
        violations,
        [(
            8,
            "not_staged".into(),
            "is a released event for release 5, which was never staged".into()
        )]
    );
}

#[test]
fn an_execution_token_for_an_unreleased_release_is_caught() {
    let Released { ci, gate, .. } = released();
    assert_eq!(stage(&ci, &gate, "2.0.0"), 2);
    let gate = tamper(
        gate,
        &[event(
            "execution_token_issued",
            Some(2),
            "repo:acme/hello:environment:release",
            json!({"jti": "x", "audience": "deploy:hello", "expires_at": 1800000600, "digest": "0".repeat(64)}),
        )],
    );
    let (violations, _) = audit_fails(&gate);
    assert_eq!(
        violations,
        [(
            9,
            "token_for_unreleased".into(),
            "issues an execution token for hello 2.0.0 (release 2), which is not released".into()
        )]
    );
}

/// An honest gate whose policy changes: the restart logs the new policy,
/// and a release under it passes.
#[test]
fn a_policy_change_is_logged_and_followed() {
    let Released { ci, gate, alice } = released();
    let (status, dir) = gate.terminate();
    assert!(status.success());
    let config = dir.path().join("gate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replacen("quorum = 2", "quorum = 1", 1)).unwrap();
    let gate = Gate::start_in(dir);
    assert_eq!(stage(&ci, &gate, "2.0.0"), 2);
    let out = approve(&gate, 2, &alice, 1);
    assert_eq!(json(&out)["state"], "released");
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--entries", "--json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["entries"]["kinds"]["package_policy"], 3);
    assert_eq!(report["entries"]["violations"], json!([]));
    let out = gate.cli(
        &[],
        &[
            "log", "show", "--gate", &gate.url, "--from", "8", "--limit", "1",
        ],
    );
    assert!(
        stdout(&out).contains("hello: quorum 1 of alice, bob, erin, frank"),
        "{}",
        stdout(&out)
    );
}

/// A log written before policies were logged (here: the policy leaves
/// removed): the releases are checked against a quorum of one and reported
/// as unchecked, neither failed nor silently passed.
#[test]
fn a_log_without_policies_is_reported_unchecked() {
    let Released { gate, .. } = released();
    let gate = rewrite_history(gate, |leaves| {
        leaves.drain(..2);
    });
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--entries"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(
            "unchecked   leaf 5: no policy for hello logged before leaf 5: its quorum was taken as 1"
        ),
        "{}",
        stdout(&out)
    );
}
