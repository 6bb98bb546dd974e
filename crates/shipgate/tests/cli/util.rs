//! Shared helpers for the end-to-end tests.

use std::path::Path;
use std::process::{Command, Output};

/// A `Command` for the `shipgate` binary under test, with a clean log
/// setting and a home directory of the test run's own: whatever a command
/// remembers for the user (known gates, checkpoints, the JWKS cache) lands in
/// a temporary directory, never in the real `~/.config` or `~/.cache`.
pub fn shipgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shipgate"));
    let home = test_home();
    cmd.env_remove("SHIPGATE_LOG")
        .env_remove("SHIPGATE_CONFIG_DIR")
        .env_remove("SHIPGATE_CACHE_DIR")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"));
    cmd
}

/// The home directory every command of this test run gets (one per test
/// process, in the system's temporary directory).
pub fn test_home() -> &'static Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("shipgate-test-home-")
            .tempdir()
            .expect("a temporary home directory for the tests")
    })
    .path()
}

/// Runs `shipgate ARGS` in `dir` and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    shipgate()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("spawn the shipgate binary")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Fails the test with both streams shown when the exit code is not `code`.
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Path to a test peer binary (minisign, zizmor, ...). A missing peer fails
/// the test loudly rather than skipping it: CI installs every peer.
pub fn peer(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the test peer `{name}` is not on PATH; run .ci/run (it installs every peer) or install it"
    );
}

/// `python3` with the given modules importable (the PyJWT peer). Missing
/// Python or modules fail the test loudly: `.ci/run` installs them.
pub fn python_with(modules: &[&str]) -> std::path::PathBuf {
    let python = peer("python3");
    let imports = format!("import {}", modules.join(", "));
    let out = Command::new(&python)
        .args(["-c", &imports])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 cannot `{imports}`: {}\ninstall the test peers with `python3 -m pip install -r .ci/requirements.txt` (or run .ci/run)",
        stderr(&out)
    );
    python
}

/// A child process (a server) that is killed when the test ends, with the
/// address it printed as `listening on http://ADDR`.
pub struct Listening {
    child: std::process::Child,
    pub url: String,
}

impl Listening {
    /// Spawns `cmd` with stdout piped and waits for its `listening on URL`
    /// line. Fails with the child's stderr if it exits first.
    pub fn spawn(mut cmd: Command) -> Listening {
        use std::io::BufRead;
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's first line");
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait for the server");
            panic!(
                "server did not start; stdout {line:?}\nstderr:\n{}",
                stderr(&out)
            );
        };
        Listening {
            url: url.to_owned(),
            child,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET over a TCP socket: (status code, headers lower-cased, body).
pub fn http_get(url: &str) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}
