//! Helpers for the release-gate tests: a real `shipgate serve` on loopback
//! with a config in a temp dir, and a raw HTTP/1.1 client (raw so that tests
//! can send garbled and hostile requests byte for byte).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use crate::util::shipgate;

/// A running gate; killed when dropped.
pub struct Gate {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    pub stderr_path: PathBuf,
}

/// A config with packages `hello` (alice, bob; quorum 2) and `other` (carol).
pub fn default_config(extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = 1048576
{extra}
[[package]]
name = "hello"
maintainers = ["alice", "bob"]
quorum = 2

[[package]]
name = "other"
maintainers = ["carol"]
"#
    )
}

impl Gate {
    /// Writes `config` (and a gate key) into a fresh temp dir and starts the server.
    pub fn start(config: &str) -> Gate {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gate.toml"), config).unwrap();
        write_gate_key(dir.path());
        Self::start_in(dir)
    }

    /// Starts `shipgate serve` on the config already in `dir`.
    pub fn start_in(dir: tempfile::TempDir) -> Gate {
        Self::start_in_with_env(dir, &[])
    }

    /// [`Gate::start_in`] with extra environment variables for the server.
    pub fn start_in_with_env(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Gate {
        crate::gate_blobs_s3::with_s3_blobs(dir.path());
        crate::pg_util::with_test_backend(dir.path());
        let stderr_path = dir.path().join("serve.stderr");
        // Appended to: a restarted gate keeps the log of the runs before.
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .unwrap();
        let mut child = shipgate()
            .current_dir(dir.path())
            .env("SHIPGATE_LOG", "info")
            .envs(env.iter().copied())
            .args(["serve", "--config", "gate.toml"])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "server did not start: {line:?}\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                )
            })
            .to_owned();
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Gate {
            url: format!("http://{addr}"),
            port,
            child: Some(child),
            dir,
            stderr_path,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let status = child.wait().unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (status, dir)
    }

    /// Kills the server with SIGKILL (a crash) and keeps its directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Runs `shipgate admin ARGS --config gate.toml` in the gate's directory.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", "gate.toml"]);
        crate::util::run_in(self.path(), &all)
    }

    /// Sends a raw request and returns (status, body).
    pub fn raw(&self, request: &[u8]) -> (u16, String) {
        raw_http(self.port, request)
    }

    /// A simple request with optional bearer token and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, String) {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(token) = bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, None, None, b"")
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes `gate.key` and `gate.pub` in `dir` with `shipgate keygen`.
pub fn write_gate_key(dir: &Path) {
    let out = crate::util::run_in(dir, &["keygen", "-s", "gate.key", "-p", "gate.pub"]);
    crate::util::assert_exit(&out, 0);
}

/// Raw HTTP/1.1 over loopback; the server must close the connection.
pub fn raw_http(port: u16, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The server may answer and close before reading a whole hostile body.
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, decode_chunked_if_needed(&text, body))
}

fn decode_chunked_if_needed(full: &str, body: String) -> String {
    let head = full
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if !head.contains("transfer-encoding: chunked") {
        return body;
    }
    let mut out = String::new();
    let mut rest = body.as_str();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n.min(after.len())]);
        rest = after.get(n + 2..).unwrap_or("");
    }
    out
}

/// Parses a JSON error body and returns its code.
pub fn error_code(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    value["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
        .to_owned()
}

/// Enrols `user` for `package` and returns (token, totp secret).
pub fn enroll(gate: &Gate, user: &str, package: &str) -> (String, String) {
    let out = gate.admin(&["enroll", user, "--package", package]);
    crate::util::assert_exit(&out, 0);
    let text = crate::util::stdout(&out);
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("sgm_"))
        .unwrap()
        .to_owned();
    let uri = text
        .split_whitespace()
        .find(|w| w.starts_with("otpauth://"))
        .unwrap();
    let secret = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    (token, secret)
}

