//! Registries that misbehave: down, 500, garbage, silent, and one that echoes the
//! credential back. A small HTTP server on loopback plays the registry; every failure is
//! classified (retriable or permanent) with a clear message and never shows the secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{TarEntry, sha256_file, wheel_entries, write_tgz, zip_bytes};
use shipgate_registry::TargetKind;
use shipgate_registry::publish::{
    Credential, PublishError, PublishFile, PublishOptions, Publisher, Target,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "s3cr3t-token-that-must-never-be-shown";

type Answer = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// Serves every connection with `answer(request head)`; `None` keeps the socket silent.
async fn serve(answer: Answer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match answer(&String::from_utf8_lossy(&head)) {
                    Some(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    url
}

fn http(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn artifacts(dir: &Path) -> Vec<(TargetKind, PublishFile)> {
    let npm = write_tgz(
        dir,
        "demo-1.0.0.tgz",
        &[TarEntry::File(
            b"package/package.json",
            br#"{"name":"demo","version":"1.0.0"}"#,
        )],
    );
    let wheel = dir.join("demo_pkg-1.0.0-py3-none-any.whl");
    std::fs::write(&wheel, zip_bytes(&wheel_entries())).unwrap();
    let krate = write_tgz(
        dir,
        "demo-1.0.0.crate",
        &[TarEntry::File(
            b"demo-1.0.0/Cargo.toml",
            b"[package]\nname = \"demo\"\nversion = \"1.0.0\"\n",
        )],
    );
    [
        (TargetKind::Npm, npm),
        (TargetKind::Pypi, wheel),
        (TargetKind::Cargo, krate),
    ]
    .into_iter()
    .map(|(kind, path)| {
        (
            kind,
            PublishFile {
                file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
                sha256: sha256_file(&path),
                path,
            },
        )
    })
    .collect()
}

fn target(kind: TargetKind, url: &str) -> Target {
    match kind {
        TargetKind::Cargo => Target::new(kind, format!("sparse+{url}")),
        _ => Target::new(kind, url),
    }
}

async fn publish_all(url: &str, options: PublishOptions) -> Vec<(TargetKind, PublishError)> {
    let dir = tempfile::tempdir().unwrap();
    let publisher = Publisher::new(options).unwrap();
    let credential = Credential::token(SECRET);
    let mut errors = Vec::new();
    for (kind, file) in artifacts(dir.path()) {
        let error = publisher
            .publish(&target(kind, url), &credential, &[file])
            .await
            .unwrap_err();
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(
                !text.contains(SECRET),
                "{kind}: the credential leaked: {text}"
            );
            assert!(!text.contains('\n'), "{kind}: not one line: {text}");
        }
        errors.push((kind, error));
    }
    errors
}

#[tokio::test]
async fn a_registry_answering_500_is_retriable() {
    let url = serve(Arc::new(|_: &str| {
        Some(http(
            "500 Internal Server Error",
            "text/plain",
            "database on fire",
        ))
    }))
    .await;
    for (kind, error) in publish_all(&url, PublishOptions::default()).await {
        assert!(error.is_retriable(), "{kind}: {error}");
        let text = error.to_string();
        assert!(
            text.contains("500") && text.contains("database on fire"),
            "{kind}: {text}"
        );
    }
}

#[tokio::test]
async fn a_registry_answering_garbage_is_retriable() {
    let url = serve(Arc::new(|head: &str| {
        // The PyPI listing and upload get HTML errors; npm and cargo get HTML where JSON is due.
        if head.starts_with("POST") {
            Some(http("502 Bad Gateway", "text/html", "<html>proxy</html>"))
        } else {
            Some(http("200 OK", "text/html", "<html>captive portal</html>"))
        }
    }))
    .await;
    for (kind, error) in publish_all(&url, PublishOptions::default()).await {
        assert!(error.is_retriable(), "{kind}: {error}");
    }
}

#[tokio::test]
async fn a_registry_speaking_no_http_is_retriable() {
    let url = serve(Arc::new(|_: &str| Some(b"SSH-2.0-OpenSSH\r\n".to_vec()))).await;
    for (kind, error) in publish_all(&url, PublishOptions::default()).await {
        assert!(error.is_retriable(), "{kind}: {error}");
    }
}

#[tokio::test]
async fn a_silent_registry_times_out_and_is_retriable() {
    let url = serve(Arc::new(|_: &str| None)).await;
    let options = PublishOptions::with_timeouts(Duration::from_secs(2), Duration::from_secs(1));
    for (kind, error) in publish_all(&url, options).await {
        assert!(error.is_retriable(), "{kind}: {error}");
        assert!(error.to_string().contains("timed out"), "{kind}: {error}");
    }
}

#[tokio::test]
async fn a_registry_that_is_down_is_retriable() {
    let port = common::free_port();
    for (kind, error) in publish_all(
        &format!("http://127.0.0.1:{port}/"),
        PublishOptions::default(),
    )
    .await
    {
        assert!(error.is_retriable(), "{kind}: {error}");
        assert!(
            error.to_string().contains("could not connect"),
            "{kind}: {error}"
        );
    }
}

#[tokio::test]
async fn a_registry_echoing_the_credential_never_gets_it_into_an_error() {
    // 401 for everything, with the request's headers (Authorization included) in the body.
    let url = serve(Arc::new(|head: &str| {
        if head.starts_with("GET /config.json") {
            // The cargo index configuration, pointing the API back at this server.
            let host = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("host: ")
                        .or_else(|| l.strip_prefix("Host: "))
                })
                .unwrap_or_default()
                .trim();
            let config = format!(r#"{{"dl":"http://{host}/dl","api":"http://{host}"}}"#);
            return Some(http("200 OK", "application/json", &config));
        }
        if head.starts_with("GET") && !head.contains("thorization") {
            // PyPI's index listing is read without credentials.
            return Some(http("404 Not Found", "text/plain", "no such project"));
        }
        let flat = head.replace("\r\n", " | ");
        Some(http("401 Unauthorized", "text/plain", &flat))
    }))
    .await;
    for (kind, error) in publish_all(&url, PublishOptions::default()).await {
        assert!(
            matches!(error, PublishError::Permanent { .. }),
            "{kind}: {error}"
        );
        let text = error.to_string();
        assert!(
            text.contains("401") && text.contains("<redacted>"),
            "{kind}: {text}"
        );
    }
    let credential = Credential::token(SECRET);
    assert_eq!(format!("{credential:?}"), "Credential(<redacted>)");
    assert_eq!(credential.to_string(), "<redacted>");
}

#[tokio::test]
async fn a_file_that_changed_since_staging_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(Arc::new(|_: &str| {
        Some(http("404 Not Found", "text/plain", ""))
    }))
    .await;
    let publisher = Publisher::new(PublishOptions::default()).unwrap();
    for (kind, mut file) in artifacts(dir.path()) {
        file.sha256 = "0".repeat(64);
        let error = publisher
            .publish(&target(kind, &url), &Credential::token(SECRET), &[file])
            .await
            .unwrap_err();
        assert!(
            matches!(error, PublishError::Artifact(_)),
            "{kind}: {error}"
        );
        assert!(
            error.to_string().contains("SHA-256 of the file says"),
            "{kind}: {error}"
        );
    }
}
