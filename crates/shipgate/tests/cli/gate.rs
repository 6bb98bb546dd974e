//! End-to-end tests of the release gate: the real `shipgate serve` on
//! loopback, the real CLI, raw HTTP for hostile requests.

use crate::gate_util::{Gate, bound_config, default_config, enroll, error_code, totp};
use crate::util::{assert_exit, run_in, stderr, stdout};

#[test]
fn config_errors_exit_2_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = default_config("").replace("quorum = 2", "quorom = 2");
    std::fs::write(dir.path().join("gate.toml"), config).unwrap();
    let out = run_in(dir.path(), &["serve", "--config", "gate.toml"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("quorom"), "{}", stderr(&out));

    let out = run_in(dir.path(), &["serve", "--config", "missing.toml"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));

    let config = default_config("").replace("quorum = 2", "quorum = 5");
    std::fs::write(dir.path().join("gate.toml"), config).unwrap();
    let out = run_in(dir.path(), &["admin", "unlock", "alice"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("package[0].quorum"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_binding_missing_a_required_field_stops_the_gate_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = "https://token.actions.githubusercontent.com";
    for (remove, field, hint) in [
        (
            "environment = \"release\"\n",
            "package[0].publisher[0].environment",
            "hint: add environment = \"release\" or environment = \"*\"",
        ),
        (
            "ref = \"refs/tags/v*\"\n",
            "package[0].publisher[0].ref",
            "hint: add ref = \"refs/tags/v*\" or ref = \"*\"",
        ),
    ] {
        let config = bound_config(issuer).replacen(remove, "", 1);
        std::fs::write(dir.path().join("gate.toml"), config).unwrap();
        let out = run_in(dir.path(), &["serve", "--config", "gate.toml"]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        // One error line says it all; the CLI may add its own hint lines.
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{err}");
        assert!(
            err.lines().skip(1).all(|l| l.starts_with("hint: ")),
            "{err}"
        );
        for needle in ["gate.toml", field, "package \"hello\"", hint] {
            assert!(first.contains(needle), "{needle:?} in {err}");
        }
    }
}

#[test]
fn admin_enrols_unlocks_and_revokes_on_the_data_directory() {
    let gate = Gate::start(&default_config(""));
    let out = gate.admin(&["enroll", "alice", "--package", "hello"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("sgm_alice_"), "{text}");
    assert!(text.contains("otpauth://totp/"), "{text}");
    assert!(text.contains('█'), "a terminal QR code: {text}");

    let again = gate.admin(&["enroll", "alice", "--package", "hello"]);
    assert_exit(&again, 2);
    assert!(
        stderr(&again).contains("admin revoke alice"),
        "{}",
        stderr(&again)
    );

    let unlisted = gate.admin(&["enroll", "carol", "--package", "hello"]);
    assert_exit(&unlisted, 2);
    assert!(
        stderr(&unlisted).contains("maintainers"),
        "{}",
        stderr(&unlisted)
    );

    let unknown = gate.admin(&["enroll", "alice", "--package", "nope"]);
    assert_exit(&unknown, 2);

    assert_exit(&gate.admin(&["unlock", "nobody"]), 2);
    assert_exit(&gate.admin(&["unlock", "alice"]), 0);
    assert_exit(&gate.admin(&["revoke", "alice"]), 0);
    assert_exit(&gate.admin(&["revoke", "alice"]), 2);
    // Re-enrolment after revocation issues new credentials; --json gives
    // them to a provisioning script.
    let out = gate.admin(&["enroll", "alice", "--package", "hello", "--json"]);
    assert_exit(&out, 0);
    let creds: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(creds["user"], "alice");
    assert_eq!(creds["packages"], serde_json::json!(["hello"]));
    assert_eq!(creds["digits"], 8);
    assert!(creds["token"].as_str().unwrap().starts_with("sgm_alice_"));
    let secret = creds["totp_secret"].as_str().unwrap();
    assert!(
        creds["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={secret}")),
        "{creds}"
    );

    let out = gate.admin(&["unlock", "alice", "--json"]);
    assert_exit(&out, 0);
    let unlocked: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(unlocked["wrong_codes_last_365_days"], 0);
    assert_eq!(unlocked["yearly_budget"], 30);

    let out = gate.admin(&["revoke", "alice", "--json"]);
    assert_exit(&out, 0);
    let revoked: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(revoked["revoked"], true);
    assert_eq!(revoked["withdrawn_approvals"], serde_json::json!([]));
}

#[test]
fn every_documented_route_is_served_and_errors_are_json() {
    let gate = Gate::start(&default_config(""));
    let (status, body) = gate.get("/v1/openapi.json");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10);
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "1")
            .replace("{name}", "hello")
            .replace("{version}", "1.0")
            .replace("{file}", "a.txt");
        for method in item.as_object().unwrap().keys() {
            let (status, body) = gate.request(&method.to_uppercase(), &concrete, None, None, b"");
            // Whatever the answer, it comes from the route, not the fallback.
            assert!(
                !body.contains("no such route") && status != 405,
                "{method} {path} is documented but not routed: {status} {body}"
            );
        }
    }
    let (status, body) = gate.get("/v2/nothing");
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, body) = gate.request("DELETE", "/v1/releases", None, None, b"");
    assert_eq!(
        (status, error_code(&body).as_str()),
        (405, "method_not_allowed")
    );
}

