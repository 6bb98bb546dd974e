//! Bounded staging: per-package limits refuse a CI identity that would fill
//! the disk, with clear 4xx answers and without burning the CI token;
//! undecided releases expire (logged) and their files are deleted; rejected
//! releases' files are deleted after the retention; `GET /v1/releases` pages.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::gate_util::{CiIssuer, Gate, Minter, bound_config, enroll, json, totp};
use crate::util::{assert_exit, stderr, stdout};

/// `bound_config` with `limits` as the gate-wide `[limits]` table and
/// housekeeping every second.
fn config(issuer: &str, limits: &str) -> String {
    let base = bound_config(issuer);
    let (head, packages) = base.split_once("\n[[package]]").unwrap();
    format!(
        "{head}\nmaintenance_interval_seconds = 1\n\n[limits]\n{limits}\n\n[[package]]{packages}"
    )
}

fn blob_count(data: &Path) -> usize {
    // `data` is the gate's data directory; its blobs may be in a bucket.
    data.parent()
        .map(|gate_dir| crate::gate_blobs_s3::stored_files(gate_dir).len())
        .unwrap_or(0)
}

/// `shipgate reject ID --reason REASON` by the maintainer with `token` and
/// the current code of `secret`.
fn reject(gate: &Gate, token: &str, secret: &str, id: &str, reason: &str) -> std::process::Output {
    gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", token)],
        &[
            "reject",
            id,
            "--gate",
            &gate.url,
            "--reason",
            reason,
            "--code",
            &totp(secret, 0),
        ],
    )
}

