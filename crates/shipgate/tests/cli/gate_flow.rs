//! The whole release flow with real processes: `shipgate oidc serve` as the
//! CI provider, tokens from `shipgate oidc issue`, `shipgate serve` as the
//! gate, the CLI for every step, and the real `minisign` to check the result.

use crate::gate_util::{
    CiIssuer, Gate, announce, bound_config, enroll, error_code, json, multipart, sha256_hex, totp,
};
use crate::util::{assert_exit, peer, shipgate, stderr, stdout};

#[test]
fn stage_review_approve_fetch_and_verify_with_minisign() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let (alice, alice_secret) = enroll(&gate, "alice", "hello");
    let (bob, bob_secret) = enroll(&gate, "bob", "hello");
    let dir = gate.path();
    std::fs::write(dir.join("hello.tar.gz"), vec![7u8; 300_000]).unwrap();
    std::fs::write(dir.join("README.txt"), b"hello 1.0.0\n").unwrap();

    // 1. Stage from "CI".
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let out = gate.stage(&token, "hello", "1.0.0", &["hello.tar.gz", "README.txt"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("staged release 1"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("shipgate release show 1"),
        "{}",
        stdout(&out)
    );

    // The same token again is a replay.
    let again = gate.stage(&token, "hello", "1.0.1", &["README.txt"]);
    assert_exit(&again, 1);
    // A fresh token for an already staged version: conflict.
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let dup = gate.stage(&token, "hello", "1.0.0", &["README.txt"]);
    assert_exit(&dup, 1);
    assert!(stderr(&dup).contains("already staged"), "{}", stderr(&dup));

    // 2. Review.
    let out = gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    );
    assert_exit(&out, 0);
    let view = json(&out);
    assert_eq!(view["state"], "staged");
    assert_eq!(view["quorum"], 2);
    assert_eq!(view["provenance"]["repository"], "acme/hello");
    assert_eq!(view["provenance"]["ref"], "refs/tags/v1.0.0");
    assert_eq!(
        view["provenance"]["commit_sha"],
        "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1"
    );
    assert_eq!(view["provenance"]["run_id"], "987654321");
    assert_eq!(view["provenance"]["environment"], "release");
    assert_eq!(view["files"][0]["path"], "README.txt");
    assert_eq!(view["files"][1]["sha256"], sha256_hex(&[7u8; 300_000]));
    assert_eq!(view["diff"]["previous_version"], serde_json::Value::Null);
    let human = gate.cli(&[], &["release", "show", "1", "--gate", &gate.url]);
    assert!(
        stdout(&human).contains("first release of hello"),
        "{}",
        stdout(&human)
    );

    // 3. Refused approvals: the CI token, a wrong code.
    let ci_token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &ci_token)],
        &["approve", "1", "--gate", &gate.url, "--code", "12345678"],
    );
    assert_exit(&out, 1);
    let good = totp(&alice_secret, 0);
    let wrong = if good == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice)],
        &["approve", "1", "--gate", &gate.url, "--code", wrong],
    );
    assert_exit(&out, 1);

    // 4. Two approvals release it; the code comes on stdin like a prompt.
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice)],
        &["approve", "1", "--gate", &gate.url, "--code", &good],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("1 of 2"), "{}", stdout(&out));
    // Before the code is sent, stderr names what is being approved.
    let told = stderr(&out);
    for what in [
        "approving release 1: hello 1.0.0 (staged), 0 approval(s) of 2",
        "built by acme/hello at refs/tags/v1.0.0 (commit 4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1, run 987654321)",
        "2 file(s)",
        "first release of hello",
    ] {
        assert!(told.contains(what), "{what:?} not in {told}");
    }
    let mut child = shipgate()
        .current_dir(dir)
        .env("SHIPGATE_MAINTAINER_TOKEN", &bob)
        .args(["approve", "1", "--gate", &gate.url, "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", totp(&bob_secret, 0)).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let decision = json(&out);
    assert_eq!(decision["state"], "released");
    let manifest_digest = decision["manifest_sha256"].as_str().unwrap().to_owned();

    // 5. Fetch with a pinned key, then check with the real minisign.
    let out = gate.cli(
        &[],
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
            "--json",
        ],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["manifest_sha256"], manifest_digest.as_str());
    assert_eq!(
        std::fs::read(dir.join("got/hello.tar.gz")).unwrap(),
        vec![7u8; 300_000]
    );
    assert_eq!(
        std::fs::read(dir.join("got/README.txt")).unwrap(),
        b"hello 1.0.0\n"
    );
    let minisign = std::process::Command::new(peer("minisign"))
        .current_dir(dir)
        .args(["-V", "-m", "got/shipgate.manifest", "-p", "gate.pub"])
        .output()
        .unwrap();
    assert!(
        minisign.status.success(),
        "minisign: {}",
        String::from_utf8_lossy(&minisign.stderr)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(dir.join("got/shipgate.manifest")).unwrap()),
        manifest_digest
    );
    // The manifest lists exactly the digests of the fetched files.
    let manifest = std::fs::read_to_string(dir.join("got/shipgate.manifest")).unwrap();
    assert!(
        manifest.contains(&sha256_hex(b"hello 1.0.0\n")),
        "{manifest}"
    );

    // Trust on first use: remembered, then a different key is refused loudly.
    let out = gate.cli(
        &[],
        &[
            "fetch", "--gate", &gate.url, "hello", "1.0.0", "--out", "tofu1",
        ],
    );
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("first use"), "{}", stderr(&out));
    let out = gate.cli(
        &[],
        &[
            "fetch", "--gate", &gate.url, "hello", "1.0.0", "--out", "tofu2",
        ],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("remembered"), "{}", stdout(&out));
    let known = dir.join("user-config/known_gates.toml");
    let text = std::fs::read_to_string(&known).unwrap();
    let fp = text.split("key_fingerprint = \"").nth(1).unwrap()[..64].to_owned();
    std::fs::write(&known, text.replace(&fp, &"0".repeat(64))).unwrap();
    let out = gate.cli(
        &[],
        &[
            "fetch", "--gate", &gate.url, "hello", "1.0.0", "--out", "tofu3",
        ],
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("CHANGED"), "{}", stderr(&out));
    assert!(!dir.join("tofu3/hello.tar.gz").exists());
    // A pinned key that is not the gate's: verification fails, nothing kept.
    assert_exit(
        &crate::util::run_in(dir, &["keygen", "-s", "other.key", "-p", "other.pub"]),
        0,
    );
    let out = gate.cli(
        &[],
        &[
            "fetch",
            "--gate",
            &gate.url,
            "hello",
            "1.0.0",
            "--out",
            "bad",
            "--gate-key",
            "other.pub",
        ],
    );
    assert_exit(&out, 1);
    assert!(!dir.join("bad/hello.tar.gz").exists());

    // 6. The next version: the review shows the diff.
    std::fs::write(dir.join("hello.tar.gz"), vec![8u8; 250_000]).unwrap();
    std::fs::write(dir.join("NOTES.md"), b"new\n").unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.1.0", &[]);
    let out = gate.stage(
        &token,
        "hello",
        "1.1.0",
        &["hello.tar.gz", "NOTES.md", "--json"],
    );
    assert_exit(&out, 0);
    let id = json(&out)["id"].as_i64().unwrap();
    let out = gate.cli(
        &[],
        &[
            "release",
            "show",
            &id.to_string(),
            "--gate",
            &gate.url,
            "--json",
        ],
    );
    let diff = &json(&out)["diff"];
    assert_eq!(diff["previous_version"], "1.0.0");
    assert_eq!(diff["added"][0]["path"], "NOTES.md");
    assert_eq!(diff["removed"][0]["path"], "README.txt");
    assert_eq!(diff["changed"][0]["path"], "hello.tar.gz");
    assert_eq!(diff["changed"][0]["size_delta"], -50_000);
    let out = gate.cli(&[], &["releases", "--gate", &gate.url, "--state", "staged"]);
    assert!(
        stdout(&out).contains("1.1.0") && !stdout(&out).contains("1.0.0"),
        "{}",
        stdout(&out)
    );
    // A staged version is not served.
    let (status, _) = gate.get("/v1/packages/hello/versions/1.1.0/files/NOTES.md");
    assert_eq!(status, 404);
}

