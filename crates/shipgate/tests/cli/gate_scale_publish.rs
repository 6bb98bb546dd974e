//! Publishing from three replicas that share one outbox (PostgreSQL): every
//! replica's worker wakes for the same due jobs at once, and each job is
//! uploaded by exactly one of them. Peers: PostgreSQL (`pg_util.rs`) and a
//! real Verdaccio with the real `npm` client (`publish_util.rs`).

use crate::gate_scale::three_replicas;
use crate::gate_util::{CiIssuer, Gate, enroll, json, totp};
use crate::pg_util::PgDatabase;
use crate::publish_util::{
    npm_gate_config, npm_pack, npm_versions, wait_for_first_failed_attempt, wait_for_targets,
    write_token,
};
use crate::util::assert_exit;

const RELEASES: usize = 3;

/// Lines of a replica's log that report an upload by its worker for `release`.
fn uploads_logged(gate: &Gate, release: i64) -> usize {
    gate.log()
        .lines()
        .filter(|l| l.contains(" published ") || l.ends_with(" published"))
        .filter(|l| l.contains(&format!("release={release} ")))
        .count()
}

/// Releases approved while the registry is down leave their jobs pending
/// with retries due; all three replicas are restarted at once once it is up,
/// so their workers race for the same jobs: each is uploaded once, by one
/// replica, and npm sees every version once with the approved bytes.
#[test]
fn three_replicas_publish_each_job_once() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let down = crate::publish_util::DownRegistry::start();
    let registry_url = format!("http://127.0.0.1:{}/", down.port());
    // The token is only known once the registry runs: a placeholder first,
    // in a file all replicas read (one credential, as a secret store gives).
    let secrets = tempfile::tempdir().unwrap();
    write_token(secrets.path(), "placeholder", 0o600);
    let maintainers: Vec<String> = (1..=RELEASES).map(|i| format!("\"p{i}\"")).collect();
    let config = npm_gate_config(&ci, &registry_url, 1000)
        .replace(
            "token_file = \"npm-token\"",
            &format!(
                "token_file = \"{}\"",
                secrets.path().join("npm-token").display()
            ),
        )
        .replace(
            "maintainers = [\"alice\", \"bob\"]\nquorum = 2",
            &format!("maintainers = [{}]\nquorum = 1", maintainers.join(", ")),
        );
    assert!(config.contains("quorum = 1"), "{config}");
    let database = PgDatabase::new();
    let (_shared, gates) = three_replicas(&config, &database.url);

    // Stage and approve one release on each replica (the registry is down).
    let mut ids = Vec::new();
    for (i, gate) in gates.iter().enumerate() {
        let (token, secret) = enroll(gate, &format!("p{}", i + 1), "hello");
        let version = format!("5.0.{i}");
        let package = serde_json::json!({
            "name": "hello", "version": version, "description": "replicas", "main": "index.js"
        });
        let tgz = npm_pack(work.path(), gate.path(), &package);
        let ci_token = ci.github_token("shipgate-test", "acme/hello", "42", &version, &[]);
        let staged = gate.stage(&ci_token, "hello", &version, &[&tgz, "--json"]);
        assert_exit(&staged, 0);
        let id = json(&staged)["id"].as_i64().unwrap();
        let approved = gate.cli(
            &[("SHIPGATE_MAINTAINER_TOKEN", &token)],
            &[
                "approve",
                &id.to_string(),
                "--gate",
                &gate.url,
                "--code",
                &totp(&secret, 0),
            ],
        );
        assert_exit(&approved, 0);
        ids.push(id);
    }
    // Every job has failed at least once, so it waits for a retry.
    for id in &ids {
        wait_for_first_failed_attempt(&gates[0], &id.to_string());
    }

    // Down with all three, up with the registry, then all three at once.
    let dirs: Vec<_> = gates.into_iter().map(Gate::kill).collect();
    let registry = crate::publish_util::verdaccio_on(work.path(), down.release());
    write_token(secrets.path(), &registry.token, 0o600);
    let gates: Vec<Gate> = dirs.into_iter().map(Gate::start_in).collect();

    for id in &ids {
        let view = wait_for_targets(&gates[0], &id.to_string());
        assert_eq!(view["targets"][0]["state"], "published", "{view}");
        let uploads: usize = gates.iter().map(|g| uploads_logged(g, *id)).sum();
        let logs: Vec<String> = gates.iter().map(Gate::log).collect();
        assert_eq!(
            uploads, 1,
            "release {id} uploaded {uploads} times:\n{logs:#?}"
        );
    }
    let versions = npm_versions(work.path(), &registry.url);
    assert_eq!(versions, serde_json::json!(["5.0.0", "5.0.1", "5.0.2"]));
}
