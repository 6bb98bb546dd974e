//! The real registries, each started in its own temporary directory on a free loopback
//! port: Verdaccio (npm), pypiserver (PyPI), cargo-http-registry (cargo, sparse index).

use std::path::Path;
use std::process::{Command, Stdio};

use super::{Server, free_port, peer, python, run, wait_for_http};

pub struct Npm {
    pub server: Server,
    pub url: String,
    pub token: String,
}

/// Verdaccio with htpasswd auth, no uplinks; registers a user and returns its token.
pub async fn verdaccio(work: &Path) -> Npm {
    let bin = peer("SHIPGATE_VERDACCIO", "verdaccio");
    let port = free_port();
    let root = work.join("verdaccio");
    std::fs::create_dir_all(&root).unwrap();
    let config = root.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            r#"storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: 100
uplinks: {{}}
packages:
  '@*/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
max_body_size: 400mb
log: {{ type: stdout, format: pretty, level: warn }}
"#,
            storage = root.join("storage").display(),
            htpasswd = root.join("htpasswd").display(),
        ),
    )
    .unwrap();
    let child = Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("HOME", &root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut server = Server { child, port };
    let url = format!("http://127.0.0.1:{port}/");
    wait_for_http(&format!("{url}-/ping"), &mut server).await;
    let response = reqwest::Client::new()
        .put(format!("{url}-/user/org.couchdb.user:gate"))
        .json(&serde_json::json!({ "name": "gate", "password": "gate-password-1" }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "Verdaccio adduser: {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["token"]
        .as_str()
        .expect("Verdaccio returned no token")
        .to_owned();
    Npm { server, url, token }
}

pub struct Pypi {
    pub server: Server,
    pub url: String,
    pub user: String,
    pub password: String,
}

/// pypiserver with an htpasswd file (passlib) required for uploads, no overwriting.
pub async fn pypiserver(work: &Path) -> Pypi {
    let python = python();
    let port = free_port();
    let root = work.join("pypiserver");
    let packages = root.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    let htpasswd = root.join("htpasswd");
    run(Command::new(&python).args([
        "-c",
        "import sys\nfrom passlib.apache import HtpasswdFile\n\
         h = HtpasswdFile(sys.argv[1], new=True)\nh.set_password('gate', 'gate-password-1')\nh.save()",
    ]).arg(&htpasswd));
    let child = Command::new(&python)
        .args([
            "-m",
            "pypiserver",
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-a",
            "update",
            "--hash-algo",
            "sha256",
            "-P",
        ])
        .arg(&htpasswd)
        .arg(&packages)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start pypiserver: {e}"));
    let mut server = Server { child, port };
    let url = format!("http://127.0.0.1:{port}/");
    wait_for_http(&format!("{url}simple/"), &mut server).await;
    Pypi {
        server,
        url,
        user: "gate".to_owned(),
        password: "gate-password-1".to_owned(),
    }
}

pub struct Cargo {
    pub server: Server,
    /// `sparse+http://127.0.0.1:PORT/crates/`
    pub index: String,
}

/// cargo-http-registry; its registry directory, served under `/crates/`, is a sparse index.
pub async fn cargo_http_registry(work: &Path) -> Cargo {
    let bin = peer("SHIPGATE_CARGO_HTTP_REGISTRY", "cargo-http-registry");
    let port = free_port();
    let root = work.join("cargo-registry");
    let child = Command::new(&bin)
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg(&root)
        .env("HOME", work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut server = Server { child, port };
    let config = format!("http://127.0.0.1:{port}/crates/config.json");
    wait_for_http(&config, &mut server).await;
    Cargo {
        server,
        index: format!("sparse+http://127.0.0.1:{port}/crates/"),
    }
}
