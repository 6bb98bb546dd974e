//! The HTTP API keeps the contract its OpenAPI document states: schemathesis
//! (found through `SHIPGATE_SCHEMATHESIS`, installed by
//! `.ci/setup-openapi.sh`) sends generated requests, valid and not, to every
//! route of a real `shipgate serve --dev`, with real data: a released and a
//! staged release (their real ids, package, version and file name), the dev
//! maintainer's token, and a fresh CI token from the dev issuer for every
//! request that needs one (`openapi/hooks.py`). It fails on any 5xx, any
//! status the document does not list for the route, and any answer whose
//! body or content type does not match the document. The run is bounded
//! (a fixed seed, a few examples per route) so it stays short in CI.

use crate::gate_flow::start_dev;
use crate::gate_util::totp;
use crate::util::{assert_exit, shipgate};

/// Test cases per route and phase: enough to reach every documented answer,
/// few enough for a short run on two cores.
const MAX_EXAMPLES: &str = "30";
/// A fixed seed: a failure reproduces with the same command.
const SEED: &str = "20261205";

fn schemathesis() -> std::path::PathBuf {
    let path = std::env::var_os("SHIPGATE_SCHEMATHESIS").unwrap_or_else(|| {
        panic!(
            "SHIPGATE_SCHEMATHESIS is not set: install schemathesis with .ci/setup-openapi.sh (or run .ci/run) and export the path it prints"
        )
    });
    let path = std::path::PathBuf::from(path);
    assert!(
        path.is_file(),
        "SHIPGATE_SCHEMATHESIS={} is not a file",
        path.display()
    );
    path
}

fn toml_value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        .trim_matches('"')
        .to_owned()
}

/// Stages `version` with a fresh CI token from the dev issuer's endpoint.
fn stage(dir: &std::path::Path, url: &str, request_token: &str, version: &str) {
    let out = shipgate()
        .current_dir(dir)
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{url}/dev-issuer/token"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token)
        .args([
            "stage",
            "--gate",
            url,
            "--package",
            "hello",
            "--version",
            version,
            "hello.txt",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn the_api_keeps_its_openapi_contract() {
    let schemathesis = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, banner) = start_dev(dir.path());
    let url = banner[0].strip_prefix("listening on ").unwrap().to_owned();
    let config = std::fs::read_to_string(dir.path().join("shipgate-dev/gate.toml")).unwrap();
    let request_token = toml_value(&config, "dev_issuer_request_token");
    let creds =
        std::fs::read_to_string(dir.path().join("shipgate-dev/dev-maintainer.toml")).unwrap();
    let maintainer = toml_value(&creds, "token");
    let secret = toml_value(&creds, "totp_secret");

    // Release 1 released, release 2 staged.
    std::fs::write(dir.path().join("hello.txt"), b"hello\n").unwrap();
    stage(dir.path(), &url, &request_token, "1.0.0");
    let out = shipgate()
        .env("SHIPGATE_MAINTAINER_TOKEN", &maintainer)
        .args(["approve", "1", "--gate", &url, "--code", &totp(&secret, 0)])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    stage(dir.path(), &url, &request_token, "2.0.0");

    let hooks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/openapi");
    let out = std::process::Command::new(&schemathesis)
        .current_dir(dir.path())
        .env("PYTHONPATH", &hooks)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("SHIPGATE_GATE_URL", &url)
        .env("SHIPGATE_DEV_REQUEST_TOKEN", &request_token)
        .env("SHIPGATE_MAINTAINER_TOKEN", &maintainer)
        .env("SHIPGATE_RELEASE_IDS", "1,2")
        .env("SHIPGATE_RELEASED", "hello/1.0.0/hello.txt")
        .args(["run", &format!("{url}/v1/openapi.json"), "--url", &url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
            // One worker: with several, Python 3.11's parser can trip over
            // itself in schemathesis's threads (an error of the tool, not
            // of the gate), and one keeps a seeded run reproducible.
            "--workers",
            "1",
            "--no-color",
            "--report-dir",
            "schemathesis-report",
        ])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found contract violations:\n{text}"
    );
    // Every route was reached (as many tested as the document has), and
    // nothing was skipped for a schema error.
    let count = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| {
                rest.trim()
                    .split('/')
                    .next_back()
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    let total = count("Selected:");
    assert!(!total.is_empty(), "{text}");
    assert_eq!(count("Tested:"), total, "{text}");
    assert!(!text.contains("Errored"), "{text}");
}
