//! Publishing to a real pypiserver: pip installs exactly the published wheel, a republish
//! is a no-op, other bytes are a conflict, wrong credentials are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peers::pypiserver;
use common::tools::{python_build, python_build_with};
use common::{python, run, sha256_file};
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
async fn pip_installs_exactly_the_published_wheel() {
    let work = tempfile::tempdir().unwrap();
    let index = pypiserver(work.path()).await;
    let (wheel, sdist) = python_build(work.path(), "shipgate-pub-demo", "1.2.0");
    let target = Target::new(TargetKind::Pypi, index.url.clone());
    let credential = Credential::basic(index.user.clone(), index.password.clone());
    let publisher = Publisher::new(PublishOptions::default()).unwrap();
    let files = [publish_file(&wheel), publish_file(&sdist)];
    let published = publisher
        .publish(&target, &credential, &files)
        .await
        .unwrap();
    assert!(!published.already_present);
    assert_eq!(published.files.len(), 2);
    assert_eq!(
        published.files[0].integrity,
        format!("sha256:{}", files[0].sha256)
    );

    let report = work.path().join("report.json");
    run(std::process::Command::new(python())
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
        ])
        .arg(format!("{}simple/", index.url))
        .arg("--target")
        .arg(work.path().join("site"))
        .arg("--report")
        .arg(&report)
        .arg("shipgate-pub-demo==1.2.0")
        .env("HOME", work.path()));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let install = &report["install"][0];
    assert_eq!(
        install["download_info"]["archive_info"]["hashes"]["sha256"],
        files[0].sha256.as_str(),
        "{install}"
    );
    assert!(
        install["download_info"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&files[0].file_name)
    );

    let again = publisher
        .publish(&target, &credential, &files)
        .await
        .unwrap();
    assert!(again.already_present);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_bytes_are_a_conflict_and_bad_credentials_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let index = pypiserver(work.path()).await;
    let (first, _) = python_build(&work.path().join("a"), "shipgate-clash", "1.0");
    let target = Target::new(TargetKind::Pypi, index.url.clone());
    let publisher = Publisher::new(PublishOptions::default()).unwrap();

    let secret = "pypi-WrongPasswordThatMustNeverBeShown";
    let wrong = Credential::basic(index.user.clone(), secret);
    // pypiserver may answer 401 and close before it has read the upload, so
    // the client sees a broken pipe (retriable) instead of the status; the
    // gate's publish worker retries those, and so does this test, until the
    // refusal itself arrives.
    let mut attempts = 0;
    let error = loop {
        attempts += 1;
        let error = publisher
            .publish(&target, &wrong, &[publish_file(&first)])
            .await
            .unwrap_err();
        if !matches!(error, PublishError::Retriable { .. }) || attempts == 10 {
            break error;
        }
    };
    assert!(matches!(error, PublishError::Permanent { .. }), "{error}");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(secret), "the password leaked: {text}");
    }

    let credential = Credential::basic(index.user.clone(), index.password.clone());
    publisher
        .publish(&target, &credential, &[publish_file(&first)])
        .await
        .unwrap();
    // Same name and version, other content: another wheel with the same file name.
    let (second, _) =
        python_build_with(&work.path().join("b"), "shipgate-clash", "1.0", "# other\n");
    assert_ne!(
        sha256_file(&first),
        sha256_file(&second),
        "the rebuild must differ"
    );
    let error = publisher
        .publish(&target, &credential, &[publish_file(&second)])
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error}");
    let listed = std::fs::read(
        work.path()
            .join("pypiserver/packages")
            .join(first.file_name().unwrap()),
    )
    .unwrap();
    assert_eq!(
        listed,
        std::fs::read(&first).unwrap(),
        "the first bytes stay"
    );
}
