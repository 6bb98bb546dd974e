//! `shipgate oidc verify` against `shipgate oidc serve` on loopback.

use serde_json::{Value, json};

use super::{AUD, b64_encode, decode, issue, keygen, serve, verify};
use crate::util::{assert_exit, shipgate, stderr, stdout};

const GENERIC: &str = "error: token verification failed\n";

/// Asserts exit 1 with exactly the generic line and nothing else.
#[track_caller]
fn assert_refused(out: &std::process::Output) {
    assert_exit(out, 1);
    assert_eq!(stderr(out), GENERIC);
    assert_eq!(stdout(out), "");
}

/// Re-signs nothing: swaps the payload of a token (signature now invalid).
fn with_payload(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        b64_encode(payload.to_string().as_bytes()),
        parts[2]
    )
}

#[test]
fn tokens_of_every_algorithm_verify_and_json_prints_the_claims() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["RS256", "ES256", "EdDSA"] {
        keygen(dir.path(), alg);
        let server = serve(dir.path());
        let token = issue(dir.path(), &server.url, &["--claim", "node_id=deploy-prod"]);
        let out = verify(
            dir.path(),
            &server.url,
            &token,
            &["--expect", "node_id=deploy-prod", "--json"],
        );
        assert_exit(&out, 0);
        let claims: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(claims["node_id"], "deploy-prod");
        assert_eq!(claims["iss"], server.url.as_str());
        assert_eq!(decode(&token).1, claims);
        let out = verify(dir.path(), &server.url, &token, &[]);
        assert_exit(&out, 0);
        assert!(stdout(&out).starts_with("token verified: sub=execution:42"));
    }
}

