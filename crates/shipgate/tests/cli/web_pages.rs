//! The review pages over plain HTTP (no browser): security headers, escaping,
//! caching of the embedded assets, and hostile requests to the passkey
//! routes refused with one clear answer. The browser flows are in
//! `web_browser.rs`.

use crate::gate_util::{Gate, default_config, raw_http};

fn gate() -> Gate {
    Gate::start(&default_config("").replace(
        "public_url = \"http://127.0.0.1\"",
        "public_url = \"http://localhost:0\"",
    ))
}

/// (status, head, body) of a raw request.
fn exchange(gate: &Gate, request: &str) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", gate.port)).unwrap();
    use std::io::{Read, Write};
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn get(gate: &Gate, path: &str) -> (u16, String, String) {
    exchange(
        gate,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

fn post(gate: &Gate, path: &str, origin: Option<&str>, body: &str) -> (u16, String, String) {
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    exchange(
        gate,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{origin}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn pages_carry_strict_security_headers_and_assets_are_cached() {
    let gate = gate();
    let (status, head, body) = get(&gate, "/");
    assert_eq!(status, 200, "{body}");
    for header in [
        "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "cache-control: no-store",
        "content-type: text/html; charset=utf-8",
    ] {
        assert!(head.contains(header), "missing {header:?} in {head}");
    }
    assert!(body.contains("<h2 id=\"pkg-hello\">hello</h2>"), "{body}");
    assert!(!body.contains("<script>"), "no inline script");
    assert!(!body.contains("style="), "no inline style");
    // Every asset the page names is served, with a year of caching.
    let assets: Vec<&str> = body
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert_eq!(assets.len(), 2, "{body}");
    for asset in assets {
        let (status, head, _) = get(&gate, asset);
        assert_eq!(status, 200, "{asset}");
        assert!(
            head.contains("cache-control: public, max-age=31536000, immutable"),
            "{head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
    let (status, _, _) = get(&gate, "/assets/style-000000000000.css");
    assert_eq!(status, 404);
    let (status, _, body) = get(&gate, "/signin");
    assert_eq!(status, 200);
    assert!(body.contains("<label for=\"maintainer\">"), "{body}");
}

#[test]
fn hostile_paths_and_requests_are_refused_with_a_clear_answer() {
    let gate = gate();
    for (path, status) in [
        ("/releases/0", 400),
        ("/releases/01", 400),
        ("/releases/1e3", 400),
        ("/releases/99", 404),
        ("/releases/99999999999999999999", 400),
        ("/enrol/not-a-link", 404),
        ("/enrol/%3Cscript%3E", 404),
        ("/releases/1/files/a.txt", 403),
    ] {
        let (got, head, body) = get(&gate, path);
        assert_eq!(got, status, "{path}: {body}");
        assert!(head.contains("content-security-policy"), "{path}");
        assert!(!body.contains("<script>"), "{path}: {body}");
    }
    let url = format!("http://localhost:{}", gate.port);
    // No Origin, another origin: refused before anything is read.
    for origin in [None, Some("http://evil.example"), Some("null")] {
        let (status, _, body) = post(
            &gate,
            "/signin/options",
            origin,
            r#"{"maintainer":"alice"}"#,
        );
        assert_eq!(status, 403, "{origin:?}: {body}");
    }
    // The gate's own origin, with malformed and hostile bodies.
    for body in [
        "",
        "{",
        "[]",
        r#"{"maintainer":1}"#,
        r#"{"maintainer":"a","x":1}"#,
    ] {
        let (status, head, answer) = post(&gate, "/signin/options", Some(&url), body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(head.contains("application/json"), "{head}");
        let error: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .starts_with("sign-in request"),
            "{answer}"
        );
    }
    // Nobody by that name has a passkey: the same answer as a wrong name.
    for name in ["alice", "<b>x</b>", &"a".repeat(500)] {
        let body = serde_json::json!({ "maintainer": name }).to_string();
        let (status, _, answer) = post(&gate, "/signin/options", Some(&url), &body);
        assert_eq!(status, 403, "{answer}");
        assert!(answer.contains("no usable passkey"), "{answer}");
    }
    // Decisions need a session (and its CSRF token).
    let (status, _, _) = post(
        &gate,
        "/releases/1/decision/options",
        Some(&url),
        r#"{"decision":"approve"}"#,
    );
    assert_eq!(status, 403);
    let (status, _, _) = post(&gate, "/enrol/abc/options", Some(&url), "{}");
    assert_eq!(status, 404);
    // More than the body limit.
    let big = format!(r#"{{"maintainer":"{}"}}"#, "a".repeat(100_000));
    let (status, _, _) = post(&gate, "/signin/options", Some(&url), &big);
    assert_eq!(status, 413);
    // A forged session cookie is no session.
    let (status, _, body) = exchange(
        &gate,
        "GET / HTTP/1.1\r\nHost: localhost\r\nCookie: shipgate_session=forged\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(body.contains("Maintainer sign-in"), "{body}");
    let _ = raw_http;
}

#[test]
fn a_passkey_link_needs_an_origin_browsers_accept() {
    // 127.0.0.1 is not a host name: browsers refuse it as a WebAuthn rp id.
    let gate = Gate::start(&default_config(""));
    let out = gate.admin(&["enroll", "alice", "--package", "hello"]);
    crate::util::assert_exit(&out, 0);
    let out = gate.admin(&["enroll", "alice", "--passkey"]);
    crate::util::assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot carry passkeys"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn totp_decisions_and_policies_say_which_second_factor_they_use() {
    let released = crate::gate_log::released();
    let page = crate::gate_log::get_json(&released.gate, "/v1/log/entries?start=0&end=8");
    let leaves: Vec<serde_json::Value> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["data"].as_str().unwrap()).unwrap())
        .collect();
    for leaf in &leaves {
        match leaf["kind"].as_str().unwrap() {
            "approved" => assert_eq!(leaf["detail"]["approval"], "totp", "{leaf}"),
            "package_policy" => assert_eq!(leaf["detail"]["approval"], "any", "{leaf}"),
            _ => {}
        }
    }
    assert_eq!(leaves.iter().filter(|l| l["kind"] == "approved").count(), 2);
    // The release page shows the same events, with their second factor.
    let (status, body) = released.gate.get("/releases/1");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<td>approved</td><td>alice</td><td>totp</td>"),
        "{body}"
    );
}
