//! Shared helpers for the end-to-end tests.

use std::path::Path;
use std::process::{Command, Output};

/// A `Command` for the `shipgate` binary under test, with a clean log setting.
pub fn shipgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shipgate"));
    cmd.env_remove("SHIPGATE_LOG");
    cmd
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