#[test]
fn every_refusal_prints_the_same_single_line_and_logs_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "ES256");
    let server = serve(dir.path());
    let good = issue(
        dir.path(),
        &server.url,
        &[
            "--claim",
            "node_id=deploy-prod",
            "--claim",
            "pipeline_file=.ci/deploy.yml",
        ],
    );
    let (_, claims) = decode(&good);
    let mut tampered = claims.clone();
    tampered["node_id"] = json!("deploy-dev");
    let parts: Vec<&str> = good.split('.').collect();
    let none_header = b64_encode(br#"{"alg":"none","kid":"x"}"#);
    // (name, token, audience, extra flags, what the debug log must say)
    let cases: Vec<(&str, String, &str, Vec<&str>, &str)> = vec![
        ("wrong audience", good.clone(), "other", vec![], "audience"),
        (
            "tampered payload",
            with_payload(&good, &tampered),
            AUD,
            vec![],
            "signature",
        ),
        (
            "alg none",
            format!("{none_header}.{}.{}", parts[1], parts[2]),
            AUD,
            vec![],
            "algorithm none",
        ),
        ("garbage", "not-a-token".into(), AUD, vec![], "compact"),
        (
            "wrong expected claim",
            good.clone(),
            AUD,
            vec!["--expect", "node_id=deploy-dev"],
            "node_id",
        ),
        (
            "missing expected claim",
            good.clone(),
            AUD,
            vec!["--expect", "canvas_id=c1"],
            "canvas_id",
        ),
        (
            "glob mismatch",
            good.clone(),
            AUD,
            vec!["--expect-glob", "pipeline_file=.ci/*.yaml"],
            "pipeline_file",
        ),
        (
            "too large",
            format!("{}.{}.{}", parts[0], "A".repeat(17_000), parts[2]),
            AUD,
            vec![],
            "16 KiB",
        ),
    ];
    for (name, token, audience, extra, reason) in cases {
        let command = |verbose: bool| {
            let mut cmd = shipgate();
            cmd.current_dir(dir.path())
                .env("SHIPGATE_OIDC_TOKEN", &token)
                .env("SHIPGATE_CACHE_DIR", dir.path().join("cache"))
                .args([
                    "oidc",
                    "verify",
                    "--issuer",
                    &server.url,
                    "--audience",
                    audience,
                ])
                .args(&extra);
            if verbose {
                cmd.arg("-v");
            }
            cmd.output().unwrap()
        };
        assert_refused(&command(false));
        let out = command(true);
        assert_exit(&out, 1);
        assert!(stderr(&out).contains(reason), "{name}: {}", stderr(&out));
    }
    // The good token with the right expectations still passes.
    let out = verify(
        dir.path(),
        &server.url,
        &good,
        &[
            "--expect",
            "node_id=deploy-prod",
            "--expect-glob",
            "pipeline_file=.ci/*.yml",
        ],
    );
    assert_exit(&out, 0);
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused() {
    // Issue with a 1 s lifetime and verify with zero leeway after it ended:
    // the clock only moves forward, so this is not timing-dependent.
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    let server = serve(dir.path());
    let token = issue(dir.path(), &server.url, &["--ttl", "1s"]);
    let exp = decode(&token).1["exp"].as_i64().unwrap();
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        <= exp
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_refused(&verify(
        dir.path(),
        &server.url,
        &token,
        &["--leeway", "0s"],
    ));
    // The default leeway (60 s) still accepts it.
    assert_exit(&verify(dir.path(), &server.url, &token, &[]), 0);
}

#[test]
fn rotation_refetches_once_on_an_unknown_kid_and_not_again_within_60s() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    let server = serve(dir.path());
    let old = issue(dir.path(), &server.url, &[]);
    assert_exit(&verify(dir.path(), &server.url, &old, &[]), 0); // warms the cache
    // A new key signs; the cached JWKS does not know it: one refetch.
    keygen(dir.path(), "ES256");
    let new = issue(dir.path(), &server.url, &[]);
    assert_exit(&verify(dir.path(), &server.url, &new, &[]), 0);
    // Old tokens still verify (the old key is still published).
    assert_exit(&verify(dir.path(), &server.url, &old, &[]), 0);
    // Another new key within 60 s of that refetch: not refetched, refused.
    keygen(dir.path(), "RS256");
    let newer = issue(dir.path(), &server.url, &[]);
    let out = verify(dir.path(), &server.url, &newer, &["-v"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("suppressed"), "{}", stderr(&out));
    // Without the cache (a fresh fetch) it verifies: the key is published.
    assert_exit(&verify(dir.path(), &server.url, &newer, &["--no-cache"]), 0);
}

#[test]
fn token_sources() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    let server = serve(dir.path());
    let token = issue(dir.path(), &server.url, &[]);
    std::fs::write(dir.path().join("token.jwt"), format!("{token}\n")).unwrap();
    let base = ["oidc", "verify", "--issuer", &server.url, "--audience", AUD];
    let run = |extra: &[&str], env: Option<&str>, stdin: Option<&str>| {
        use std::io::Write;
        let mut cmd = shipgate();
        cmd.current_dir(dir.path())
            .env("SHIPGATE_CACHE_DIR", dir.path().join("cache"))
            .env_remove("SHIPGATE_OIDC_TOKEN")
            .args(base)
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(value) = env {
            cmd.env("SHIPGATE_OIDC_TOKEN", value);
        }
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    assert_exit(&run(&["--token", &token], None, None), 0);
    assert_exit(&run(&["--token-file", "token.jwt"], None, None), 0);
    assert_exit(&run(&["--token-file", "-"], None, Some(&token)), 0);
    assert_exit(&run(&[], Some(&token), None), 0);
    // --token wins over the environment.
    assert_exit(&run(&["--token", "x.y.z"], Some(&token), None), 1);
    // No token at all, an empty one, both flags, an unreadable file: usage.
    for (extra, env) in [
        (&[][..], None),
        (&[][..], Some("")),
        (&["--token", &token, "--token-file", "token.jwt"][..], None),
        (&["--token-file", "missing.jwt"][..], None),
    ] {
        let out = run(extra, env, None);
        assert_exit(&out, 2);
    }
    // A huge token file is read only up to the cap and refused as a token.
    std::fs::write(dir.path().join("big.jwt"), "A".repeat(1 << 20)).unwrap();
    assert_refused(&run(&["--token-file", "big.jwt"], None, None));
}

#[test]
fn usage_and_network_problems_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    let server = serve(dir.path());
    let token = issue(dir.path(), &server.url, &[]);
    for (extra, message) in [
        (&["--expect", "node_id="][..], "empty value"),
        (&["--expect", "=x"][..], "empty claim name"),
        (&["--expect", "node_id"][..], "KEY=VALUE"),
        (&["--expect-glob", "ref=[a"][..], "bad glob"),
        (&["--leeway", "1y"][..], "not a duration"),
        (&["--leeway", "1d"][..], "at most 10m"),
        (&["--leeway", "11m"][..], "at most 10m"),
    ] {
        let out = verify(dir.path(), &server.url, &token, extra);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(message),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    // Plain http to a non-loopback host: refused before any connection.
    let out = verify(dir.path(), "http://example.com", &token, &[]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("plain http is allowed only to loopback"),
        "{}",
        stderr(&out)
    );
    // Nothing listening: a network error, not a token problem.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let out = verify(dir.path(), &closed, &issue(dir.path(), &closed, &[]), &[]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("cannot get the keys"),
        "{}",
        stderr(&out)
    );
    // Discovery names another issuer (the server's issuer has no trailing
    // slash; discovery of `URL/` is the same document): configuration error.
    let slash = format!("{}/", server.url);
    let out = verify(dir.path(), &slash, &issue(dir.path(), &slash, &[]), &[]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("names issuer"), "{}", stderr(&out));
}

#[test]
fn the_jwks_cache_lives_in_the_documented_places() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    let server = serve(dir.path());
    let token = issue(dir.path(), &server.url, &[]);
    // XDG_CACHE_HOME/shipgate/jwks/<sha256(issuer)>.json by default.
    let xdg = dir.path().join("xdg");
    let out = shipgate()
        .current_dir(dir.path())
        .env_remove("SHIPGATE_CACHE_DIR")
        .env("XDG_CACHE_HOME", &xdg)
        .env("SHIPGATE_OIDC_TOKEN", &token)
        .args(["oidc", "verify", "--issuer", &server.url, "--audience", AUD])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let files: Vec<_> = std::fs::read_dir(xdg.join("shipgate/jwks"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
    let path = files[0].as_ref().unwrap().path();
    let entry: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(entry["issuer"], server.url.as_str());
    assert_eq!(entry["max_age"], 300);
    assert!(entry["jwks"]["keys"].is_array());
    // --cache-dir overrides; a corrupt file there is ignored and rewritten.
    let custom = dir.path().join("custom");
    std::fs::create_dir(&custom).unwrap();
    std::fs::write(custom.join(path.file_name().unwrap()), "{{{{").unwrap();
    let out = verify(
        dir.path(),
        &server.url,
        &token,
        &["--cache-dir", custom.to_str().unwrap()],
    );
    assert_exit(&out, 0);
    let text = std::fs::read_to_string(custom.join(path.file_name().unwrap())).unwrap();
    assert!(text.contains("\"jwks\""));
}
