//! The authorization matrix: every identity against every action, with the
//! expected HTTP status for each cell, run against a real gate.
//!
//! Reads (`show`, `fetch` of a released version) are public: review data is
//! meant to be seen, and released files are public artifacts. Everything
//! that changes state needs the one right credential.

use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, multipart, sha256_hex, totp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    CiThisPackage,
    CiOtherPackage,
    CiExpired,
    CiReplayed,
    MaintainerThis,
    MaintainerOther,
    MaintainerLocked,
    MaintainerRevoked,
    Nobody,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Stage,
    Show,
    Approve,
    Reject,
    Fetch,
}

use Action::*;
use Who::*;

/// Expected status per (identity, action).
const MATRIX: &[(Who, [(Action, u16); 5])] = &[
    (
        CiThisPackage,
        [
            (Stage, 201),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        CiOtherPackage,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        CiExpired,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        CiReplayed,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        MaintainerThis,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 200),
            (Reject, 200),
            (Fetch, 200),
        ],
    ),
    (
        MaintainerOther,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        MaintainerLocked,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        MaintainerRevoked,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
    (
        Nobody,
        [
            (Stage, 401),
            (Show, 200),
            (Approve, 401),
            (Reject, 401),
            (Fetch, 200),
        ],
    ),
];

struct Maintainer {
    token: String,
    secret: String,
    /// Decisions made so far: each uses the next TOTP step (codes are single-use).
    used: std::cell::Cell<i64>,
}

impl Maintainer {
    fn next_code(&self) -> String {
        let n = self.used.get();
        self.used.set(n + 1);
        assert!(
            n <= 1,
            "at most two decisions per maintainer fit in the skew window"
        );
        totp(&self.secret, n)
    }
}

