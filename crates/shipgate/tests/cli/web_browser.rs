//! The review pages and passkeys in a real browser: Debian's Chromium,
//! driven over WebDriver by `web_browser.py` (selenium) with a virtual
//! authenticator, against a real `shipgate serve`. Then the approvals in the
//! log are checked by an independent verifier (`web_passkey_check.py`,
//! Python's `cryptography`).
//!
//! Peers: Chromium and chromedriver (`SHIPGATE_CHROMIUM`,
//! `SHIPGATE_CHROMEDRIVER`, default `/usr/bin/...`) and `python3` with
//! selenium and cryptography, installed by `.ci/setup-web.sh`. A missing
//! peer fails the test with a message saying so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::gate_util::{CiIssuer, Gate, hello_publisher, totp, write_gate_key};
use crate::util::{assert_exit, python_with, stdout};

/// A browser peer: from its variable, else the Debian path; must exist.
fn browser_peer(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: install Debian's chromium and chromium-driver (source .ci/setup-web.sh) or set {variable}",
        path.display()
    );
    path
}

/// An npm tarball of `hello` at `version`, with a postinstall script when
/// `install_script`, made with tar and gzip.
fn npm_tarball(work: &Path, version: &str, install_script: bool) -> PathBuf {
    let root = work.join(format!("pkg-{version}"));
    std::fs::create_dir_all(root.join("package")).unwrap();
    let mut manifest =
        serde_json::json!({ "name": "hello", "version": version, "main": "index.js" });
    if install_script {
        manifest["scripts"] = serde_json::json!({ "postinstall": "node collect.js" });
    }
    std::fs::write(root.join("package/package.json"), manifest.to_string()).unwrap();
    std::fs::write(root.join("package/index.js"), "module.exports = 1;\n").unwrap();
    let tgz = work.join(format!("hello-{version}.tgz"));
    let status = Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .args(["-C"])
        .arg(&root)
        .arg("package")
        .status()
        .unwrap();
    assert!(status.success(), "tar failed");
    tgz
}

fn config(issuer: &str, registry_port: u16) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://localhost:0"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = 1048576

[publishing]
attempts = 1
backoff_ms = 50
max_backoff_ms = 100
timeout_seconds = 2

[[package]]
name = "hello"
maintainers = ["alice", "bob", "carol"]
quorum = 2
approval = "passkey"

{publisher}
[[package.target]]
kind = "npm"
registry = "http://127.0.0.1:{registry_port}/"
token_file = "npm-token"
tag = "latest"
"#,
        publisher = hello_publisher(issuer),
    )
}

