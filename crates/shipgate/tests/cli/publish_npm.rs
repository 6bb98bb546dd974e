//! Drills with a real Verdaccio: the gate alone holds the npm token, a
//! staged version is absent from the registry until approved, an approved
//! one is published (npm installs it; `npm view` reports the integrity the
//! gate shows), a version the registry holds with other bytes is a conflict
//! and is not overwritten, a wrong credential or a registry that is down
//! ends `failed` with the release still released, and the token appears in
//! nothing the gate writes or answers.

use crate::gate_util::{CiIssuer, Gate, enroll, json, totp, write_gate_key};
use crate::publish_util::{
    all_files, contains, npm, npm_gate_config, npm_pack, verdaccio, wait_for_targets, write_token,
};
use crate::util::{assert_exit, run_in, stderr, stdout};

fn package(version: &str, description: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "hello",
        "version": version,
        "description": description,
        "main": "index.js",
        "scripts": { "postinstall": "node index.js" }
    })
}

/// Approves release `id` with alice and bob (quorum 2); returns the outputs.
fn approve_both(gate: &Gate, id: &str, secrets: &[(String, String)]) -> Vec<std::process::Output> {
    secrets
        .iter()
        .map(|(token, secret)| {
            let out = gate.cli(
                &[("SHIPGATE_MAINTAINER_TOKEN", token)],
                &[
                    "approve",
                    id,
                    "--gate",
                    &gate.url,
                    "--code",
                    &totp(secret, 0),
                ],
            );
            assert_exit(&out, 0);
            out
        })
        .collect()
}

/// Every transparency-log entry the gate serves (the JSON answer).
fn log_entries(gate: &Gate) -> String {
    let (status, checkpoint) = gate.get("/v1/log/checkpoint");
    assert_eq!(status, 200, "{checkpoint}");
    let size = checkpoint.lines().nth(1).unwrap().trim();
    let (status, entries) = gate.get(&format!("/v1/log/entries?start=0&end={size}"));
    assert_eq!(status, 200, "{entries}");
    entries
}

/// The kind of every transparency-log entry, in order.
fn event_kinds(gate: &Gate) -> Vec<String> {
    let entries: serde_json::Value = serde_json::from_str(&log_entries(gate)).unwrap();
    entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let leaf: serde_json::Value =
                serde_json::from_str(e["data"].as_str().unwrap()).unwrap();
            leaf["kind"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn outputs_text(outs: &[std::process::Output]) -> Vec<u8> {
    let mut all = Vec::new();
    for out in outs {
        all.extend_from_slice(&out.stdout);
        all.extend_from_slice(&out.stderr);
    }
    all
}

#[test]
fn an_approved_release_is_published_and_the_token_appears_nowhere() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        npm_gate_config(&ci, &registry.url, 5),
    )
    .unwrap();
    write_gate_key(dir.path());

    // A token file others can read: the gate refuses to start, naming it.
    write_token(dir.path(), &registry.token, 0o644);
    let refused = run_in(dir.path(), &["serve", "--config", "gate.toml"]);
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("npm-token"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("chmod 600"),
        "{}",
        stderr(&refused)
    );
    assert!(!contains(&refused.stderr, registry.token.as_bytes()));

    write_token(dir.path(), &registry.token, 0o600);
    let gate = Gate::start_in(dir);
    let secrets = vec![
        enroll(&gate, "alice", "hello"),
        enroll(&gate, "bob", "hello"),
    ];
    let mut outputs = Vec::new();

    // Stage from CI: the CI token cannot publish, so the registry lacks it.
    let tgz = npm_pack(work.path(), gate.path(), &package("1.0.0", "first"));
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let staged = gate.stage(&token, "hello", "1.0.0", &[&tgz]);
    assert_exit(&staged, 0);
    outputs.push(staged);
    let absent = npm(work.path())
        .args([
            "view",
            "hello@1.0.0",
            "version",
            "--registry",
            &registry.url,
        ])
        .output()
        .unwrap();
    assert!(
        !absent.status.success(),
        "a staged version must not be on the registry"
    );

    // A tarball whose package.json names another version is refused at staging.
    let other = npm_pack(work.path(), gate.path(), &package("9.9.9", "mislabelled"));
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.1", &[]);
    let mislabelled = gate.stage(&token, "hello", "1.0.1", &[&other]);
    assert_ne!(mislabelled.status.code(), Some(0));
    assert!(
        stderr(&mislabelled).contains("package/package.json version says \"9.9.9\""),
        "{}",
        stderr(&mislabelled)
    );

    // The reviewer sees what the archive declares, loudly for an install script.
    let show = gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    );
    assert_exit(&show, 0);
    let view = json(&show);
    assert_eq!(view["artifacts"]["loud"], true, "{view}");
    assert_eq!(view["artifacts"]["files"][0]["name"], "hello");
    assert_eq!(view["targets"][0]["state"], "staged");
    outputs.push(show);
    let human = gate.cli(&[], &["release", "show", "1", "--gate", &gate.url]);
    let text = stdout(&human);
    assert!(
        text.lines()
            .any(|l| l.starts_with("! added script postinstall")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("WARNING")), "{text}");
    outputs.push(human);

    // Approve: the gate publishes exactly the approved tarball.
    outputs.extend(approve_both(&gate, "1", &secrets));
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["state"], "released");
    let target = &view["targets"][0];
    assert_eq!(target["state"], "published", "{view}");
    let integrity = target["integrity"][0]["integrity"].as_str().unwrap();
    assert!(integrity.starts_with("sha512-"), "{integrity}");
    let viewed = npm(work.path())
        .args([
            "view",
            "hello@1.0.0",
            "dist.integrity",
            "--registry",
            &registry.url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&viewed.stdout).trim(), integrity);
    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(&consumer).unwrap();
    let installed = npm(work.path())
        .args([
            "install",
            "hello@1.0.0",
            "--ignore-scripts",
            "--registry",
            &registry.url,
            "--prefix",
        ])
        .arg(&consumer)
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    assert!(consumer.join("node_modules/hello/package.json").is_file());
    let human = gate.cli(&[], &["release", "show", "1", "--gate", &gate.url]);
    assert!(stdout(&human).contains("published"), "{}", stdout(&human));
    outputs.push(human);
    let (_, api) = gate.get("/v1/releases/1");
    let entries = log_entries(&gate);
    assert!(entries.contains("published"), "{entries}");

    // The token is in nothing the gate wrote or answered.
    let secret = registry.token.as_bytes();
    let (_, dir) = gate.terminate();
    for file in all_files(dir.path()) {
        if file.file_name().is_some_and(|n| n == "npm-token") {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !contains(&bytes, secret),
            "the token is in {}",
            file.display()
        );
    }
    assert!(!contains(&outputs_text(&outputs), secret));
    assert!(!contains(api.as_bytes(), secret));
    assert!(!contains(entries.as_bytes(), secret));
}