/// Polls `check` until it holds or 30 s pass.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn limits_refuse_with_4xx_and_keep_the_token_usable() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&config(
        &ci.url,
        "max_pending_releases = 2\nmax_release_bytes = 1000\nmax_staged_bytes = 1500",
    ));
    let minter = Minter::new(&ci);
    let dir = gate.path();
    std::fs::write(dir.join("small.bin"), vec![1u8; 700]).unwrap();
    std::fs::write(dir.join("big.bin"), vec![2u8; 1001]).unwrap();

    // One release larger than max_release_bytes: 413 (an input error for
    // the CLI, exit 2), naming the limit.
    let token = minter.github_token("shipgate-test", "acme/hello", "42", "0.9.0");
    let out = gate.stage(&token, "hello", "0.9.0", &["big.bin"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("max_release_bytes"),
        "{}",
        stderr(&out)
    );

    for version in ["1.0.0", "1.0.1"] {
        let token = minter.github_token("shipgate-test", "acme/hello", "42", version);
        assert_exit(&gate.stage(&token, "hello", version, &["small.bin"]), 0);
    }
    // A third undecided release: refused before the token is checked...
    let token = minter.github_token("shipgate-test", "acme/hello", "42", "1.0.2");
    let out = gate.stage(&token, "hello", "1.0.2", &["small.bin"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("max_pending_releases = 2"),
        "{}",
        stderr(&out)
    );
    let (status, body) = gate.get("/v1/releases?state=staged");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["releases"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // ...so once room is made (another package is not affected either),
    // the same token still stages: its jti was not burned.
    let other = minter.github_token("shipgate-test", "acme/other", "43", "1.0.0");
    assert_exit(&gate.stage(&other, "other", "1.0.0", &["small.bin"]), 0);
    let (_, carol) = enroll(&gate, "carol", "other");
    let _ = carol;
    let (alice, alice_secret) = enroll(&gate, "alice", "hello");
    assert_exit(&reject(&gate, &alice, &alice_secret, "1", "make room"), 0);
    assert_exit(&gate.stage(&token, "hello", "1.0.2", &["small.bin"]), 0);
}

#[test]
fn staged_bytes_are_bounded_per_package() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&config(&ci.url, "max_staged_bytes = 1500"));
    let minter = Minter::new(&ci);
    std::fs::write(gate.path().join("small.bin"), vec![1u8; 700]).unwrap();
    for version in ["1.0.0", "1.0.1"] {
        let token = minter.github_token("shipgate-test", "acme/hello", "42", version);
        assert_exit(&gate.stage(&token, "hello", version, &["small.bin"]), 0);
    }
    let token = minter.github_token("shipgate-test", "acme/hello", "42", "1.0.2");
    let out = gate.stage(&token, "hello", "1.0.2", &["small.bin"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("max_staged_bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn undecided_releases_expire_and_rejected_files_are_deleted() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&config(
        &ci.url,
        "staged_expiry = \"3s\"\nrejected_retention = \"2s\"",
    ));
    let minter = Minter::new(&ci);
    let (alice, alice_secret) = enroll(&gate, "alice", "hello");
    std::fs::write(gate.path().join("a.bin"), vec![1u8; 100]).unwrap();
    std::fs::write(gate.path().join("b.bin"), vec![2u8; 100]).unwrap();
    let data = gate.path().join("data");

    let token = minter.github_token("shipgate-test", "acme/hello", "42", "1.0.0");
    assert_exit(&gate.stage(&token, "hello", "1.0.0", &["a.bin"]), 0);
    let token = minter.github_token("shipgate-test", "acme/hello", "42", "1.0.1");
    assert_exit(&gate.stage(&token, "hello", "1.0.1", &["b.bin"]), 0);
    assert_eq!(blob_count(&data), 2);
    assert_exit(&reject(&gate, &alice, &alice_secret, "2", "broken"), 0);

    // Release 1 expires (rejected with the reason, `expired` in the log);
    // both releases' files are deleted, their records stay.
    eventually("release 1 expired and both blobs are gone", || {
        let out = gate.cli(
            &[],
            &["release", "show", "1", "--gate", &gate.url, "--json"],
        );
        json(&out)["state"] == "rejected" && blob_count(&data) == 0
    });
    let view = json(&gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    ));
    assert!(
        view["reject_reason"]
            .as_str()
            .unwrap()
            .starts_with("expired: not decided within 3s"),
        "{view}"
    );
    let log = gate.cli(&[], &["log", "show", "--gate", &gate.url, "--json"]);
    assert_exit(&log, 0);
    assert!(stdout(&log).contains("\"expired\""), "{}", stdout(&log));
    // The expired version may be staged again.
    let token = minter.github_token("shipgate-test", "acme/hello", "42", "1.0.0");
    assert_exit(&gate.stage(&token, "hello", "1.0.0", &["a.bin"]), 0);
    assert_eq!(blob_count(&data), 1);
    // The log still verifies with every entry.
    let out = gate.cli(&[], &["log", "verify", "--gate", &gate.url, "--entries"]);
    assert_exit(&out, 0);
}

#[test]
fn the_release_list_pages() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let minter = Minter::new(&ci);
    std::fs::write(gate.path().join("a.bin"), b"a").unwrap();
    for patch in 0..5 {
        let version = format!("1.0.{patch}");
        let token = minter.github_token("shipgate-test", "acme/hello", "42", &version);
        assert_exit(&gate.stage(&token, "hello", &version, &["a.bin"]), 0);
    }
    let page = |query: &str| -> serde_json::Value {
        let (status, body) = gate.get(&format!("/v1/releases{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    let first = page("?limit=2");
    assert_eq!(ids(&first), [5, 4]);
    assert_eq!(first["next_before"], 4);
    let second = page("?limit=2&before=4");
    assert_eq!(ids(&second), [3, 2]);
    let last = page("?limit=2&before=2");
    assert_eq!(ids(&last), [1]);
    assert!(last.get("next_before").is_none(), "{last}");
    assert_eq!(ids(&page("?package=other")), Vec::<i64>::new());
    for bad in [
        "?limit=0",
        "?limit=501",
        "?limit=01",
        "?limit=-1",
        "?before=0",
        "?before=x",
        "?state=",
        "?package=..",
        "?page=2",
    ] {
        let (status, body) = gate.get(&format!("/v1/releases{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // The CLI follows with --before and says how.
    let out = gate.cli(&[], &["releases", "--gate", &gate.url, "--limit", "2"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("--before 4"), "{}", stdout(&out));
}