/// method, path, bearer token, content type, body, expected status, expected code.
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
);

#[test]
fn hostile_requests_get_clear_json_errors() {
    let gate = Gate::start(&default_config(""));
    let (alice, secret) = enroll(&gate, "alice", "hello");
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/v1/releases/abc",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/releases/-1",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/releases/99999999999999999999",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/releases/7",
            None,
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/releases?state=bogus",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/releases?color=red",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/packages/hello/versions/1.0/files/..%2Fgate.key",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/packages/..%2F..%2Fetc/versions/1.0/manifest",
            None,
            None,
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/v1/packages/hello/versions/1.0/manifest",
            None,
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/packages/hello/versions/1.0/files/a.txt",
            None,
            None,
            vec![],
            404,
            "not_found",
        ),
        // Decisions: malformed bodies are refused before credentials are looked at.
        (
            "POST",
            "/v1/releases/1/approve",
            Some(alice.as_str()),
            Some("application/json"),
            b"{not json".to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/releases/1/approve",
            Some(alice.as_str()),
            Some("application/json"),
            br#"{"code":"1","extra":1}"#.to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/releases/1/approve",
            Some(alice.as_str()),
            None,
            br#"{"code":"1","reason":"x"}"#.to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/releases/1/reject",
            Some(alice.as_str()),
            None,
            br#"{"code":"1"}"#.to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/releases/1/reject",
            Some(alice.as_str()),
            None,
            br#"{"code":"1","reason":"  "}"#.to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/releases/1/approve",
            Some(alice.as_str()),
            None,
            vec![b' '; 70_000],
            413,
            "payload_too_large",
        ),
        // No credentials, junk credentials, a JWT: all the same generic 401.
        (
            "POST",
            "/v1/releases/1/approve",
            None,
            None,
            br#"{"code":"12345678"}"#.to_vec(),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/v1/releases/1/approve",
            Some("garbage"),
            None,
            br#"{"code":"12345678"}"#.to_vec(),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/v1/releases/1/approve",
            Some("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            None,
            br#"{"code":"12345678"}"#.to_vec(),
            401,
            "unauthorized",
        ),
        // Staging: unknown package, no token, junk token.
        (
            "POST",
            "/v1/packages/nope/versions/1.0",
            Some("x"),
            Some("multipart/form-data; boundary=B"),
            b"--B--".to_vec(),
            404,
            "not_found",
        ),
        (
            "POST",
            "/v1/packages/hello/versions/1.0",
            None,
            Some("multipart/form-data; boundary=B"),
            b"--B--".to_vec(),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/v1/packages/hello/versions/1.0",
            Some(alice.as_str()),
            Some("multipart/form-data; boundary=B"),
            b"--B--".to_vec(),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/v1/packages/hello/versions/..",
            Some("x"),
            None,
            vec![],
            400,
            "bad_request",
        ),
    ];
    let _ = secret;
    let mut messages = Vec::new();
    for (method, path, bearer, ct, body, want_status, want_code) in cases {
        let (status, text) = gate.request(method, path, bearer, ct, &body);
        assert_eq!(
            (status, error_code(&text).as_str()),
            (want_status, want_code),
            "{method} {path}: {text}"
        );
        if status == 401 {
            messages.push(text);
        }
    }
    // Every refusal reads the same: the reason is only in the server log.
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        gate.log().contains("JWT"),
        "the log names the precise reason:\n{}",
        gate.log()
    );

    // Garbled HTTP never crashes the server.
    let (status, _) = gate.raw(b"NOT HTTP AT ALL\r\n\r\n");
    assert_eq!(status, 400);
    let (status, _) = gate.get("/v1/info");
    assert_eq!(status, 200);
}