#[test]
fn other_bytes_on_the_registry_are_a_conflict_and_stay() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    // Someone published hello 2.0.0 behind the gate's back.
    let elsewhere = tempfile::tempdir().unwrap();
    let theirs = npm_pack(work.path(), elsewhere.path(), &package("2.0.0", "theirs"));
    let host = registry.url.trim_start_matches("http:");
    std::fs::write(
        work.path().join("npmrc"),
        format!("{host}:_authToken={}\n", registry.token),
    )
    .unwrap();
    let published = npm(work.path())
        .args(["publish", "--registry", &registry.url])
        .arg(elsewhere.path().join(&theirs))
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        npm_gate_config(&ci, &registry.url, 3),
    )
    .unwrap();
    write_gate_key(dir.path());
    write_token(dir.path(), &registry.token, 0o600);
    let gate = Gate::start_in(dir);
    let secrets = vec![
        enroll(&gate, "alice", "hello"),
        enroll(&gate, "bob", "hello"),
    ];
    let ours = npm_pack(work.path(), gate.path(), &package("2.0.0", "ours"));
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "2.0.0", &[]);
    assert_exit(&gate.stage(&token, "hello", "2.0.0", &[&ours]), 0);
    approve_both(&gate, "1", &secrets);
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["state"], "released");
    assert_eq!(view["targets"][0]["state"], "conflict", "{view}");
    let human = gate.cli(&[], &["release", "show", "1", "--gate", &gate.url]);
    assert!(
        stdout(&human)
            .lines()
            .any(|l| l.starts_with("! npm") && l.contains("conflict")),
        "{}",
        stdout(&human)
    );
    let description = npm(work.path())
        .args([
            "view",
            "hello@2.0.0",
            "description",
            "--registry",
            &registry.url,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&description.stdout).trim(),
        "theirs"
    );
    let entries = log_entries(&gate);
    assert!(entries.contains("publish_conflict"), "{entries}");
}

