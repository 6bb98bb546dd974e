//! The replay of passkey decisions, with assertions signed by a software
//! authenticator: an honest log passes, and each way of moving, replaying or
//! forging a decision is caught at its leaf.

use serde_json::{Value, json};
use shipgate_protocol::leaf::LogEvent;
use shipgate_protocol::manifest::{release_manifest, sha256_hex};
use shipgate_protocol::passkey::{Decision, DecisionCommitment};
use shipgate_protocol::passkey_verify::Algorithm;
use shipgate_protocol::passkey_verify::software_authenticator::{SoftwareAuthenticator, nonce};
use shipgate_protocol::release::ReleaseFile;

use crate::tlog::replay::{ApprovalKind, Meaning, Replay, Rule};

const ORIGIN: &str = "https://gate.example.org";
const RP_ID: &str = "gate.example.org";

fn event(kind: &str, actor: &str, release: Option<(i64, &str)>, detail: Value) -> LogEvent {
    LogEvent {
        seq: 0,
        time: 0,
        kind: kind.into(),
        actor: actor.into(),
        release_id: release.map(|r| r.0),
        package: release.map(|_| "hello".to_owned()),
        version: release.map(|r| r.1.to_owned()),
        detail: detail.as_object().cloned().unwrap(),
    }
}

fn files(version: &str) -> Vec<ReleaseFile> {
    vec![ReleaseFile {
        path: "hello.txt".into(),
        size: 12,
        sha256: sha256_hex(version.as_bytes()),
    }]
}

/// The digest the gate signs for hello `version`.
fn digest(version: &str) -> String {
    sha256_hex(
        &release_manifest("hello", version, &files(version))
            .unwrap()
            .to_bytes(),
    )
}

struct Log {
    alice: SoftwareAuthenticator,
    bob: SoftwareAuthenticator,
    events: Vec<LogEvent>,
}

impl Log {
    /// Policy `approval` for hello (quorum 2 of alice and bob), both
    /// enrolled with a passkey: alice ES256 with a counter, bob Ed25519
    /// without. Leaves 0..=4.
    fn new(approval: &str) -> Log {
        let mut alice = SoftwareAuthenticator::new(Algorithm::Es256, "alice", RP_ID);
        alice.counting = true;
        let bob = SoftwareAuthenticator::new(Algorithm::EdDsa, "bob", RP_ID);
        let mut events = vec![event(
            "package_policy",
            "gate",
            None,
            json!({"package": "hello", "quorum": 2, "maintainers": ["alice", "bob"], "approval": approval}),
        )];
        for (name, authenticator) in [("alice", &alice), ("bob", &bob)] {
            events.push(event(
                "maintainer_enrolled",
                "admin",
                None,
                json!({"maintainer": name, "packages": ["hello"]}),
            ));
            events.push(event(
                "passkey_enrolled",
                name,
                None,
                json!({"maintainer": name, "passkey": authenticator.enrolment()}),
            ));
        }
        Log { alice, bob, events }
    }

    fn stage(&mut self, id: i64, version: &str) {
        self.events.push(event(
            "staged",
            "ci",
            Some((id, version)),
            json!({"files": files(version), "provenance": {}}),
        ));
    }

    /// A passkey decision object by `who` on release `id`, for `digest`.
    fn assertion(
        &mut self,
        who: &str,
        id: i64,
        version: &str,
        decision: Decision,
        nonce_name: &str,
    ) -> Value {
        let digest = digest(version);
        let nonce = nonce(nonce_name);
        let commitment = DecisionCommitment {
            origin: ORIGIN,
            release_id: id,
            package: "hello",
            version,
            manifest_sha256: &digest,
            decision,
            nonce: &nonce,
        };
        match who {
            "alice" => self.alice.decide(&commitment),
            _ => self.bob.decide(&commitment),
        }
    }

    fn approve_with(&mut self, who: &str, id: i64, version: &str, passkey: Value) {
        self.events.push(event(
            "approved",
            who,
            Some((id, version)),
            json!({"maintainer": who, "approval": "passkey", "passkey": passkey}),
        ));
    }

