//! Benchmarks of publishing through the gate (ignored by default; run by
//! `bench/publish/run.sh`). They print figures and assert no timing:
//!
//! - approve → installable: from the approval request to the version being
//!   served by the registry (Verdaccio: `GET /NAME/VERSION` answers 200;
//!   pypiserver: the wheel is listed on `/simple/NAME/`), over 50 releases;
//! - the gate's peak RSS (VmHWM) while it stages and publishes a 200 MiB
//!   npm tarball.

use std::time::{Duration, Instant};

use crate::gate_util::{CiIssuer, Gate, Minter, enroll, raw_http, totp, write_gate_key};
use crate::publish_util::{
    npm_pack, pypiserver, python_build, verdaccio, wait_for_targets, write_token,
};
use crate::util::assert_exit;

const RELEASES: usize = 50;

fn config(
    ci: &CiIssuer,
    target: &str,
    maintainers: usize,
    max_upload: u64,
    tables: &str,
) -> String {
    let names: Vec<String> = (0..maintainers).map(|i| format!("\"m{i}\"")).collect();
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = {max_upload}

[limits]
max_pending_releases = 100
{tables}

[[package]]
name = "hello"
maintainers = [{names}]
quorum = 1

{publisher}
{target}"#,
        names = names.join(", "),
        publisher = crate::gate_util::hello_publisher(&ci.url),
    )
}

fn approve(gate: &Gate, id: i64, token: &str, secret: &str) {
    let body = format!("{{\"code\":\"{}\"}}", totp(secret, 0));
    let request = format!(
        "POST /v1/releases/{id}/approve HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, answer) = gate.raw(request.as_bytes());
    assert_eq!(status, 200, "{answer}");
}

fn get_status(port: u16, path: &str) -> (u16, String) {
    raw_http(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: {} releases, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        samples.len(),
        percentile(&samples, 50.0).as_secs_f64() * 1000.0,
        percentile(&samples, 99.0).as_secs_f64() * 1000.0,
        samples.last().unwrap().as_secs_f64() * 1000.0
    );
}

/// Stages RELEASES versions with `make` (returns the files for a version),
/// then approves each (a different maintainer per release: a TOTP code is
/// usable once per step) and measures until `installable` says so.
fn run(
    ci: &CiIssuer,
    gate: &Gate,
    make: &dyn Fn(&str) -> Vec<String>,
    installable: &dyn Fn(&str) -> bool,
) -> Vec<Duration> {
    let minter = Minter::new(ci);
    let maintainers: Vec<(String, String)> = (0..RELEASES)
        .map(|i| enroll(gate, &format!("m{i}"), "hello"))
        .collect();
    let mut samples = Vec::new();
    for (i, (token, secret)) in maintainers.iter().enumerate() {
        let version = format!("1.0.{i}");
        let files = make(&version);
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let ci_token = minter.github_token("shipgate-test", "acme/hello", "42", &version);
        assert_exit(&gate.stage(&ci_token, "hello", &version, &files), 0);
        let id = i64::try_from(i + 1).unwrap();
        let start = Instant::now();
        approve(gate, id, token, secret);
        while !installable(&version) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{version} never became installable"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        samples.push(start.elapsed());
    }
    samples
}

#[test]
#[ignore = "benchmark: bench/publish/run.sh"]
fn bench_approve_to_installable_verdaccio() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    let dir = tempfile::tempdir().unwrap();
    let target = format!(
        "[[package.target]]\nkind = \"npm\"\nregistry = \"{}\"\ntoken_file = \"npm-token\"\n",
        registry.url
    );
    std::fs::write(
        dir.path().join("gate.toml"),
        config(&ci, &target, RELEASES, 1 << 20, ""),
    )
    .unwrap();
    write_gate_key(dir.path());
    write_token(dir.path(), &registry.token, 0o600);
    let gate = Gate::start_in(dir);
    let port: u16 = registry
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let samples = run(
        &ci,
        &gate,
        &|version| {
            let package = serde_json::json!({ "name": "hello", "version": version });
            vec![npm_pack(work.path(), gate.path(), &package)]
        },
        &|version| get_status(port, &format!("/hello/{version}")).0 == 200,
    );
    report("approve -> installable, Verdaccio", samples);
}

#[test]
#[ignore = "benchmark: bench/publish/run.sh"]
fn bench_approve_to_installable_pypiserver() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let index = pypiserver(work.path());
    let dir = tempfile::tempdir().unwrap();
    let target = format!(
        "[[package.target]]\nkind = \"pypi\"\nregistry = \"{}\"\nusername = \"gate\"\ntoken_file = \"npm-token\"\n",
        index.url
    );
    std::fs::write(
        dir.path().join("gate.toml"),
        config(&ci, &target, RELEASES, 1 << 20, ""),
    )
    .unwrap();
    write_gate_key(dir.path());
    write_token(dir.path(), "gate-password-1", 0o600);
    let gate = Gate::start_in(dir);
    let port: u16 = index
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let samples = run(
        &ci,
        &gate,
        &|version| {
            let (wheel, _sdist) = python_build(work.path(), gate.path(), "hello", version);
            vec![wheel]
        },
        &|version| {
            let (status, body) = get_status(port, "/simple/hello/");
            status == 200 && body.contains(&format!("hello-{version}-py3-none-any.whl"))
        },
    );
    report("approve -> installable, pypiserver", samples);
}

#[test]
#[ignore = "benchmark: bench/publish/run.sh"]
fn bench_publishing_a_200_mib_tarball_keeps_the_gate_small() {
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path());
    let dir = tempfile::tempdir().unwrap();
    let target = format!(
        "[[package.target]]\nkind = \"npm\"\nregistry = \"{}\"\ntoken_file = \"npm-token\"\n",
        registry.url
    );
    let text = config(
        &ci,
        &target,
        1,
        300 << 20,
        "\n[publishing]\ntimeout_seconds = 300\n",
    );
    std::fs::write(dir.path().join("gate.toml"), text).unwrap();
    write_gate_key(dir.path());
    write_token(dir.path(), &registry.token, 0o600);
    let gate = Gate::start_in(dir);
    let (token, secret) = enroll(&gate, "m0", "hello");

    let package = work.path().join("package");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        package.join("package.json"),
        r#"{"name":"hello","version":"2.0.0"}"#,
    )
    .unwrap();
    let random = std::process::Command::new("head")
        .args(["-c", &(200u64 << 20).to_string(), "/dev/urandom"])
        .output()
        .unwrap();
    std::fs::write(package.join("blob.bin"), &random.stdout).unwrap();
    let tgz = gate.path().join("hello-2.0.0.tgz");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -cf - package | gzip -1 > '{}'",
            work.path().display(),
            tgz.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let size = std::fs::metadata(&tgz).unwrap().len();

    let minter = Minter::new(&ci);
    let ci_token = minter.github_token("shipgate-test", "acme/hello", "42", "2.0.0");
    assert_exit(
        &gate.stage(&ci_token, "hello", "2.0.0", &["hello-2.0.0.tgz"]),
        0,
    );
    let start = Instant::now();
    approve(&gate, 1, &token, &secret);
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["targets"][0]["state"], "published", "{view}");
    let elapsed = start.elapsed();
    let status = std::fs::read_to_string(format!("/proc/{}/status", gate.pid())).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap()
        .to_owned();
    println!(
        "200 MiB npm tarball ({} MiB on disk): staged and published in {:.1} s after approval; gate {hwm}",
        size >> 20,
        elapsed.as_secs_f64()
    );
}
