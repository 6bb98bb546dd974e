//! Publishes one release with the library, for benchmarks and manual drills:
//!
//! ```text
//! SHIPGATE_PUBLISH_TOKEN=... cargo run --release -p shipgate-registry --example publish -- \
//!     npm http://127.0.0.1:4873/ pkg-1.0.0.tgz
//! ```
//!
//! For PyPI with a username, set `SHIPGATE_PUBLISH_USER` too. Prints the outcome as JSON,
//! the wall time, and the process's peak resident memory (VmHWM).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use shipgate_registry::TargetKind;
use shipgate_registry::publish::{Credential, PublishFile, Target, publish};

fn sha256(path: &PathBuf) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, registry, files @ ..] = args.as_slice() else {
        eprintln!("usage: publish npm|pypi|cargo REGISTRY FILE...");
        return ExitCode::from(2);
    };
    let kind: TargetKind = match kind.parse() {
        Ok(kind) => kind,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let Ok(token) = std::env::var("SHIPGATE_PUBLISH_TOKEN") else {
        eprintln!("set SHIPGATE_PUBLISH_TOKEN");
        return ExitCode::from(2);
    };
    let credential = match std::env::var("SHIPGATE_PUBLISH_USER") {
        Ok(user) => Credential::basic(user, token),
        Err(_) => Credential::token(token),
    };
    let mut publish_files = Vec::new();
    for file in files {
        let path = PathBuf::from(file);
        let sha256 = match sha256(&path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        publish_files.push(PublishFile {
            file_name,
            path,
            sha256,
        });
    }
    let target = Target::new(kind, registry.clone());
    let start = Instant::now();
    let outcome = publish(&target, &credential, &publish_files).await;
    let elapsed = start.elapsed().as_secs_f64();
    match outcome {
        Ok(published) => {
            println!("{}", serde_json::to_string(&published).unwrap_or_default());
            eprintln!("elapsed: {elapsed:.3} s, peak RSS: {}", peak_rss());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("elapsed: {elapsed:.3} s, peak RSS: {}", peak_rss());
            ExitCode::from(1)
        }
    }
}