#[test]
fn a_wrong_token_or_a_registry_that_is_down_ends_failed_and_the_release_stays_released() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    let wrong_token = "npm_WrongTokenThatMustNeverBeShown0123456789";
    // Two gates: one with a wrong token for a live registry, one pointed at a
    // port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/", l.local_addr().unwrap().port())
    };
    for (url, token) in [
        (registry.url.as_str(), wrong_token),
        (dead.as_str(), wrong_token),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gate.toml"), npm_gate_config(&ci, url, 3)).unwrap();
        write_gate_key(dir.path());
        write_token(dir.path(), token, 0o600);
        let gate = Gate::start_in(dir);
        let secrets = vec![
            enroll(&gate, "alice", "hello"),
            enroll(&gate, "bob", "hello"),
        ];
        let tgz = npm_pack(work.path(), gate.path(), &package("3.0.0", "x"));
        let ci_token = ci.github_token("shipgate-test", "acme/hello", "42", "3.0.0", &[]);
        let mut outputs = vec![gate.stage(&ci_token, "hello", "3.0.0", &[&tgz])];
        assert_exit(&outputs[0], 0);
        outputs.extend(approve_both(&gate, "1", &secrets));
        let view = wait_for_targets(&gate, "1");
        assert_eq!(view["state"], "released", "nothing lost: {view}");
        let target = &view["targets"][0];
        assert_eq!(target["state"], "failed", "{view}");
        let error = target["last_error"].as_str().unwrap();
        assert!(!error.is_empty());
        if url == dead {
            assert_eq!(target["attempts"], 3, "retried: {view}");
            assert!(error.contains("gave up after 3 attempts"), "{error}");
        }
        let entries = log_entries(&gate);
        assert!(entries.contains("publish_failed"), "{entries}");
        let show = gate.cli(
            &[],
            &["release", "show", "1", "--gate", &gate.url, "--json"],
        );
        outputs.push(show);
        let (_, dir) = gate.terminate();
        for file in all_files(dir.path()) {
            if file.file_name().is_some_and(|n| n == "npm-token") {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !contains(&bytes, token.as_bytes()),
                "the token is in {}",
                file.display()
            );
        }
        assert!(!contains(&outputs_text(&outputs), token.as_bytes()));
        assert!(!contains(entries.as_bytes(), token.as_bytes()));
    }
    let absent = npm(work.path())
        .args([
            "view",
            "hello@3.0.0",
            "version",
            "--registry",
            &registry.url,
        ])
        .output()
        .unwrap();
    assert!(!absent.status.success());
}

/// The crash drill for the outbox: the gate is killed (SIGKILL) while its
/// job is pending (the registry is not up yet), the registry comes up, the
/// gate restarts and publishes the approved bytes exactly once.
#[test]
fn a_gate_killed_with_a_pending_job_publishes_it_once_after_restart() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let down = crate::publish_util::DownRegistry::start();
    let url = format!("http://127.0.0.1:{}/", down.port());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        npm_gate_config(&ci, &url, 1000),
    )
    .unwrap();
    write_gate_key(dir.path());
    // The registry's token is only known once it runs: a placeholder first.
    write_token(dir.path(), "placeholder", 0o600);
    let gate = Gate::start_in(dir);
    let secrets = vec![
        enroll(&gate, "alice", "hello"),
        enroll(&gate, "bob", "hello"),
    ];
    let tgz = npm_pack(work.path(), gate.path(), &package("4.0.0", "crash"));
    let ci_token = ci.github_token("shipgate-test", "acme/hello", "42", "4.0.0", &[]);
    assert_exit(&gate.stage(&ci_token, "hello", "4.0.0", &[&tgz]), 0);
    approve_both(&gate, "1", &secrets);
    // Wait until the worker has tried (and failed) at least once.
    crate::publish_util::wait_for_first_failed_attempt(&gate, "1");
    let dir = gate.kill();

    let registry = crate::publish_util::verdaccio_on(work.path(), down.release());
    write_token(dir.path(), &registry.token, 0o600);
    let gate = Gate::start_in(dir);
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["targets"][0]["state"], "published", "{view}");
    let versions = crate::publish_util::npm_versions(work.path(), &registry.url);
    assert_eq!(
        versions,
        serde_json::json!(["4.0.0"]),
        "held once: {versions}"
    );
    // The registry holds the approved bytes: the sha512 of the approved
    // blob, as the gate computed it.
    let integrity = view["targets"][0]["integrity"][0]["integrity"]
        .as_str()
        .unwrap();
    let viewed = npm(work.path())
        .args([
            "view",
            "hello@4.0.0",
            "dist.integrity",
            "--registry",
            &registry.url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&viewed.stdout).trim(), integrity);
    let expected = {
        use base64::Engine as _;
        use sha2::Digest as _;
        let bytes = std::fs::read(gate.path().join(&tgz)).unwrap();
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&bytes))
        )
    };
    assert_eq!(integrity, expected);
    // Exactly one `published` event for the release.
    assert_eq!(
        event_kinds(&gate)
            .iter()
            .filter(|k| *k == "published")
            .count(),
        1
    );
}

