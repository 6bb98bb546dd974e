//! Publishing to a real cargo registry (cargo-http-registry, read as a sparse index):
//! cargo resolves and downloads the published crate, a republish is a no-op, other bytes
//! are a conflict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peers::cargo_http_registry;
use common::tools::{cargo, cargo_package};
use common::{run, sha256_file};
use shipgate_registry::TargetKind;
use shipgate_registry::publish::{
    Credential, PublishError, PublishFile, PublishOptions, Publisher, Target,
};

fn publish_file(path: &std::path::Path) -> PublishFile {
    PublishFile {
        file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
        path: path.to_owned(),
        sha256: sha256_file(path),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cargo_resolves_the_published_crate() {
    let work = tempfile::tempdir().unwrap();
    let registry = cargo_http_registry(work.path()).await;
    let crate_file = cargo_package(work.path(), "shipgate-pub-demo", "0.3.0", true);
    let target = Target::new(TargetKind::Cargo, registry.index.clone());
    let credential = Credential::token("cargo-token-for-the-test");
    let publisher = Publisher::new(PublishOptions::default()).unwrap();
    let file = publish_file(&crate_file);
    let published = publisher
        .publish(&target, &credential, std::slice::from_ref(&file))
        .await
        .unwrap();
    assert!(!published.already_present);
    assert_eq!(
        published.files[0].integrity,
        format!("sha256:{}", file.sha256)
    );

    // A consumer with its own CARGO_HOME resolves and downloads it from the registry.
    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(consumer.join("src")).unwrap();
    std::fs::create_dir_all(consumer.join(".cargo")).unwrap();
    std::fs::write(
        consumer.join(".cargo/config.toml"),
        format!("[registries.gate-test]\nindex = \"{}\"\n", registry.index),
    )
    .unwrap();
    std::fs::write(
        consumer.join("Cargo.toml"),
        "[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nshipgate-pub-demo = { version = \"=0.3.0\", registry = \"gate-test\" }\n",
    )
    .unwrap();
    std::fs::write(consumer.join("src/lib.rs"), "").unwrap();
    run(cargo(work.path()).arg("fetch").current_dir(&consumer));
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains(&format!("checksum = \"{}\"", file.sha256)),
        "{lock}"
    );

    let again = publisher
        .publish(&target, &credential, &[file])
        .await
        .unwrap();
    assert!(again.already_present);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_bytes_are_a_conflict_and_git_indexes_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let registry = cargo_http_registry(work.path()).await;
    let first = cargo_package(&work.path().join("a"), "shipgate-clash", "1.0.0", false);
    let second = cargo_package(&work.path().join("b"), "shipgate-clash", "1.0.0", true);
    let target = Target::new(TargetKind::Cargo, registry.index.clone());
    let credential = Credential::token("cargo-token-for-the-test");
    let publisher = Publisher::new(PublishOptions::default()).unwrap();
    publisher
        .publish(&target, &credential, &[publish_file(&first)])
        .await
        .unwrap();
    let error = publisher
        .publish(&target, &credential, &[publish_file(&second)])
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error}");
    let entry =
        std::fs::read_to_string(work.path().join("cargo-registry/sh/ip/shipgate-clash")).unwrap();
    assert_eq!(entry.lines().count(), 1, "nothing was appended: {entry}");
    assert!(entry.contains(&sha256_file(&first)));

    let git = Target::new(
        TargetKind::Cargo,
        "https://github.com/rust-lang/crates.io-index",
    );
    let error = publisher
        .publish(&git, &credential, &[publish_file(&first)])
        .await
        .unwrap_err();
    assert!(matches!(error, PublishError::Permanent { .. }), "{error}");
    assert!(error.to_string().contains("not a sparse index"), "{error}");
}
