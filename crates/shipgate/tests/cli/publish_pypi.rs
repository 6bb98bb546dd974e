//! A real pypiserver behind the gate: a staged version is absent from the
//! index until approved; after approval `pip install --index-url .../simple`
//! installs exactly the approved wheel, and the gate reports its SHA-256.

use crate::gate_util::{
    CiIssuer, Gate, enroll, hello_publisher, json, sha256_hex, totp, write_gate_key,
};
use crate::publish_util::{pypiserver, python, python_build, wait_for_targets};
use crate::util::{assert_exit, stdout};

#[test]
fn pip_installs_exactly_the_approved_wheel() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let index = pypiserver(work.path());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        format!(
            r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = 1048576

[[package]]
name = "hello"
maintainers = ["alice"]

{publisher}
[[package.target]]
kind = "pypi"
registry = "{url}"
username = "gate"
token_env = "SHIPGATE_TEST_PYPI_PASSWORD"
"#,
            publisher = hello_publisher(&ci.url),
            url = index.url
        ),
    )
    .unwrap();
    write_gate_key(dir.path());
    // token_env: an unset variable stops the gate (exit 2, naming it).
    let refused = crate::util::run_in(dir.path(), &["serve", "--config", "gate.toml"]);
    assert_exit(&refused, 2);
    assert!(
        crate::util::stderr(&refused).contains("SHIPGATE_TEST_PYPI_PASSWORD"),
        "{}",
        crate::util::stderr(&refused)
    );
    let gate = Gate::start_in_with_env(dir, &[("SHIPGATE_TEST_PYPI_PASSWORD", "gate-password-1")]);
    let (alice, secret) = enroll(&gate, "alice", "hello");
    let (wheel, sdist) = python_build(work.path(), gate.path(), "hello", "1.0.0");
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    assert_exit(&gate.stage(&token, "hello", "1.0.0", &[&wheel, &sdist]), 0);

    let pip = |report: &str| {
        std::process::Command::new(python())
            .args(["-m", "pip", "install", "--no-deps", "--no-cache-dir"])
            .args(["--disable-pip-version-check", "--index-url"])
            .arg(format!("{}simple/", index.url))
            .arg("--target")
            .arg(work.path().join(format!("site-{report}")))
            .arg("--report")
            .arg(work.path().join(report))
            .arg("hello==1.0.0")
            .env("HOME", work.path())
            .output()
            .unwrap()
    };
    assert!(
        !pip("before.json").status.success(),
        "staged, not on the index"
    );
    let show = gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    );
    let view = json(&show);
    assert!(
        view["artifacts"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["subject"] == "entry_point"),
        "{view}"
    );

    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice)],
        &[
            "approve",
            "1",
            "--gate",
            &gate.url,
            "--code",
            &totp(&secret, 0),
        ],
    );
    assert_exit(&out, 0);
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["targets"][0]["state"], "published", "{view}");
    let wheel_sha = sha256_hex(&std::fs::read(gate.path().join(&wheel)).unwrap());
    let integrity: Vec<&str> = view["targets"][0]["integrity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["integrity"].as_str().unwrap())
        .collect();
    assert!(
        integrity.contains(&format!("sha256:{wheel_sha}").as_str()),
        "{view}"
    );

    let installed = pip("after.json");
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("after.json")).unwrap()).unwrap();
    let install = &report["install"][0];
    assert_eq!(
        install["download_info"]["archive_info"]["hashes"]["sha256"],
        wheel_sha.as_str(),
        "{install}"
    );
    assert!(stdout(&show).contains("hello-1.0.0"));
}
