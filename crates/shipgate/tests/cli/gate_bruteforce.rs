//! The brute-force drill: an attacker holding a stolen maintainer token
//! guesses TOTP codes over HTTP against a real `shipgate serve`. The policy
//! (README "Maintainer credentials and TOTP", `shipgate_gate::lockout`):
//! 5 wrong codes within 15 minutes lock until `shipgate admin unlock`; 30
//! within 365 days lock until re-enrolment, whatever the admin does.

use crate::gate_util::{
    CiIssuer, Gate, bound_config, enroll, error_code, multipart, sha256_hex, totp,
};
use crate::util::{assert_exit, stderr, stdout};

/// The documented numbers.
const SHORT_LIMIT: u32 = 5;
const YEARLY_BUDGET: u32 = 30;

fn status(gate: &Gate, user: &str) -> serde_json::Value {
    let out = gate.admin(&["status", user, "--json"]);
    assert_exit(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// (state, lock reason, failures in 15 minutes, failures in 365 days).
fn state(gate: &Gate, user: &str) -> (String, Option<String>, u64, u64) {
    let value = status(gate, user);
    let m = &value["maintainers"][0];
    (
        m["state"].as_str().unwrap().to_owned(),
        m["lock_reason"].as_str().map(str::to_owned),
        m["failures"]["recent"].as_u64().unwrap(),
        m["failures"]["year"].as_u64().unwrap(),
    )
}

/// An 8-digit code that none of the steps around now accepts.
fn surely_wrong(secret: &str) -> String {
    let accepted: Vec<String> = (-1..=2).map(|offset| totp(secret, offset)).collect();
    ["00000000", "11111111", "22222222", "33333333", "44444444"]
        .into_iter()
        .find(|c| !accepted.iter().any(|a| a == c))
        .unwrap()
        .to_owned()
}

#[test]
fn a_stolen_token_gets_at_most_the_yearly_budget_of_guesses() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    // Package `other` has one maintainer, carol, and quorum 1.
    let (stolen, secret) = enroll(&gate, "carol", "other");

    // The policy the gate reports is the documented one, and its odds are
    // under one in a million per year.
    let policy = &status(&gate, "carol")["policy"];
    assert_eq!(policy["digits"], 8);
    assert_eq!(policy["short_limit"], SHORT_LIMIT);
    assert_eq!(policy["short_window_seconds"], 900);
    assert_eq!(policy["yearly_budget"], YEARLY_BUDGET);
    assert_eq!(policy["budget_window_seconds"], 365 * 86_400);
    assert_eq!(policy["max_guesses_per_year"], YEARLY_BUDGET);
    let odds = policy["odds_per_year"].as_f64().unwrap();
    assert!(odds < 1e-6, "{odds}");

    // A release for carol to approve at the end.
    let data = b"other 1.0.0\n";
    let announce = format!(
        r#"{{"files":[{{"name":"other.txt","size":{},"sha256":"{}"}}]}}"#,
        data.len(),
        sha256_hex(data)
    );
    let (ct, body) = multipart(&announce, &[("file.0", data)]);
    let ci_token = ci.github_token("shipgate-test", "acme/other", "43", "1.0.0", &[]);
    let (code, text) = gate.request(
        "POST",
        "/v1/packages/other/versions/1.0.0",
        Some(&ci_token),
        Some(&ct),
        &body,
    );
    assert_eq!(code, 201, "{text}");
    let release: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = release["id"].as_i64().unwrap();

    let guess = |token: &str, code: &str| {
        let body = format!(r#"{{"code":"{code}"}}"#);
        let (status, text) = gate.request(
            "POST",
            &format!("/v1/releases/{id}/approve"),
            Some(token),
            Some("application/json"),
            body.as_bytes(),
        );
        (status, text)
    };

    // Requests in carol's name with a wrong token count for nothing: no one
    // can lock a maintainer out by name.
    let forged = format!("sgm_carol_{}", "A".repeat(43));
    for _ in 0..(2 * YEARLY_BUDGET) {
        let (status, text) = guess(&forged, "00000000");
        assert_eq!((status, error_code(&text).as_str()), (401, "unauthorized"));
    }
    assert_eq!(state(&gate, "carol"), ("active".into(), None, 0, 0));

    // The attacker guesses; the admin unlocks every time the short rule
    // fires. Locked after exactly 5 wrong codes each round, and for good
    // after exactly 30 in all.
    let mut guesses = 0u32;
    for round in 1..=(YEARLY_BUDGET / SHORT_LIMIT) {
        let wrong = surely_wrong(&secret);
        for n in 1..=SHORT_LIMIT {
            let (status, text) = guess(&stolen, &wrong);
            assert_eq!((status, error_code(&text).as_str()), (401, "unauthorized"));
            guesses += 1;
            let (state, reason, recent, year) = state(&gate, "carol");
            assert_eq!((recent, year), (u64::from(n), u64::from(guesses)));
            match (n, guesses) {
                (_, YEARLY_BUDGET) => {
                    assert_eq!(
                        (state.as_str(), reason.as_deref()),
                        ("locked", Some("budget"))
                    );
                }
                (SHORT_LIMIT, _) => {
                    assert_eq!(
                        (state.as_str(), reason.as_deref()),
                        ("locked", Some("failures"))
                    );
                }
                _ => assert_eq!(
                    (state.as_str(), reason),
                    ("active", None),
                    "guess {guesses}"
                ),
            }
        }
        // Locked: more guesses, even the right code, are refused and do not
        // count (the lock is checked before the code).
        assert_eq!(guess(&stolen, &totp(&secret, 0)).0, 401);
        assert_eq!(guess(&stolen, &wrong).0, 401);
        assert_eq!(state(&gate, "carol").3, u64::from(guesses));

        let human = gate.admin(&["status"]);
        assert_exit(&human, 0);
        let unlock = gate.admin(&["unlock", "carol"]);
        if round < YEARLY_BUDGET / SHORT_LIMIT {
            assert!(
                stdout(&human).contains("locked: admin unlock"),
                "{}",
                stdout(&human)
            );
            assert_exit(&unlock, 0);
            assert!(
                stdout(&unlock).contains(&format!("{guesses} of the yearly budget of 30")),
                "{}",
                stdout(&unlock)
            );
            assert_eq!(
                state(&gate, "carol"),
                ("active".into(), None, 0, u64::from(guesses))
            );
        } else {
            // The budget is used up: unlock refuses and says what to do.
            assert!(
                stdout(&human).contains("locked: re-enrol"),
                "{}",
                stdout(&human)
            );
            assert!(
                stdout(&human).contains("admin revoke carol"),
                "{}",
                stdout(&human)
            );
            assert_exit(&unlock, 2);
            assert!(
                stderr(&unlock).contains("until re-enrolled"),
                "{}",
                stderr(&unlock)
            );
            assert!(
                stderr(&unlock).contains("admin revoke carol"),
                "{}",
                stderr(&unlock)
            );
        }
    }
    assert_eq!(guesses, YEARLY_BUDGET);
    // Still locked, whatever comes: the right code, more unlocks.
    assert_exit(&gate.admin(&["unlock", "carol"]), 2);
    let (status, _) = guess(&stolen, &totp(&secret, 1));
    assert_eq!(status, 401);
    assert_eq!(
        state(&gate, "carol"),
        (
            "locked".into(),
            Some("budget".into()),
            u64::from(SHORT_LIMIT),
            u64::from(YEARLY_BUDGET)
        )
    );
    let log = gate.log();
    assert!(log.contains("locked until re-enrolled"), "{log}");
    // Each lock is in the transparency log with its reason and counts.
    let shown = crate::util::run_in(gate.path(), &["log", "show", "--gate", &gate.url]);
    assert_exit(&shown, 0);
    let shown = stdout(&shown);
    assert_eq!(
        shown
            .matches("until unlocked: 5 wrong codes in 15 minutes")
            .count(),
        5,
        "{shown}"
    );
    assert!(
        shown.contains("carol (until re-enrolled: 5 wrong codes in 15 minutes, 30 in 365 days)"),
        "{shown}"
    );
    assert_eq!(
        log.matches("maintainer locked after wrong TOTP codes")
            .count(),
        6,
        "{log}"
    );

    // Re-enrolment: a new token and secret. The stolen token is dead; the
    // real carol approves and the release goes out.
    assert_exit(&gate.admin(&["revoke", "carol"]), 0);
    let (fresh, fresh_secret) = enroll(&gate, "carol", "other");
    assert_ne!(fresh, stolen);
    assert_ne!(fresh_secret, secret);
    assert_eq!(state(&gate, "carol"), ("active".into(), None, 0, 0));
    assert_eq!(guess(&stolen, &totp(&secret, 0)).0, 401);
    assert_eq!(guess(&stolen, &totp(&fresh_secret, 0)).0, 401);
    let (status, text) = guess(&fresh, &totp(&fresh_secret, 0));
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["state"], "released");
    // The stolen token's tries after re-enrolment count for nothing.
    assert_eq!(state(&gate, "carol").3, 0);
}