/// Multipart parts: (part name, bytes).
type Parts<'a> = Vec<(&'a str, &'a [u8])>;

#[test]
fn hostile_staging_bodies_are_refused_and_leave_nothing() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let data = b"payload bytes";
    let good_announce = announce(&[("a.bin", &data[..])]);
    let wrong_digest = format!(
        r#"{{"files":[{{"name":"a.bin","size":{},"sha256":"{}"}}]}}"#,
        data.len(),
        sha256_hex(b"other")
    );
    let wrong_size = format!(
        r#"{{"files":[{{"name":"a.bin","size":{},"sha256":"{}"}}]}}"#,
        data.len() - 1,
        sha256_hex(data)
    );
    let traversal = format!(
        r#"{{"files":[{{"name":"../a.bin","size":1,"sha256":"{}"}}]}}"#,
        "a".repeat(64)
    );
    let dup = format!(
        r#"{{"files":[{{"name":"a","size":1,"sha256":"{0}"}},{{"name":"a","size":1,"sha256":"{0}"}}]}}"#,
        "a".repeat(64)
    );
    let huge = format!(
        r#"{{"files":[{{"name":"a","size":2000000,"sha256":"{}"}}]}}"#,
        "a".repeat(64)
    );
    let cases: Vec<(String, Parts, u16)> = vec![
        (wrong_digest, vec![("file.0", data)], 400),
        (wrong_size, vec![("file.0", data)], 400),
        (traversal, vec![("file.0", b"x")], 400),
        (dup, vec![], 400),
        (huge, vec![], 413),
        ("{not json".into(), vec![], 400),
        (good_announce.clone(), vec![], 400), // announced, not sent
        (
            good_announce.clone(),
            vec![("file.0", data), ("file.0", data)],
            400,
        ), // sent twice
        (good_announce.clone(), vec![("file.7", data)], 400), // not announced
        (good_announce.clone(), vec![("evil", data)], 400),
    ];
    for (i, (announce, parts, want)) in cases.into_iter().enumerate() {
        let token = ci.github_token("shipgate-test", "acme/hello", "42", "2.0.0", &[]);
        let (ct, body) = multipart(&announce, &parts);
        let (status, text) = gate.request(
            "POST",
            "/v1/packages/hello/versions/2.0.0",
            Some(&token),
            Some(&ct),
            &body,
        );
        assert_eq!(status, want, "case {i}: {text}");
        assert!(!error_code(&text).is_empty());
    }
    // Garbled multipart.
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "2.0.0", &[]);
    let (status, _) = gate.request(
        "POST",
        "/v1/packages/hello/versions/2.0.0",
        Some(&token),
        Some("multipart/form-data; boundary=Z"),
        b"--Z\r\ngarbage",
    );
    assert_eq!(status, 400);
    // A body over the cap.
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "2.0.0", &[]);
    let big = vec![0u8; 2_200_000];
    let (ct, body) = multipart(&good_announce, &[("file.0", &big)]);
    let (status, _) = gate.request(
        "POST",
        "/v1/packages/hello/versions/2.0.0",
        Some(&token),
        Some(&ct),
        &body,
    );
    assert!(status == 413 || status == 400, "{status}");
    // Nothing was staged and no blob or temp file remains.
    let (_, list) = gate.get("/v1/releases");
    assert_eq!(list.trim(), r#"{"releases":[]}"#);
    let blobs = crate::gate_blobs_s3::stored_files(gate.path());
    assert!(blobs.is_empty(), "{blobs:?}");

    // The good body stages.
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "2.0.0", &[]);
    let (ct, body) = multipart(&good_announce, &[("file.0", data)]);
    let (status, text) = gate.request(
        "POST",
        "/v1/packages/hello/versions/2.0.0",
        Some(&token),
        Some(&ct),
        &body,
    );
    assert_eq!(status, 201, "{text}");
}