/// The shell command that mints a fresh acme/hello CI token for v`version`.
fn mint_command(ci: &CiIssuer, version: &str) -> String {
    let keys = ci.dir.path().join("keys").display().to_string();
    let args = ci.issue_args(&keys, "shipgate-test", "acme/hello", "42", version, &[]);
    std::iter::once(env!("CARGO_BIN_EXE_shipgate").to_owned())
        .chain(args)
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `stage --wait --until published` ends when the gate has published (exit
/// 0, the target's URL on stderr), and with exit 1 naming the target and its
/// error when publishing fails.
#[test]
fn stage_wait_until_published_follows_the_targets() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    let dead = format!("http://127.0.0.1:{}/", crate::publish_util::unused_port());
    for (url, expected_exit) in [(registry.url.as_str(), 0), (dead.as_str(), 1)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gate.toml"), npm_gate_config(&ci, url, 2)).unwrap();
        write_gate_key(dir.path());
        write_token(dir.path(), &registry.token, 0o600);
        let gate = Gate::start_in(dir);
        let secrets = vec![
            enroll(&gate, "alice", "hello"),
            enroll(&gate, "bob", "hello"),
        ];
        let tgz = npm_pack(work.path(), gate.path(), &package("5.0.0", "waited"));
        let child = crate::util::shipgate()
            .current_dir(gate.path())
            .env("SHIPGATE_CONFIG_DIR", gate.path().join("user-config"))
            .env("SHIPGATE_CACHE_DIR", gate.path().join("jwks-cache"))
            .env_remove("SHIPGATE_OIDC_TOKEN")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .args([
                "stage",
                "--wait",
                "--until",
                "published",
                "--timeout",
                "2m",
                "--gate",
                &gate.url,
                "--package",
                "hello",
                "--version",
                "5.0.0",
                "--token-command",
                &mint_command(&ci, "5.0.0"),
                &tgz,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Approve once the release is staged.
        let start = std::time::Instant::now();
        while gate.get("/v1/releases/1").0 != 200 {
            assert!(start.elapsed() < std::time::Duration::from_secs(60));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        approve_both(&gate, "1", &secrets);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(expected_exit), "{}", stderr(&out));
        let err = stderr(&out);
        if expected_exit == 0 {
            assert!(err.contains("target npm"), "{err}");
            assert!(err.contains(": published at "), "{err}");
            assert!(
                stdout(&out).trim().starts_with("eyJ"),
                "the execution token follows"
            );
        } else {
            assert!(
                err.contains(&format!("the npm target {dead} is failed")),
                "{err}"
            );
            assert!(stdout(&out).trim().is_empty());
        }
        assert!(!contains(&out.stderr, registry.token.as_bytes()));
    }
}

/// npm scoped names: the gate's package `acme-hello` publishes `@acme/hello`
/// (the target's `name`); staging checks the tarball against that name.
#[test]
fn a_scoped_npm_name_is_published_through_the_target_name() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    let dir = tempfile::tempdir().unwrap();
    let config = npm_gate_config(&ci, &registry.url, 3)
        .replace("name = \"hello\"", "name = \"acme-hello\"")
        .replace(
            "tag = \"latest\"",
            "tag = \"latest\"\nname = \"@acme/hello\"",
        );
    std::fs::write(dir.path().join("gate.toml"), config).unwrap();
    write_gate_key(dir.path());
    write_token(dir.path(), &registry.token, 0o600);
    let gate = Gate::start_in(dir);
    let secrets = vec![
        enroll(&gate, "alice", "acme-hello"),
        enroll(&gate, "bob", "acme-hello"),
    ];
    // A tarball named after the gate's package, not the registry's: refused.
    let wrong = npm_pack(
        work.path(),
        gate.path(),
        &serde_json::json!({ "name": "acme-hello", "version": "1.0.0" }),
    );
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let refused = gate.stage(&token, "acme-hello", "1.0.0", &[&wrong]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        stderr(&refused).contains("expected \"@acme/hello\""),
        "{}",
        stderr(&refused)
    );

    let tgz = npm_pack(
        work.path(),
        gate.path(),
        &serde_json::json!({ "name": "@acme/hello", "version": "1.0.0" }),
    );
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    assert_exit(&gate.stage(&token, "acme-hello", "1.0.0", &[&tgz]), 0);
    approve_both(&gate, "1", &secrets);
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["targets"][0]["state"], "published", "{view}");
    let viewed = npm(work.path())
        .args([
            "view",
            "@acme/hello@1.0.0",
            "dist.integrity",
            "--registry",
            &registry.url,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&viewed.stdout).trim(),
        view["targets"][0]["integrity"][0]["integrity"]
            .as_str()
            .unwrap()
    );
}