    fn approve(&mut self, who: &str, id: i64, version: &str) {
        let passkey = self.assertion(who, id, version, Decision::Approve, &format!("{who} {id}"));
        self.approve_with(who, id, version, passkey);
    }

    fn approve_totp(&mut self, who: &str, id: i64, version: &str) {
        self.events.push(event(
            "approved",
            who,
            Some((id, version)),
            json!({"maintainer": who, "approval": "totp"}),
        ));
    }

    fn release(&mut self, id: i64, version: &str, by: &[&str]) {
        self.events.push(event(
            "released",
            "gate",
            Some((id, version)),
            json!({"approved_by": by, "manifest_sha256": digest(version), "signature_key_id": "0123456789ABCDEF"}),
        ));
    }

    fn replay(&self) -> Meaning {
        let mut replay = Replay::new();
        for (index, event) in self.events.iter().enumerate() {
            replay.apply(index as u64, event);
        }
        replay.finish()
    }

    fn broken(&self) -> Vec<(u64, Rule)> {
        self.replay()
            .violations
            .iter()
            .map(|v| (v.index, v.rule))
            .collect()
    }

    fn message(&self, n: usize) -> String {
        self.replay().violations[n].message.clone()
    }
}

/// Release 1 approved by alice and bob with passkeys and released: leaves
/// 5 (staged) 6, 7 (approved) 8 (released).
fn honest() -> Log {
    let mut log = Log::new("passkey");
    log.stage(1, "1.0");
    log.approve("alice", 1, "1.0");
    log.approve("bob", 1, "1.0");
    log.release(1, "1.0", &["alice", "bob"]);
    log
}

#[test]
fn an_honest_passkey_log_passes_and_reports_its_approvals() {
    let log = honest();
    let meaning = log.replay();
    assert!(meaning.violations.is_empty(), "{meaning:?}");
    assert_eq!(meaning.releases.len(), 1);
    let release = &meaning.releases[0];
    assert_eq!(
        (release.index, release.quorum, release.passkey_required),
        (8, 2, true)
    );
    assert_eq!(release.passkey_approvals(), 2);
    assert_eq!(release.approvals[0].maintainer, "alice");
    assert_eq!(release.approvals[0].approval, ApprovalKind::Passkey);
    assert_eq!(
        release.approvals[1].credential_id.as_deref(),
        Some(log.bob.credential_id_b64().as_str())
    );
    // A rejection with a passkey verifies too.
    let mut log = honest();
    log.stage(2, "2.0");
    let passkey = log.assertion("bob", 2, "2.0", Decision::Reject, "bob no");
    log.events.push(event(
        "rejected",
        "bob",
        Some((2, "2.0")),
        json!({"maintainer": "bob", "reason": "no", "approval": "passkey", "passkey": passkey}),
    ));
    assert_eq!(log.broken(), []);
}

#[test]
fn an_assertion_moved_to_another_release_or_decision_is_caught() {
    let mut log = honest();
    log.stage(2, "2.0");
    // Alice's approval of release 1, presented for release 2.
    let moved = log.events[6].detail["passkey"].clone();
    log.approve_with("alice", 2, "2.0", moved);
    // An approval presented as a rejection.
    let approval = log.assertion("bob", 2, "2.0", Decision::Approve, "bob 2");
    log.events.push(event(
        "rejected",
        "bob",
        Some((2, "2.0")),
        json!({"maintainer": "bob", "approval": "passkey", "passkey": approval}),
    ));
    assert_eq!(log.broken(), [(10, Rule::Passkey), (11, Rule::Passkey)]);
    assert!(
        log.message(0)
            .contains("challenge is not the one this decision commits to"),
        "{}",
        log.message(0)
    );
}

