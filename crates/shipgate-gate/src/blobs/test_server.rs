//! A real S3-compatible server for tests: the command in
//! `SHIPGATE_S3_SERVER` (moto's `moto_server`, installed by
//! `.ci/setup-s3.sh`), started on a free loopback port. Shared by the
//! gate's unit tests and the CLI tests (which include this file).
//!
//! A watchdog shell stops the server when the test process ends, however
//! it ends, so no server outlives its tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Credentials the test server accepts (it accepts any).
pub const ACCESS_KEY: &str = "shipgate-test";
/// The matching secret.
pub const SECRET_KEY: &str = "shipgate-test-secret";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// A running S3 server.
#[derive(Debug)]
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
    watchdog: Child,
}

/// The server shared by all tests of this process (started on first use).
pub fn shared() -> &'static S3Server {
    static SHARED: OnceLock<S3Server> = OnceLock::new();
    SHARED.get_or_init(S3Server::start)
}

impl S3Server {
    /// Starts a server of its own (stopped when dropped).
    pub fn start() -> Self {
        let command = std::env::var("SHIPGATE_S3_SERVER").unwrap_or_else(|_| {
            panic!(
                "SHIPGATE_S3_SERVER is not set: these tests need a real S3 server \
                 (moto_server; run `source .ci/setup-s3.sh` or `pip install 'moto[server]'` \
                 and export SHIPGATE_S3_SERVER=$(command -v moto_server))"
            )
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(&command)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start SHIPGATE_S3_SERVER={command:?}: {e}"));
        let watchdog = Command::new("sh")
            .args([
                "-c",
                "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; kill \"$2\" 2>/dev/null",
                "s3-watchdog",
                &std::process::id().to_string(),
                &child.id().to_string(),
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("start the S3 server's watchdog");
        let mut server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            watchdog,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.request("GET", "/").is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the S3 server {command:?} exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the S3 server {command:?} did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Port of the server.
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("endpoint has a port")
    }

    /// Creates a bucket with a name no other test uses, and returns it.
    pub fn fresh_bucket(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let status = self
            .request("PUT", &format!("/{name}"))
            .expect("create a bucket");
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "create bucket: {status}"
        );
        name
    }

    /// Stops the server now (the "server down" tests).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// One plain HTTP request; returns the status line.
    fn request(&self, method: &str, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port()))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let text = String::from_utf8_lossy(&answer);
        Ok(text.lines().next().unwrap_or_default().to_owned())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}
