//! Publishing to a real Verdaccio: npm installs what was published, `npm view` reports our
//! integrity, a republish is a no-op, other bytes are a conflict, a bad token is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peers::verdaccio;
use common::tools::{npm, npm_pack};
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

fn package(name: &str, version: &str) -> serde_json::Value {
    serde_json::json!({ "name": name, "version": version, "description": "shipgate test", "main": "index.js" })
}

#[tokio::test(flavor = "multi_thread")]
async fn published_tarball_installs_and_republish_is_a_no_op() {
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path()).await;
    let tarball = npm_pack(
        work.path(),
        &package("@shipgate-test/demo", "1.0.0"),
        &[("index.js", "module.exports = 1;\n")],
    );
    let target = Target::new(TargetKind::Npm, registry.url.clone()).with_tag("latest");
    let credential = Credential::token(registry.token.clone());
    let publisher = Publisher::new(PublishOptions::default()).unwrap();

    let published = publisher
        .publish(&target, &credential, &[publish_file(&tarball)])
        .await
        .unwrap();
    assert!(!published.already_present);
    let integrity = published.files[0].integrity.clone();
    assert!(integrity.starts_with("sha512-"), "{integrity}");

    let viewed = run(npm(work.path()).args([
        "view",
        "@shipgate-test/demo@1.0.0",
        "dist.integrity",
        "--registry",
        &registry.url,
    ]));
    assert_eq!(viewed.trim(), integrity);

    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(&consumer).unwrap();
    run(npm(work.path())
        .args([
            "install",
            "@shipgate-test/demo@1.0.0",
            "--registry",
            &registry.url,
            "--prefix",
        ])
        .arg(&consumer));
    let installed: serde_json::Value = serde_json::from_slice(
        &std::fs::read(consumer.join("node_modules/@shipgate-test/demo/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(installed["version"], "1.0.0");

    let again = publisher
        .publish(&target, &credential, &[publish_file(&tarball)])
        .await
        .unwrap();
    assert!(
        again.already_present,
        "republishing the same bytes is a no-op"
    );
    assert_eq!(again.files[0].integrity, integrity);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_bytes_for_a_published_version_are_a_conflict_and_not_overwritten() {
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path()).await;
    let target = Target::new(TargetKind::Npm, registry.url.clone());
    let credential = Credential::token(registry.token.clone());
    let first_dir = work.path().join("first");
    let second_dir = work.path().join("second");
    let first = npm_pack(
        &first_dir,
        &package("shipgate-conflict", "1.0.0"),
        &[("index.js", "1;\n")],
    );
    let second = npm_pack(
        &second_dir,
        &package("shipgate-conflict", "1.0.0"),
        &[("index.js", "2;\n")],
    );
    let publisher = Publisher::new(PublishOptions::default()).unwrap();
    let published = publisher
        .publish(&target, &credential, &[publish_file(&first)])
        .await
        .unwrap();
    let error = publisher
        .publish(&target, &credential, &[publish_file(&second)])
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error}");
    assert!(
        error
            .to_string()
            .contains("shipgate-conflict@1.0.0 is already published with other bytes"),
        "{error}"
    );
    let viewed = run(npm(work.path()).args([
        "view",
        "shipgate-conflict@1.0.0",
        "dist.integrity",
        "--registry",
        &registry.url,
    ]));
    assert_eq!(
        viewed.trim(),
        published.files[0].integrity,
        "the first bytes stay"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_permanent_and_never_shown() {
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path()).await;
    let tarball = npm_pack(
        work.path(),
        &package("shipgate-denied", "1.0.0"),
        &[("index.js", "1;\n")],
    );
    let secret = "npm_WrongTokenThatMustNeverBeShown0123456789";
    let credential = Credential::token(secret);
    let target = Target::new(TargetKind::Npm, registry.url.clone());
    let error = Publisher::new(PublishOptions::default())
        .unwrap()
        .publish(&target, &credential, &[publish_file(&tarball)])
        .await
        .unwrap_err();
    assert!(matches!(error, PublishError::Permanent { .. }), "{error}");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{credential:?}"),
        credential.to_string(),
    ] {
        assert!(!text.contains(secret), "the token leaked: {text}");
    }
    assert!(error.to_string().contains("40"), "{error}");
    // Nothing was published.
    let status = npm(work.path())
        .args(["view", "shipgate-denied@1.0.0", "--registry", &registry.url])
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_is_down_is_retriable() {
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path()).await;
    let tarball = npm_pack(
        work.path(),
        &package("shipgate-down", "1.0.0"),
        &[("index.js", "1;\n")],
    );
    let url = registry.url.clone();
    let credential = Credential::token(registry.token.clone());
    drop(registry);
    let error = Publisher::new(PublishOptions::default())
        .unwrap()
        .publish(
            &Target::new(TargetKind::Npm, url),
            &credential,
            &[publish_file(&tarball)],
        )
        .await
        .unwrap_err();
    assert!(error.is_retriable(), "{error}");
    assert!(error.to_string().contains("could not connect"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tarball_of_many_chunks_arrives_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    let registry = verdaccio(work.path()).await;
    // Incompressible content, so the tarball spans many base64 chunks and its length is
    // not a multiple of three.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let noise: String = (0..3_000_001)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 90) as u8)
        })
        .collect();
    let tarball = npm_pack(
        work.path(),
        &package("shipgate-large", "1.0.0"),
        &[("noise.txt", &noise)],
    );
    let file = publish_file(&tarball);
    assert!(std::fs::metadata(&tarball).unwrap().len() > 1 << 20);
    let published = Publisher::new(PublishOptions::default())
        .unwrap()
        .publish(
            &Target::new(TargetKind::Npm, registry.url.clone()),
            &Credential::token(registry.token.clone()),
            std::slice::from_ref(&file),
        )
        .await
        .unwrap();
    let stored = reqwest::get(&published.url).await.unwrap();
    assert!(
        stored.status().is_success(),
        "{}: {}",
        published.url,
        stored.status()
    );
    let bytes = stored.bytes().await.unwrap();
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        file.sha256,
        "the registry stored other bytes"
    );
}