/// The TOTP code for `secret` at now + `offset_steps` steps, computed by an
/// independent RFC 6238 implementation (Python's standard library).
pub fn totp(secret: &str, offset_steps: i64) -> String {
    const SCRIPT: &str = "import base64,hashlib,hmac,struct,sys,time\n\
s=sys.argv[1]; k=base64.b32decode(s+'='*(-len(s)%8))\n\
c=int(time.time())//30+int(sys.argv[2])\n\
h=hmac.new(k,struct.pack('>Q',c),hashlib.sha1).digest(); o=h[-1]&15\n\
print('%08d'%((struct.unpack('>I',h[o:o+4])[0]&0x7fffffff)%100000000))";
    let out = std::process::Command::new(crate::util::peer("python3"))
        .args(["-c", SCRIPT, secret, &offset_steps.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A stand-in CI provider: a key directory and a real `shipgate oidc serve`.
pub struct CiIssuer {
    pub dir: tempfile::TempDir,
    pub url: String,
    child: Child,
}

impl CiIssuer {
    pub fn start() -> CiIssuer {
        let dir = tempfile::tempdir().unwrap();
        let out = crate::util::run_in(dir.path(), &["oidc", "keygen", "--dir", "keys"]);
        crate::util::assert_exit(&out, 0);
        let mut child = shipgate()
            .current_dir(dir.path())
            .args([
                "oidc",
                "serve",
                "--keys",
                "keys",
                "--issuer",
                "http://127.0.0.1:0",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("issuer did not start: {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        CiIssuer { dir, url, child }
    }

    /// A GitHub-shaped token for `repository` (owner id `owner_id`) at tag `v{version}`,
    /// minted by the real `shipgate oidc issue`. `extra` overrides or adds claims.
    pub fn github_token(
        &self,
        audience: &str,
        repository: &str,
        owner_id: &str,
        version: &str,
        extra: &[&str],
    ) -> String {
        let args = self.issue_args("keys", audience, repository, owner_id, version, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = crate::util::run_in(self.dir.path(), &args);
        crate::util::assert_exit(&out, 0);
        crate::util::stdout(&out).trim().to_owned()
    }

    /// The arguments of the `shipgate oidc issue` that mints
    /// [`CiIssuer::github_token`]'s token, with the key directory `keys`.
    pub fn issue_args(
        &self,
        keys: &str,
        audience: &str,
        repository: &str,
        owner_id: &str,
        version: &str,
        extra: &[&str],
    ) -> Vec<String> {
        let subject = format!("repo:{repository}:environment:release");
        let mut args = vec![
            "oidc".to_owned(),
            "issue".into(),
            "--keys".into(),
            keys.into(),
            "--issuer".into(),
            self.url.clone(),
            "--audience".into(),
            audience.into(),
            "--subject".into(),
            subject,
        ];
        for c in github_claims(repository, owner_id, version, extra) {
            args.push("--claim".into());
            args.push(c);
        }
        args
    }

    /// A token signed with the issuer's real key that expired an hour ago,
    /// minted by an independent JWT implementation (PyJWT).
    pub fn expired_token(&self, audience: &str, repository: &str, owner_id: &str) -> String {
        const SCRIPT: &str = r#"
import glob, json, sys, time, urllib.request
import jwt
issuer, audience, repository, owner, keydir = sys.argv[1:6]
discovery = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration"))
jwks = json.load(urllib.request.urlopen(discovery["jwks_uri"]))
kid = jwks["keys"][0]["kid"]
pem = open(sorted(glob.glob(keydir + "/*.pem"))[-1], "rb").read()
now = int(time.time())
claims = {"iss": issuer, "aud": audience, "sub": "repo:" + repository, "iat": now - 7200,
          "nbf": now - 7200, "exp": now - 3600, "jti": "expired-" + str(now),
          "repository": repository, "repository_owner_id": owner,
          "workflow_ref": repository + "/.github/workflows/release.yml@refs/tags/v9.0.0",
          "ref": "refs/tags/v9.0.0", "sha": "ab" * 20, "run_id": "1", "environment": "release",
          "event_name": "push"}
print(jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid}))
"#;
        let keydir = self.dir.path().join("keys");
        let out = std::process::Command::new(crate::util::peer("python3"))
            .args(["-c", SCRIPT, &self.url, audience, repository, owner_id])
            .arg(&keydir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "PyJWT: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for CiIssuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binding lines that accept any deployment environment and any ref,
/// on purpose (a GitHub binding must say one or the other).
pub const ANY_ENVIRONMENT_AND_REF: &str = "environment = \"*\"\nref = \"*\"\n";

/// A `[[package.publisher]]` table binding `repository`'s release workflow
/// on GitHub (`issuer`); `extra` adds lines: at least `environment` and
/// `ref` (or [`ANY_ENVIRONMENT_AND_REF`]).
pub fn github_publisher(issuer: &str, repository: &str, owner_id: &str, extra: &str) -> String {
    format!(
        r#"[[package.publisher]]
provider = "github"
issuer = "{issuer}"
repository = "{repository}"
repository_owner_id = "{owner_id}"
workflow = ".github/workflows/release.yml"
{extra}"#
    )
}

/// The binding of `hello` to acme/hello's tagged releases in environment `release`.
pub fn hello_publisher(issuer: &str) -> String {
    github_publisher(
        issuer,
        "acme/hello",
        "42",
        "environment = \"release\"\nref = \"refs/tags/v*\"\n",
    )
}

/// A gate config whose publishers are bound to `issuer`:
/// `hello` (acme/hello, owner 42; maintainers alice, bob, erin, frank; quorum 2)
/// and `other` (acme/other, owner 43; maintainer carol; quorum 1).
pub fn bound_config(issuer: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = 1048576

[[package]]
name = "hello"
maintainers = ["alice", "bob", "erin", "frank"]
quorum = 2

{hello}
[[package]]
name = "other"
maintainers = ["carol"]
quorum = 1

{other}"#,
        hello = hello_publisher(issuer),
        other = github_publisher(issuer, "acme/other", "43", ANY_ENVIRONMENT_AND_REF),
    )
}

/// The `announce` JSON for files given as (name, bytes).
pub fn announce(files: &[(&str, &[u8])]) -> String {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, data)| {
            serde_json::json!({ "name": name, "size": data.len(), "sha256": sha256_hex(data) })
        })
        .collect();
    serde_json::json!({ "files": files }).to_string()
}

/// A multipart staging body (announce + one part per file) built by hand,
/// so tests can also build hostile ones.
pub fn multipart(announce: &str, parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "XshipgateTestBoundaryX";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"announce\"\r\nContent-Type: application/json\r\n\r\n{announce}\r\n").as_bytes());
    for (name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Mints GitHub-shaped CI tokens in-process with the key of a [`CiIssuer`]
/// (the same signing code `shipgate oidc issue` runs, without a process per
/// token), for drills that stage hundreds of releases.
pub struct Minter {
    issuer: shipgate_oidc::Issuer,
}

impl Minter {
    pub fn new(ci: &CiIssuer) -> Minter {
        let ring = shipgate_oidc::KeyDir::new(ci.dir.path().join("keys"))
            .load()
            .unwrap();
        let issuer = shipgate_oidc::Issuer::new(&ci.url, ring.newest().clone()).unwrap();
        Minter { issuer }
    }

    /// A token like [`CiIssuer::github_token`] without extra claims.
    pub fn github_token(
        &self,
        audience: &str,
        repository: &str,
        owner_id: &str,
        version: &str,
    ) -> String {
        let claims = github_claims(repository, owner_id, version, &[])
            .into_iter()
            .map(|claim| {
                let (key, value) = claim.split_once('=').unwrap();
                (key.to_owned(), serde_json::Value::from(value))
            })
            .collect();
        let request = shipgate_oidc::TokenRequest {
            subject: format!("repo:{repository}:environment:release"),
            audience: vec![audience.to_owned()],
            ttl: std::time::Duration::from_secs(1800),
            claims,
        };
        self.issuer.issue(&request).unwrap().token
    }
}

impl Gate {
    /// The server's process id (for drills that sample its memory).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }
}

/// The claims (`key=value`) of a GitHub Actions release run of `repository`
/// (owner id `owner_id`) for tag `v{version}`; `extra` overrides or adds claims.
pub fn github_claims(
    repository: &str,
    owner_id: &str,
    version: &str,
    extra: &[&str],
) -> Vec<String> {
    let tag = format!("refs/tags/v{version}");
    let mut claims = vec![
        format!("repository={repository}"),
        format!("repository_owner_id={owner_id}"),
        format!("workflow_ref={repository}/.github/workflows/release.yml@{tag}"),
        format!("job_workflow_ref={repository}/.github/workflows/release.yml@{tag}"),
        format!("ref={tag}"),
        "sha=4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1".to_owned(),
        "run_id=987654321".to_owned(),
        "environment=release".to_owned(),
        "event_name=push".to_owned(),
    ];
    for e in extra {
        let key = e.split('=').next().unwrap();
        claims.retain(|c| !c.starts_with(&format!("{key}=")));
        claims.push((*e).to_owned());
    }
    claims
}

/// Runs `shipgate ARGS` in `dir` with a clean credential environment (no CI
/// or maintainer token, no GitHub Actions token endpoint, no default gate)
/// and its own user config (known gates) and JWKS cache under `dir`; `env`
/// is set last, so it may override any of them.
pub fn cli_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = shipgate();
    cmd.current_dir(dir)
        .env("SHIPGATE_CONFIG_DIR", dir.join("user-config"))
        .env("SHIPGATE_CACHE_DIR", dir.join("jwks-cache"))
        .env_remove("SHIPGATE_OIDC_TOKEN")
        .env_remove("SHIPGATE_MAINTAINER_TOKEN")
        .env_remove("SHIPGATE_GATE")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().unwrap()
}

impl Gate {
    /// Runs the CLI in the gate's directory (see [`cli_in`]).
    pub fn cli(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        cli_in(self.path(), env, args)
    }

    /// `shipgate stage --gate URL --package PACKAGE --version VERSION ARGS`
    /// (files and flags) with the CI token `token`.
    pub fn stage(&self, token: &str, package: &str, version: &str, args: &[&str]) -> Output {
        let mut all = vec![
            "stage",
            "--gate",
            &self.url,
            "--package",
            package,
            "--version",
            version,
        ];
        all.extend_from_slice(args);
        self.cli(&[("SHIPGATE_OIDC_TOKEN", token)], &all)
    }
}

/// Parses a command's stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    let text = crate::util::stdout(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}