#[test]
fn a_crash_mid_upload_leaves_the_release_absent_and_the_blobs_swept() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "3.0.0", &[]);
    let data = vec![1u8; 500_000];
    let announcement = announce(&[("a.bin", &data[..])]);
    let (ct, body) = multipart(&announcement, &[("file.0", &data)]);
    // Send only the first half of the body, then kill the server with SIGKILL.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", gate.port)).unwrap();
    {
        use std::io::Write;
        let head = format!(
            "POST /v1/packages/hello/versions/3.0.0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body[..body.len() / 2]).unwrap();
        stream.flush().unwrap();
    }
    // Wait until the temp blob exists (the upload is in flight).
    let blobs = gate.path().join("data/blobs");
    for _ in 0..200 {
        let n = std::fs::read_dir(&blobs).map(|d| d.count()).unwrap_or(0);
        if n > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let dir = gate.kill();
    drop(stream);
    assert!(
        std::fs::read_dir(dir.path().join("data/blobs"))
            .unwrap()
            .count()
            > 0,
        "a temp file was left by the crash"
    );
    // Restart: the leftover is swept and the release is absent.
    let gate = Gate::start_in(dir);
    assert!(gate.log().contains("leftovers"), "{}", gate.log());
    assert_eq!(
        std::fs::read_dir(gate.path().join("data/blobs"))
            .unwrap()
            .count(),
        0
    );
    let (_, list) = gate.get("/v1/releases");
    assert_eq!(list.trim(), r#"{"releases":[]}"#);
    // The version can be staged now, whole.
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "3.0.0", &[]);
    let (status, text) = gate.request(
        "POST",
        "/v1/packages/hello/versions/3.0.0",
        Some(&token),
        Some(&ct),
        &body,
    );
    assert_eq!(status, 201, "{text}");
}

#[test]
fn a_part_named_with_a_padded_number_is_refused() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let data = b"bytes";
    let announcement = announce(&[("a.bin", &data[..])]);
    for part in ["file.00", "file.+0"] {
        let token = ci.github_token("shipgate-test", "acme/hello", "42", "5.0.0", &[]);
        let (ct, body) = multipart(&announcement, &[(part, data)]);
        let (status, text) = gate.request(
            "POST",
            "/v1/packages/hello/versions/5.0.0",
            Some(&token),
            Some(&ct),
            &body,
        );
        assert_eq!(status, 400, "{part}: {text}");
        assert!(text.contains("unexpected part"), "{text}");
    }
}

