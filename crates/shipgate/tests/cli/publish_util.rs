//! Helpers for the publishing drills: a real Verdaccio on loopback (from
//! `.ci/setup-registries.sh`, `SHIPGATE_VERDACCIO`), `npm pack` confined to
//! a temp directory, and a gate whose `hello` package has an npm target.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::gate_util::{CiIssuer, Gate, hello_publisher, raw_http};
use crate::util::stdout;

/// A Verdaccio with htpasswd auth and no uplinks; killed when dropped.
pub struct Verdaccio {
    child: Child,

    pub url: String,
    pub token: String,
}

impl Drop for Verdaccio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Verdaccio in `work/verdaccio` and registers user `gate`.
pub fn verdaccio(work: &Path) -> Verdaccio {
    verdaccio_on(work, free_port())
}

/// A loopback port nothing listens on (yet).
pub fn unused_port() -> u16 {
    free_port()
}

/// A registry that is down, on a port kept for it: every connection is
/// accepted and closed at once (a transport error, so publish attempts fail
/// and are retried). Holding the port matters: a port merely left free can
/// be handed to a gate replica started meanwhile, whose 404 then reads as
/// the registry refusing the upload for good.
pub struct DownRegistry {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DownRegistry {
    pub fn start() -> DownRegistry {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                drop(stream);
            }
        });
        DownRegistry {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Frees the port (for the real registry to start on it) and returns it.
    pub fn release(mut self) -> u16 {
        self.shut();
        self.port
    }

    fn shut(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DownRegistry {
    fn drop(&mut self) {
        self.shut();
    }
}

/// [`verdaccio`] on a given port.
pub fn verdaccio_on(work: &Path, port: u16) -> Verdaccio {
    let bin = std::env::var_os("SHIPGATE_VERDACCIO").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SHIPGATE_VERDACCIO is not set: source .ci/setup-registries.sh (it installs Verdaccio 6.8.0)")
    });
    assert!(
        bin.exists(),
        "SHIPGATE_VERDACCIO={} does not exist",
        bin.display()
    );
    let root = work.join("verdaccio");
    std::fs::create_dir_all(&root).unwrap();
    let config = root.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "storage: {}\nauth:\n  htpasswd:\n    file: {}\n    max_users: 100\nuplinks: {{}}\npackages:\n  '**':\n    access: $all\n    publish: $authenticated\nmax_body_size: 400mb\nlog: {{ type: stdout, format: pretty, level: warn }}\n",
            root.join("storage").display(),
            root.join("htpasswd").display()
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
        .unwrap();
    let mut registry = Verdaccio {
        child,

        url: format!("http://127.0.0.1:{port}/"),
        token: String::new(),
    };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Verdaccio did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = r#"{"name":"gate","password":"gate-password-1"}"#;
    let request = format!(
        "PUT /-/user/org.couchdb.user:gate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, answer) = raw_http(port, request.as_bytes());
    assert!(
        (200..300).contains(&status),
        "Verdaccio adduser: {status} {answer}"
    );
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    registry.token = answer["token"].as_str().unwrap().to_owned();
    registry
}

/// npm confined to `home` (cache, user config), no update checks.
pub fn npm(home: &Path) -> Command {
    let mut command = Command::new(crate::util::peer("npm"));
    command
        .env("npm_config_cache", home.join("npm-cache"))
        .env("npm_config_userconfig", home.join("npmrc"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("HOME", home);
    command
}

/// `npm pack` of `package.json` (plus an index.js) into `dir`; returns the tarball's file name.
pub fn npm_pack(work: &Path, dir: &Path, package_json: &serde_json::Value) -> String {
    let source = work.join(format!(
        "src-{}-{}",
        package_json["name"].as_str().unwrap(),
        package_json["version"].as_str().unwrap()
    ));
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(
        source.join("package.json"),
        serde_json::to_vec_pretty(package_json).unwrap(),
    )
    .unwrap();
    std::fs::write(source.join("index.js"), "module.exports = 1;\n").unwrap();
    let out = npm(work)
        .args(["pack", "--json", "--pack-destination"])
        .arg(dir)
        .current_dir(&source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "npm pack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    packed[0]["filename"].as_str().unwrap().to_owned()
}

/// A gate whose `hello` (alice, bob; quorum 2) publishes to `registry` with the
/// token in `npm-token` (mode 0600), retrying quickly.
pub fn npm_gate_config(ci: &CiIssuer, registry: &str, attempts: u32) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
max_upload_bytes = 1048576

[publishing]
attempts = {attempts}
backoff_ms = 50
max_backoff_ms = 200
timeout_seconds = 5

[[package]]
name = "hello"
maintainers = ["alice", "bob"]
quorum = 2

{publisher}
[[package.target]]
kind = "npm"
registry = "{registry}"
token_file = "npm-token"
tag = "latest"
"#,
        publisher = hello_publisher(&ci.url),
    )
}

/// Writes the token file with mode `mode`.
pub fn write_token(dir: &Path, token: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("npm-token");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Polls `release show ID --json` until every target has left `pending`
/// (at most two minutes), and returns the view.
pub fn wait_for_targets(gate: &Gate, id: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let out = gate.cli(&[], &["release", "show", id, "--gate", &gate.url, "--json"]);
        let view: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let targets = view["targets"].as_array().cloned().unwrap_or_default();
        if !targets.is_empty() && targets.iter().all(|t| t["state"] != "pending") {
            return view;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "targets still pending: {view}\n{}",
            gate.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every file under `dir`, recursively.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The Python with pypiserver, passlib and build (`SHIPGATE_PYTHON`, from
/// `.ci/setup-registries.sh`).
pub fn python() -> PathBuf {
    let python = std::env::var_os("SHIPGATE_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SHIPGATE_PYTHON is not set: source .ci/setup-registries.sh (it installs pypiserver, passlib and build)")
    });
    let ok = Command::new(&python)
        .args(["-c", "import pypiserver, passlib, build"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} lacks pypiserver, passlib or build",
        python.display()
    );
    python
}

/// A pypiserver whose uploads need user `gate` (password `gate-password-1`).
pub struct Pypiserver {
    child: Child,
    pub url: String,
}

impl Drop for Pypiserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn pypiserver(work: &Path) -> Pypiserver {
    let python = python();
    let root = work.join("pypiserver");
    std::fs::create_dir_all(root.join("packages")).unwrap();
    let htpasswd = root.join("htpasswd");
    let made = Command::new(&python)
        .args([
            "-c",
            "import sys\nfrom passlib.apache import HtpasswdFile\nh = HtpasswdFile(sys.argv[1], new=True)\nh.set_password('gate', 'gate-password-1')\nh.save()",
        ])
        .arg(&htpasswd)
        .status()
        .unwrap();
    assert!(made.success());
    let port = free_port();
    let child = Command::new(&python)
        .args([
            "-m",
            "pypiserver",
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args(["-a", "update", "--hash-algo", "sha256", "-P"])
        .arg(&htpasswd)
        .arg(root.join("packages"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Pypiserver {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "pypiserver did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// `python -m build` (wheel and sdist) of project `name` `version` into
/// `dest`; returns (wheel, sdist) file names.
pub fn python_build(work: &Path, dest: &Path, name: &str, version: &str) -> (String, String) {
    let source = work.join(format!("py-{name}-{version}"));
    let out = work.join(format!("py-out-{name}-{version}"));
    std::fs::create_dir_all(source.join(name)).unwrap();
    std::fs::write(
        source.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"{name}\"\nversion = \"{version}\"\n\n[project.scripts]\n{name}-cli = \"{name}:main\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        source.join(name).join("__init__.py"),
        format!("VERSION = \"{version}\"\n\ndef main():\n    print(VERSION)\n"),
    )
    .unwrap();
    let built = Command::new(python())
        .args(["-m", "build", "--no-isolation", "--outdir"])
        .arg(&out)
        .arg(&source)
        .env("HOME", work)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut wheel = String::new();
    let mut sdist = String::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::copy(&path, dest.join(&file)).unwrap();
        if file.ends_with(".whl") {
            wheel = file;
        } else if file.ends_with(".tar.gz") {
            sdist = file;
        }
    }
    (wheel, sdist)
}

/// Polls release `id` until its first target's job has failed at least
/// once and waits for a retry (at most a minute); it must stay pending.
pub fn wait_for_first_failed_attempt(gate: &Gate, id: &str) {
    let start = Instant::now();
    loop {
        let out = gate.cli(&[], &["release", "show", id, "--gate", &gate.url, "--json"]);
        let view: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(view["targets"][0]["state"], "pending", "{view}");
        if view["targets"][0]["attempts"].as_u64().unwrap_or(0) >= 1 {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{view}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The versions of `hello` the registry at `registry` lists (`npm view`).
pub fn npm_versions(home: &Path, registry: &str) -> serde_json::Value {
    let out = npm(home)
        .args([
            "view",
            "hello",
            "versions",
            "--json",
            "--registry",
            registry,
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}
