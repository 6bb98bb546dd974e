//! The gate with its blobs in an S3 bucket (a real S3 server on loopback,
//! `SHIPGATE_S3_SERVER`): stage, approve with TOTP, fetch; the bytes live in
//! the bucket and nowhere in the data directory; `/healthz` fails when the
//! bucket goes away. `SHIPGATE_TEST_BLOBS=s3` runs every other gate test
//! with a bucket too (see [`with_s3_blobs`]).

use std::path::Path;

use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, json, sha256_hex, totp};
use crate::util::assert_exit;

#[path = "../../../shipgate-gate/src/blobs/test_server.rs"]
pub mod s3_server;

/// `config` with its blobs in a fresh bucket of `server`.
pub fn s3_config(config: &str, server: &s3_server::S3Server) -> String {
    s3_config_for_bucket(config, server, &server.fresh_bucket())
}

/// `config` with its blobs in `bucket` of `server`.
pub fn s3_config_for_bucket(config: &str, server: &s3_server::S3Server, bucket: &str) -> String {
    format!(
        "blobs = \"s3://{bucket}/gate\"\n{config}\n\n[blobs_s3]\nendpoint = \"{endpoint}\"\n\
         region = \"{region}\"\nallow_http = true\naccess_key_id = \"{key}\"\n\
         secret_access_key = \"{secret}\"\nmax_retries = 1\nretry_timeout_seconds = 5\n\
         sweep_grace_minutes = 0\n",
        endpoint = server.endpoint,
        region = s3_server::REGION,
        key = s3_server::ACCESS_KEY,
        secret = s3_server::SECRET_KEY,
    )
}

/// With `SHIPGATE_TEST_BLOBS=s3`, rewrites the `gate.toml` in `dir` (once:
/// a restarted gate keeps its bucket) so the gate keeps its blobs in a
/// fresh bucket of this process's test S3 server.
pub fn with_s3_blobs(dir: &Path) {
    if std::env::var("SHIPGATE_TEST_BLOBS").as_deref() != Ok("s3") {
        return;
    }
    let path = dir.join("gate.toml");
    let Ok(config) = std::fs::read_to_string(&path) else {
        return;
    };
    if config.contains("blobs =") || config.contains("[blobs_s3]") {
        return;
    }
    std::fs::write(&path, s3_config(&config, s3_server::shared())).unwrap();
}

/// The blob keys stored by the gate in `dir` (its `data/blobs`, or its
/// bucket when `gate.toml` names one), with anything else in the directory
/// (temp files) too, so tests can say "nothing is left".
pub fn stored_files(dir: &Path) -> Vec<String> {
    let config = std::fs::read_to_string(dir.join("gate.toml")).unwrap_or_default();
    let setting = |key: &str| {
        config.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
    };
    let (Some(location), Some(endpoint)) = (setting("blobs"), setting("endpoint")) else {
        return std::fs::read_dir(dir.join("data/blobs"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
    };
    let location = location.strip_prefix("s3://").unwrap();
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    let port = endpoint.rsplit(':').next().unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /{bucket}?list-type=2&prefix={prefix}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
        .split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next())
        .map(|key| key.rsplit('/').next().unwrap_or(key).to_owned())
        .collect()
}

#[test]
fn stage_approve_fetch_with_blobs_in_a_bucket() {
    let server = s3_server::S3Server::start();
    let ci = CiIssuer::start();
    let config =
        bound_config(&ci.url).replace("max_upload_bytes = 1048576", "max_upload_bytes = 67108864");
    let gate = Gate::start(&s3_config(&config, &server));
    let (alice, alice_secret) = enroll(&gate, "alice", "hello");
    let (bob, bob_secret) = enroll(&gate, "bob", "hello");
    let dir = gate.path();
    // Larger than one PUT: it goes up as a multipart upload.
    let big: Vec<u8> = (0..20_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.join("hello.tar.gz"), &big).unwrap();
    std::fs::write(dir.join("README.txt"), b"hello 1.0.0\n").unwrap();

    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let out = gate.stage(&token, "hello", "1.0.0", &["hello.tar.gz", "README.txt"]);
    assert_exit(&out, 0);

    for (who, secret) in [(&alice, &alice_secret), (&bob, &bob_secret)] {
        let out = gate.cli(
            &[("SHIPGATE_MAINTAINER_TOKEN", who)],
            &[
                "approve",
                "1",
                "--gate",
                &gate.url,
                "--code",
                &totp(secret, 0),
            ],
        );
        assert_exit(&out, 0);
    }
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
    assert_eq!(json(&out)["package"], "hello", "{}", json(&out));
    assert_eq!(std::fs::read(dir.join("got/hello.tar.gz")).unwrap(), big);
    assert_eq!(
        std::fs::read(dir.join("got/README.txt")).unwrap(),
        b"hello 1.0.0\n"
    );
    // The bytes are in the bucket, not in the data directory.
    let mut stored = stored_files(dir);
    stored.sort();
    let mut expected = vec![sha256_hex(&big), sha256_hex(b"hello 1.0.0\n")];
    expected.sort();
    assert_eq!(stored, expected);
    let blob_dir = dir.join("data/blobs");
    let local: Vec<_> = std::fs::read_dir(&blob_dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(local.is_empty(), "{local:?}");

    let (status, body) = gate.get("/healthz");
    assert_eq!(status, 200, "{body}");
    // The bucket goes away: the replica says so.
    drop(server);
    let (status, body) = gate.get("/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"blobs\":{\"ok\":false}"), "{body}");
    let out = gate.cli(
        &[],
        &[
            "fetch", "--gate", &gate.url, "hello", "1.0.0", "--out", "again",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        !gate.log().contains(s3_server::SECRET_KEY),
        "{}",
        gate.log()
    );
}

#[test]
fn a_malformed_bucket_setting_is_refused_at_start_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        format!(
            "blobs = \"s3://Not_A_Bucket/x\"\n{}",
            crate::gate_util::default_config("")
        ),
    )
    .unwrap();
    crate::gate_util::write_gate_key(dir.path());
    let out = crate::util::shipgate()
        .current_dir(dir.path())
        .args(["serve", "--config", "gate.toml"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = crate::util::stderr(&out);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("gate.toml: blobs: bucket \"Not_A_Bucket\""),
        "{err}"
    );
}