#[test]
fn totp_decisions_on_a_passkey_only_package_do_not_count() {
    let mut log = honest();
    log.stage(2, "2.0");
    log.approve_totp("alice", 2, "2.0");
    log.approve("bob", 2, "2.0");
    log.release(2, "2.0", &["alice", "bob"]);
    assert_eq!(
        log.broken(),
        [
            (10, Rule::ApprovalKind),
            (12, Rule::Quorum),
            (12, Rule::Quorum)
        ]
    );
    assert!(
        log.message(0)
            .contains("with TOTP, but its policy (leaf 0) requires passkeys")
    );
    // Where any factor is allowed, TOTP counts and is reported as such.
    let mut log = Log::new("any");
    log.stage(1, "1.0");
    log.approve_totp("alice", 1, "1.0");
    log.approve("bob", 1, "1.0");
    log.release(1, "1.0", &["alice", "bob"]);
    let meaning = log.replay();
    assert!(meaning.violations.is_empty(), "{meaning:?}");
    let kinds: Vec<ApprovalKind> = meaning.releases[0]
        .approvals
        .iter()
        .map(|a| a.approval)
        .collect();
    assert_eq!(kinds, [ApprovalKind::Totp, ApprovalKind::Passkey]);
    assert_eq!(meaning.releases[0].passkey_approvals(), 1);
}

#[test]
fn revoked_credentials_and_revoked_maintainers_cannot_approve() {
    let mut log = honest();
    log.events.push(event(
        "passkey_revoked",
        "admin",
        None,
        json!({"maintainer": "bob", "credential_id": log.bob.credential_id_b64()}),
    ));
    log.stage(2, "2.0");
    log.approve("alice", 2, "2.0");
    log.approve("bob", 2, "2.0");
    log.release(2, "2.0", &["alice", "bob"]);
    assert_eq!(
        log.broken(),
        [(12, Rule::Passkey), (13, Rule::Quorum), (13, Rule::Quorum)]
    );
    assert!(
        log.message(0).contains("which was revoked at leaf 9"),
        "{}",
        log.message(0)
    );

    // A revoked maintainer, enrolled again, does not get the old
    // credential back.
    let mut log = honest();
    log.events.push(event(
        "maintainer_revoked",
        "admin",
        None,
        json!({"maintainer": "alice"}),
    ));
    log.events.push(event(
        "maintainer_enrolled",
        "admin",
        None,
        json!({"maintainer": "alice", "packages": ["hello"]}),
    ));
    log.stage(2, "2.0");
    log.approve("alice", 2, "2.0");
    assert_eq!(log.broken(), [(12, Rule::Passkey)]);
}

#[test]
fn a_replayed_nonce_and_a_counter_that_does_not_grow_are_caught() {
    let mut log = honest();
    log.stage(2, "2.0");
    // A fresh, valid signature over release 2, but with release 1's nonce.
    let passkey = log.assertion("bob", 2, "2.0", Decision::Approve, "bob 1");
    log.approve_with("bob", 2, "2.0", passkey);
    assert_eq!(log.broken(), [(10, Rule::Replayed)]);
    assert!(
        log.message(0).contains("again (first used at leaf 7)"),
        "{}",
        log.message(0)
    );

    // Alice's authenticator counted 1 for release 1; a clone says 1 again.
    let mut log = honest();
    log.stage(2, "2.0");
    log.alice.counter = 0;
    log.approve("alice", 2, "2.0");
    assert_eq!(log.broken(), [(10, Rule::Replayed)]);
    assert!(
        log.message(0).contains("signature counter 1"),
        "{}",
        log.message(0)
    );
    // Counting on: 2 is fine.
    let mut log = honest();
    log.stage(2, "2.0");
    log.approve("alice", 2, "2.0");
    assert_eq!(log.broken(), []);
}

