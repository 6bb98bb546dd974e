//! Shared test helpers: archives built byte by byte (hostile ones included), peers found
//! through the variables `.ci/setup-registries.sh` exports, servers on free loopback ports.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod peers;
pub mod tools;

use flate2::Compression;
use flate2::write::GzEncoder;

/// One tar entry to write: raw path bytes (not validated, so `..` can be written).
pub enum TarEntry<'a> {
    File(&'a [u8], &'a [u8]),
    Dir(&'a [u8]),
    Symlink(&'a [u8], &'a [u8]),
    HardLink(&'a [u8], &'a [u8]),
}

fn header_for(path: &[u8], kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    {
        let name = &mut header.as_old_mut().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path);
    }
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header
}

/// A tar archive of `entries`, uncompressed.
pub fn tar_bytes(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        match entry {
            TarEntry::File(path, data) => {
                let mut h = header_for(path, tar::EntryType::Regular, data.len() as u64);
                h.set_cksum();
                builder.append(&h, *data).unwrap();
            }
            TarEntry::Dir(path) => {
                let mut h = header_for(path, tar::EntryType::Directory, 0);
                h.set_cksum();
                builder.append(&h, std::io::empty()).unwrap();
            }
            TarEntry::Symlink(path, target) | TarEntry::HardLink(path, target) => {
                let kind = if matches!(entry, TarEntry::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = header_for(path, kind, 0);
                h.as_old_mut().linkname[..target.len()].copy_from_slice(target);
                h.set_cksum();
                builder.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes a gzip-compressed tar of `entries` to `dir/name` and returns its path.
pub fn write_tgz(dir: &Path, name: &str, entries: &[TarEntry<'_>]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, gzip(&tar_bytes(entries))).unwrap();
    path
}

/// A zip (deflated) of `(name, data)` entries, in memory.
pub fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

pub const METADATA: &str = "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0.0\nRequires-Dist: requests (>=2)\n\nA demo.\n";
pub const WHEEL: &str =
    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";

/// The entries of a minimal valid wheel `demo_pkg-1.0.0-py3-none-any.whl`.
pub fn wheel_entries<'a>() -> Vec<(&'a str, &'a [u8])> {
    vec![
        ("demo_pkg/__init__.py", b"" as &[u8]),
        ("demo_pkg-1.0.0.dist-info/METADATA", METADATA.as_bytes()),
        ("demo_pkg-1.0.0.dist-info/WHEEL", WHEEL.as_bytes()),
        ("demo_pkg-1.0.0.dist-info/RECORD", b""),
    ]
}

/// A peer program: the variable `.ci/setup-registries.sh` exports, else `fallback` on
/// PATH. Panics with what to run when it is missing.
pub fn peer(var: &str, fallback: &str) -> PathBuf {
    if let Ok(path) = std::env::var(var) {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "{var}={} does not exist; run .ci/setup-registries.sh",
            path.display()
        );
        return path;
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(fallback))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("peer {fallback} not found: set {var} or put it on PATH (source .ci/setup-registries.sh)")
    })
}

/// The Python with pypiserver, passlib and build installed.
pub fn python() -> PathBuf {
    let python = peer("SHIPGATE_PYTHON", "python3");
    let ok = Command::new(&python)
        .args(["-c", "import pypiserver, passlib, build"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} lacks pypiserver, passlib or build: source .ci/setup-registries.sh (or set SHIPGATE_PYTHON)",
        python.display()
    );
    python
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `url` answers any HTTP status (the server is up), for at most 60 s.
pub async fn wait_for_http(url: &str, server: &mut Server) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("server for {url} exited early with {status}");
        }
        if client.get(url).send().await.is_ok() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{url} did not come up within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a command, panicking with its output when it fails; returns stdout.
pub fn run(command: &mut Command) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}