#[test]
fn five_wrong_codes_lock_a_maintainer_until_an_admin_unlocks() {
    let gate = Gate::start(&default_config(""));
    let (alice, secret) = enroll(&gate, "alice", "hello");
    let approve = |code: &str| {
        let body = format!(r#"{{"code":"{code}"}}"#);
        // Release 404 is only reached once both factors passed.
        gate.request(
            "POST",
            "/v1/releases/404/approve",
            Some(&alice),
            None,
            body.as_bytes(),
        )
    };
    let good = totp(&secret, 0);
    let wrong = if good == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for _ in 0..5 {
        assert_eq!(approve(wrong).0, 401);
    }
    // Locked: the correct code is refused too.
    assert_eq!(approve(&good).0, 401);
    assert!(
        gate.log().contains("maintainer is locked"),
        "{}",
        gate.log()
    );
    assert_exit(&gate.admin(&["unlock", "alice"]), 0);
    let (status, body) = approve(&good);
    assert_eq!(
        (status, error_code(&body).as_str()),
        (404, "not_found"),
        "{body}"
    );
    // That code is spent now.
    assert_eq!(approve(&good).0, 401);
    assert!(
        gate.log().contains("TOTP code already used"),
        "{}",
        gate.log()
    );
}

#[test]
fn the_cli_reports_refusals_and_unreachable_gates_with_hints() {
    let gate = Gate::start(&default_config(""));
    let dir = gate.path();
    let out = run_in(dir, &["releases", "--gate", &gate.url]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("no releases"));
    let out = run_in(dir, &["releases", "--gate", &gate.url, "--json"]);
    assert_exit(&out, 0);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(list["releases"].as_array().unwrap().is_empty());

    let out = run_in(dir, &["release", "show", "5", "--gate", &gate.url]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no release with id 5"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir, &["release", "show", "five", "--gate", &gate.url]);
    assert_exit(&out, 2);

    let out = crate::util::shipgate()
        .current_dir(dir)
        .env("SHIPGATE_MAINTAINER_TOKEN", "sgm_alice_nope")
        .args(["approve", "1", "--gate", &gate.url, "--code", "12345678"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));

    let out = crate::util::shipgate()
        .current_dir(dir)
        .env("SHIPGATE_CONFIG_DIR", dir.join("empty-config"))
        .env_remove("SHIPGATE_MAINTAINER_TOKEN")
        .args(["approve", "1", "--gate", &gate.url, "--code", "12345678"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("credentials.toml"),
        "{}",
        stderr(&out)
    );

    let out = run_in(
        dir,
        &[
            "reject", "1", "--gate", &gate.url, "--reason", " ", "--code", "1",
        ],
    );
    assert_exit(&out, 2);

    let out = run_in(dir, &["releases", "--gate", "http://127.0.0.1:1"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("shipgate serve"), "{}", stderr(&out));
    let out = run_in(dir, &["releases", "--gate", "ftp://x"]);
    assert_exit(&out, 2);
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let gate = Gate::start(&default_config(""));
    assert_eq!(gate.get("/v1/info").0, 200);
    let (status, _dir) = gate.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn plain_http_to_a_remote_gate_is_refused_before_any_credential_leaves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"artifact").unwrap();
    let commands: [&[&str]; 4] = [
        &["releases", "--gate", "http://gate.example.com"],
        &[
            "approve",
            "1",
            "--gate",
            "http://10.0.0.7:8080",
            "--code",
            "12345678",
        ],
        &[
            "stage",
            "--gate",
            "http://gate.example.com/",
            "--package",
            "p",
            "--version",
            "1",
            "a",
        ],
        &[
            "fetch",
            "--gate",
            "http://localhost:8080",
            "p",
            "1",
            "--out",
            "o",
        ],
    ];
    for args in commands {
        let out = crate::util::shipgate()
            .current_dir(dir.path())
            .env("SHIPGATE_MAINTAINER_TOKEN", "sgm_x_y")
            .env("SHIPGATE_OIDC_TOKEN", "a.b.c")
            .args(args)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("plain http is allowed only to loopback"),
            "{args:?}: {err}"
        );
        assert!(err.contains("https://"), "{args:?}: {err}");
    }
    // https is accepted (nothing listens on port 9, so it cannot connect).
    let out = run_in(dir.path(), &["releases", "--gate", "https://127.0.0.1:9"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("cannot reach the gate"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn release_ids_and_part_numbers_have_one_spelling() {
    let gate = Gate::start(&default_config(""));
    for id in ["01", "%2B1", "+1", "1e0", "%EF%BC%91"] {
        let (status, body) = gate.get(&format!("/v1/releases/{id}"));
        assert_eq!(
            (status, error_code(&body).as_str()),
            (400, "bad_request"),
            "{id}: {body}"
        );
    }
    let (status, body) = gate.get("/v1/releases/1");
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
}

#[test]
fn codes_that_cannot_be_totp_codes_are_refused_without_counting() {
    let gate = Gate::start(&default_config(""));
    let (alice, _) = enroll(&gate, "alice", "hello");
    for code in [
        "123456",
        "1234567",
        "123456789",
        "abcdefgh",
        "",
        "１２３４５６７８",
    ] {
        let body = serde_json::json!({ "code": code }).to_string();
        let (status, text) = gate.request(
            "POST",
            "/v1/releases/1/approve",
            Some(&alice),
            Some("application/json"),
            body.as_bytes(),
        );
        assert_eq!(
            (status, error_code(&text).as_str()),
            (400, "bad_request"),
            "{code:?}: {text}"
        );
    }
    // Six malformed codes, yet no lockout and nothing counted.
    let out = gate.admin(&["status", "alice", "--json"]);
    assert_exit(&out, 0);
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let alice_status = &status["maintainers"][0];
    assert_eq!(alice_status["state"], "active", "{status}");
    assert_eq!(alice_status["failures"]["recent"], 0, "{status}");
    assert_eq!(alice_status["failures"]["year"], 0, "{status}");

    // The CLI says what is wrong before sending anything.
    let out = crate::util::shipgate()
        .current_dir(gate.path())
        .env("SHIPGATE_MAINTAINER_TOKEN", &alice)
        .args(["approve", "1", "--gate", &gate.url, "--code", "123456"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("must be 8 digits"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("re-enrol"), "{}", stderr(&out));
}