#[test]
fn maintainers_enrol_review_and_approve_with_passkeys_in_chromium() {
    let chromium = browser_peer("SHIPGATE_CHROMIUM", "/usr/bin/chromium");
    let chromedriver = browser_peer("SHIPGATE_CHROMEDRIVER", "/usr/bin/chromedriver");
    let python = python_with(&["selenium", "cryptography"]);
    let ci = CiIssuer::start();
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: publishing fails after the release, which is
    // not what this test is about.
    let registry_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.path().join("gate.toml"), config(&ci.url, registry_port)).unwrap();
    write_gate_key(dir.path());
    {
        use std::os::unix::fs::PermissionsExt as _;
        let token = dir.path().join("npm-token");
        std::fs::write(&token, "unused\n").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let gate = Gate::start_in(dir);
    // localhost, not 127.0.0.1: a secure context whose name can be an rp id.
    let url = format!("http://localhost:{}", gate.port);

    let mut links = serde_json::Map::new();
    let mut tokens = std::collections::BTreeMap::new();
    for user in ["alice", "bob", "carol"] {
        let out = gate.admin(&["enroll", user, "--package", "hello", "--passkey", "--json"]);
        assert_exit(&out, 0);
        let answer: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let link = answer["passkey_link"].as_str().unwrap();
        // The admin command reads gate.toml, whose port is 0 (bound at start).
        let link = link.replace("localhost:0/", &format!("localhost:{}/", gate.port));
        assert!(link.starts_with(&format!("{url}/enrol/")), "{link}");
        links.insert(user.into(), link.into());
        tokens.insert(
            user,
            (
                answer["token"].as_str().unwrap().to_owned(),
                answer["totp_secret"].as_str().unwrap().to_owned(),
            ),
        );
    }
    // A link for someone not enrolled is refused, and says why.
    let out = gate.admin(&["enroll", "mallory", "--passkey"]);
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no maintainer named \"mallory\"")
            && err.contains("shipgate admin enroll mallory --package NAME --passkey"),
        "{err}"
    );

    let work = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for (version, script) in [("1.0.0", true), ("1.0.1", false)] {
        let tgz = npm_tarball(work.path(), version, script);
        let token = ci.github_token("shipgate-test", "acme/hello", "42", version, &[]);
        let out = gate.stage(&token, "hello", version, &[tgz.to_str().unwrap(), "--json"]);
        assert_exit(&out, 0);
        let staged: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        ids.push(
            staged["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("{staged}"))
                .to_string(),
        );
    }

    // The package requires passkeys: a valid TOTP decision is refused.
    let (token, secret) = &tokens["alice"];
    let body = format!(r#"{{"code":"{}"}}"#, totp(secret, 0));
    let (status, answer) = gate.request(
        "POST",
        &format!("/v1/releases/{}/approve", ids[1]),
        Some(token),
        Some("application/json"),
        body.as_bytes(),
    );
    assert_eq!(status, 401, "{answer}");
    assert!(gate.log().contains("requires a passkey"), "{}", gate.log());

    let mut child = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/web_browser.py"))
        .arg(&url)
        .arg(work.path())
        .arg(env!("CARGO_BIN_EXE_shipgate"))
        .arg(gate.path())
        .args([&ids[0], &ids[1]])
        .env("SHIPGATE_CHROMIUM", &chromium)
        .env("SHIPGATE_CHROMEDRIVER", &chromedriver)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::Value::Object(links).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}\ngate log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        gate.log()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let screenshot = report["screenshot"].as_str().unwrap();
    assert!(std::fs::metadata(screenshot).unwrap().len() > 1000);
    // Kept for a person to look at (the temp dir goes away with the test).
    println!("release page screenshot: {screenshot}");
    if let Some(keep) = std::env::var_os("SHIPGATE_TEST_ARTIFACTS") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(screenshot, keep.join("release-page.png")).unwrap();
    }
    for key in [
        "revoked_refused",
        "csrf_and_cross_origin_refused",
        "other_release_refused",
        "replay_refused",
        "counter_refused",
    ] {
        assert_eq!(report[key], true, "{key}: {report}");
    }
    assert_eq!(report["failures_counted"], 2, "{report}");

    // The release is released, and its approvals verify without shipgate.
    let (status, view) = gate.get(&format!("/v1/releases/{}", ids[0]));
    assert_eq!(status, 200);
    let view: serde_json::Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["state"], "released", "{view}");
    let (_, rejected) = gate.get(&format!("/v1/releases/{}", ids[1]));
    let rejected: serde_json::Value = serde_json::from_str(&rejected).unwrap();
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    assert_eq!(
        rejected["reject_reason"], "not this one <b>ok</b>",
        "{rejected}"
    );
    let (_, checkpoint) = gate.get("/v1/log/checkpoint");
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    let (status, entries) = gate.get(&format!("/v1/log/entries?start=0&end={size}"));
    assert_eq!(status, 200, "{entries}");
    let entries: serde_json::Value = serde_json::from_str(&entries).unwrap();
    let leaves: Vec<String> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"].as_str().unwrap().to_owned())
        .collect();
    let kinds: Vec<String> = leaves
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "passkey_enrolled").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "passkey_revoked").count(),
        1,
        "{kinds:?}"
    );
    let policy = leaves
        .iter()
        .find(|l| l.contains("\"kind\":\"package_policy\""))
        .unwrap();
    assert!(policy.contains("\"approval\":\"passkey\""), "{policy}");
    let mut check = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/web_passkey_check.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&leaves).unwrap().as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "independent passkey check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two approvals of the released version, one rejection of the other.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
}