#[test]
fn authorization_matrix() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let m = |user: &str, package: &str| {
        let (token, secret) = enroll(&gate, user, package);
        Maintainer {
            token,
            secret,
            used: std::cell::Cell::new(0),
        }
    };
    let alice = m("alice", "hello");
    let bob = m("bob", "hello");
    let erin = m("erin", "hello");
    let frank = m("frank", "hello");
    let carol = m("carol", "other");

    // Three staged releases: A (approvals), B (rejections), R (to be released for fetch).
    let stage_body = |version: &str| {
        let data = format!("hello {version}");
        let announce = format!(
            r#"{{"files":[{{"name":"hello.txt","size":{},"sha256":"{}"}}]}}"#,
            data.len(),
            sha256_hex(data.as_bytes())
        );
        multipart(&announce, &[("file.0", data.as_bytes())])
    };
    let stage = |token: &str, version: &str| {
        let (ct, body) = stage_body(version);
        gate.request(
            "POST",
            &format!("/v1/packages/hello/versions/{version}"),
            Some(token),
            Some(&ct),
            &body,
        )
    };
    let staged_id = |version: &str| {
        let token = ci.github_token("shipgate-test", "acme/hello", "42", version, &[]);
        let (status, body) = stage(&token, version);
        assert_eq!(status, 201, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let release_a = staged_id("1.0.0");
    let release_b = staged_id("1.0.1");
    let release_r = staged_id("0.9.0");
    let decide = |m: &Maintainer, token: &str, id: i64, reject: bool| {
        let code = m.next_code();
        let (path, body) = if reject {
            (
                format!("/v1/releases/{id}/reject"),
                format!(r#"{{"code":"{code}","reason":"matrix"}}"#),
            )
        } else {
            (
                format!("/v1/releases/{id}/approve"),
                format!(r#"{{"code":"{code}"}}"#),
            )
        };
        gate.request(
            "POST",
            &path,
            Some(token),
            Some("application/json"),
            body.as_bytes(),
        )
    };
    // R is approved by bob and erin (quorum 2) before erin gets locked.
    assert_eq!(decide(&bob, &bob.token, release_r, false).0, 200);
    assert_eq!(decide(&erin, &erin.token, release_r, false).0, 200);
    // Lock erin (5 wrong codes), revoke frank.
    for _ in 0..5 {
        let (status, _) = gate.request(
            "POST",
            &format!("/v1/releases/{release_a}/approve"),
            Some(&erin.token),
            None,
            br#"{"code":"00000000"}"#,
        );
        assert_eq!(status, 401);
    }
    crate::util::assert_exit(&gate.admin(&["revoke", "frank"]), 0);

    let replayed = ci.github_token("shipgate-test", "acme/hello", "42", "5.0.0", &[]);
    assert_eq!(
        stage(&replayed, "5.0.0").0,
        201,
        "first use of the token to be replayed"
    );
    let expired = ci.expired_token("shipgate-test", "acme/hello", "42");

    let mut failures = Vec::new();
    let mut version_counter = 10;
    for (who, row) in MATRIX {
        for (action, expected) in row {
            // A bearer credential for this identity (fresh CI tokens per use).
            let credential: Option<String> = match who {
                CiThisPackage => {
                    Some(ci.github_token("shipgate-test", "acme/hello", "42", "7.0.0", &[]))
                }
                CiOtherPackage => {
                    Some(ci.github_token("shipgate-test", "acme/other", "43", "7.0.0", &[]))
                }
                CiExpired => Some(expired.clone()),
                CiReplayed => Some(replayed.clone()),
                MaintainerThis => Some(alice.token.clone()),
                MaintainerOther => Some(carol.token.clone()),
                MaintainerLocked => Some(erin.token.clone()),
                MaintainerRevoked => Some(frank.token.clone()),
                Nobody => None,
            };
            let maintainer = match who {
                MaintainerThis => Some(&alice),
                MaintainerOther => Some(&carol),
                _ => None,
            };
            let status = match action {
                Stage => {
                    version_counter += 1;
                    let version = format!("7.0.{version_counter}");
                    let (ct, body) = stage_body(&version);
                    gate.request(
                        "POST",
                        &format!("/v1/packages/hello/versions/{version}"),
                        credential.as_deref(),
                        Some(&ct),
                        &body,
                    )
                    .0
                }
                Show => {
                    gate.request(
                        "GET",
                        &format!("/v1/releases/{release_a}"),
                        credential.as_deref(),
                        None,
                        b"",
                    )
                    .0
                }
                Approve | Reject => {
                    let reject = matches!(action, Reject);
                    let id = if reject { release_b } else { release_a };
                    match (maintainer, credential.as_deref()) {
                        (Some(m), Some(token)) => decide(m, token, id, reject).0,
                        (None, token) => {
                            let body = if reject {
                                r#"{"code":"12345678","reason":"matrix"}"#
                            } else {
                                r#"{"code":"12345678"}"#
                            };
                            let path = format!(
                                "/v1/releases/{id}/{}",
                                if reject { "reject" } else { "approve" }
                            );
                            gate.request(
                                "POST",
                                &path,
                                token,
                                Some("application/json"),
                                body.as_bytes(),
                            )
                            .0
                        }
                        (Some(_), None) => unreachable!(),
                    }
                }
                Fetch => {
                    gate.request(
                        "GET",
                        "/v1/packages/hello/versions/0.9.0/files/hello.txt",
                        credential.as_deref(),
                        None,
                        b"",
                    )
                    .0
                }
            };
            if status != *expected {
                failures.push(format!(
                    "{who:?} × {action:?}: expected {expected}, got {status}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix cells failed:\n{}\n--- server log\n{}",
        failures.join("\n"),
        gate.log()
    );

    // Staged versions are never served, whoever asks.
    let (status, _) = gate.request(
        "GET",
        "/v1/packages/hello/versions/1.0.0/files/hello.txt",
        Some(&alice.token),
        None,
        b"",
    );
    assert_eq!(status, 404);
    // The precise reasons are in the log only.
    let log = gate.log();
    for reason in [
        "already used",
        "expired",
        "maintainer is locked",
        "maintainer is revoked",
        "not a maintainer of this package",
        "JWT",
    ] {
        assert!(
            log.to_lowercase().contains(&reason.to_lowercase()),
            "log lacks {reason:?}:\n{log}"
        );
    }
    let _ = bob;
}