#[test]
fn a_client_that_goes_away_mid_upload_leaves_no_blob_behind() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let first = vec![2u8; 200_000];
    let second = vec![3u8; 400_000];
    let announce = format!(
        r#"{{"files":[{{"name":"a.bin","size":{},"sha256":"{}"}},{{"name":"b.bin","size":{},"sha256":"{}"}}]}}"#,
        first.len(),
        sha256_hex(&first),
        second.len(),
        sha256_hex(&second)
    );
    let (ct, body) = multipart(&announce, &[("file.0", &first), ("file.1", &second)]);
    // In the data directory or the bucket, whichever the gate uses.
    let first_key = sha256_hex(&first);
    let first_stored = || crate::gate_blobs_s3::stored_files(gate.path()).contains(&first_key);
    for round in 0..3 {
        // The whole of file.0 and part of file.1, then the client hangs up
        // while the server lives on.
        let token = ci.github_token("shipgate-test", "acme/hello", "42", "4.0.0", &[]);
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", gate.port)).unwrap();
        {
            use std::io::Write;
            let head = format!(
                "POST /v1/packages/hello/versions/4.0.0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body[..body.len() - 200_000]).unwrap();
            stream.flush().unwrap();
        }
        let mut stored = false;
        for _ in 0..500 {
            if first_stored() {
                stored = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(stored, "round {round}: file.0 was never stored");
        drop(stream);
        let mut left = Vec::new();
        for _ in 0..500 {
            left = crate::gate_blobs_s3::stored_files(gate.path());
            if left.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            left.is_empty(),
            "round {round}: left behind without a restart: {left:?}"
        );
    }
    // Nothing is held any more: the same bytes stage and stay.
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "4.0.0", &[]);
    let (status, text) = gate.request(
        "POST",
        "/v1/packages/hello/versions/4.0.0",
        Some(&token),
        Some(&ct),
        &body,
    );
    assert_eq!(status, 201, "{text}");
    assert!(first_stored());
}

/// Starts `shipgate serve --dev` in `dir` and returns the child and its
/// banner (every stdout line up to "dev gate ready").
pub fn start_dev(dir: &std::path::Path) -> (std::process::Child, Vec<String>) {
    use std::io::BufRead;
    let mut child = shipgate()
        .current_dir(dir)
        .args(["serve", "--dev"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("dev gate exited early: {lines:?}");
        }
        let done = line.trim() == "dev gate ready";
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    (child, lines)
}

#[test]
fn serve_dev_prints_commands_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, banner) = start_dev(dir.path());
    let url = banner[0].strip_prefix("listening on ").unwrap().to_owned();
    assert!(
        banner.iter().any(|l| l.contains("otpauth://totp/")),
        "{banner:?}"
    );
    let find = |needle: &str| {
        banner
            .iter()
            .find(|l| l.trim_start().starts_with(needle))
            .unwrap_or_else(|| panic!("no line starting with {needle:?} in {banner:?}"))
            .trim()
            .to_owned()
    };
    let secret = find("TOTP secret")
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let token = find("maintainer token")
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();

    // 1. The printed mint command, run as printed (minus the redirection).
    let mint = find("shipgate oidc issue");
    let args: Vec<&str> = mint
        .trim_end_matches("> token.jwt")
        .split_whitespace()
        .skip(1)
        .collect();
    let out = crate::util::run_in(dir.path(), &args);
    assert_exit(&out, 0);
    let ci_token = stdout(&out).trim().to_owned();
    // 2. Stage, 3. approve, 4. fetch, as printed.
    std::fs::write(dir.path().join("hello.txt"), b"hello\n").unwrap();
    let out = shipgate()
        .current_dir(dir.path())
        .env("SHIPGATE_OIDC_TOKEN", &ci_token)
        .args([
            "stage",
            "--gate",
            &url,
            "--package",
            "hello",
            "--version",
            "1.0.0",
            "hello.txt",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let out = shipgate()
        .current_dir(dir.path())
        .env("SHIPGATE_MAINTAINER_TOKEN", &token)
        .args(["approve", "1", "--gate", &url, "--code", &totp(&secret, 0)])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("released"), "{}", stdout(&out));
    let out = crate::util::run_in(
        dir.path(),
        &[
            "fetch",
            "--gate",
            &url,
            "hello",
            "1.0.0",
            "--out",
            "fetched",
            "--gate-key",
            "shipgate-dev/gate.pub",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read(dir.path().join("fetched/hello.txt")).unwrap(),
        b"hello\n"
    );
    let _ = child.kill();
    let _ = child.wait();

    // A second run reuses the directory, port and credentials.
    let (mut again, banner2) = start_dev(dir.path());
    assert_eq!(banner2[0], banner[0]);
    assert!(
        banner2.iter().any(|l| l.contains("using ./shipgate-dev")),
        "{banner2:?}"
    );
    assert!(banner2.iter().any(|l| l.contains(&token)));
    let out = crate::util::run_in(
        dir.path(),
        &["releases", "--gate", &url, "--state", "released"],
    );
    assert!(stdout(&out).contains("1.0.0"), "{}", stdout(&out));
    let _ = again.kill();
    let _ = again.wait();
}

#[test]
fn the_demo_runs_the_whole_flow_and_every_step_behaves() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::util::run_in(dir.path(), &["demo"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for needle in [
        "approve with the CI token",
        "wrong TOTP code",
        "replay the same TOTP code",
        "replace the stored artifact",
        "stage --wait",
        "execution token",
        "another manifest digest",
        "steps behaved as expected",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    assert!(!text.contains('✗'), "{text}");
}