#[test]
fn another_maintainers_credential_or_one_never_enrolled_is_refused() {
    let mut log = honest();
    log.stage(2, "2.0");
    let alices = log.assertion("alice", 2, "2.0", Decision::Approve, "a2");
    log.approve_with("bob", 2, "2.0", alices);
    let mut stranger = SoftwareAuthenticator::new(Algorithm::Es256, "stranger", RP_ID);
    let (digest, nonce) = (digest("2.0"), nonce("s"));
    let passkey = stranger.decide(&DecisionCommitment {
        origin: ORIGIN,
        release_id: 2,
        package: "hello",
        version: "2.0",
        manifest_sha256: &digest,
        decision: Decision::Approve,
        nonce: &nonce,
    });
    log.approve_with("alice", 2, "2.0", passkey);
    assert_eq!(log.broken(), [(10, Rule::Passkey), (11, Rule::Passkey)]);
    assert!(log.message(0).contains("which is alice's, not bob's"));
    assert!(log.message(1).contains("which was never enrolled"));
}

#[test]
fn the_released_manifest_must_be_the_one_approved() {
    let mut log = honest();
    log.events[8]
        .detail
        .insert("manifest_sha256".into(), json!("0".repeat(64)));
    assert_eq!(log.broken(), [(8, Rule::Passkey)]);
    assert!(
        log.message(0)
            .contains("the one its passkey approvals commit to")
    );
    // An approval over another digest than the staged files give.
    let mut log = honest();
    log.stage(2, "2.0");
    let digest = "1".repeat(64);
    let nonce = nonce("x");
    let passkey = log.alice.decide(&DecisionCommitment {
        origin: ORIGIN,
        release_id: 2,
        package: "hello",
        version: "2.0",
        manifest_sha256: &digest,
        decision: Decision::Approve,
        nonce: &nonce,
    });
    log.approve_with("alice", 2, "2.0", passkey);
    assert_eq!(log.broken(), [(10, Rule::Passkey)]);
    assert!(
        log.message(0)
            .contains("but the release's staged files give manifest")
    );
}

#[test]
fn malformed_passkey_leaves_are_violations() {
    let mut log = Log::new("passkey");
    log.events.push(event(
        "passkey_enrolled",
        "x",
        None,
        json!({"maintainer": "x", "passkey": {"alg": -7}}),
    ));
    log.events.push(event(
        "passkey_enrolled",
        "alice",
        None,
        json!({"maintainer": "alice", "passkey": log.alice.enrolment()}),
    ));
    log.events.push(event(
        "passkey_revoked",
        "admin",
        None,
        json!({"maintainer": "bob", "credential_id": "AAAA"}),
    ));
    log.events.push(event(
        "package_policy",
        "gate",
        None,
        json!({"package": "hello", "quorum": 1, "maintainers": ["alice"], "approval": "sometimes"}),
    ));
    log.stage(1, "1.0");
    log.events.push(event(
        "approved",
        "alice",
        Some((1, "1.0")),
        json!({"maintainer": "alice", "approval": "fingerprint"}),
    ));
    assert_eq!(
        log.broken(),
        [
            (5, Rule::Malformed),
            (6, Rule::Malformed),
            (7, Rule::Malformed),
            (8, Rule::Malformed),
            (10, Rule::Malformed)
        ]
    );
    assert!(log.message(1).contains("already enrolled at leaf 2"));
}

#[test]
fn the_report_lists_only_approvals_that_count() {
    let mut log = Log::new("passkey");
    log.stage(1, "1.0");
    log.approve("alice", 1, "1.0");
    log.approve("bob", 1, "1.0");
    // Alice leaves the policy before the release: her approval stands in
    // the log but no longer counts, and is not reported as counting.
    log.events.push(event(
        "package_policy",
        "gate",
        None,
        json!({"package": "hello", "quorum": 1, "maintainers": ["bob"], "approval": "passkey"}),
    ));
    log.release(1, "1.0", &["bob"]);
    let meaning = log.replay();
    assert!(meaning.violations.is_empty(), "{meaning:?}");
    let names: Vec<&str> = meaning.releases[0]
        .approvals
        .iter()
        .map(|a| a.maintainer.as_str())
        .collect();
    assert_eq!(names, ["bob"]);
    assert_eq!(meaning.releases[0].passkey_approvals(), 1);
}
