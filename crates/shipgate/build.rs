//! Records the commit the binary is built from, for `shipgate --version`.
//!
//! Sources, in order: `SHIPGATE_COMMIT` (set by packagers), the git checkout
//! this crate sits in (only when it is this repository's `crates/shipgate`,
//! so a copy vendored into another repository does not report that one's
//! commit), the `.cargo_vcs_info.json` that `cargo package` writes, else
//! "unknown". Nothing here can fail the build.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SHIPGATE_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let dir = Path::new(&dir);
    let commit = std::env::var("SHIPGATE_COMMIT")
        .ok()
        .filter(|c| is_commit(c))
        .or_else(|| from_git(dir))
        .or_else(|| from_vcs_info(dir))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SHIPGATE_COMMIT={commit}");
}

/// A short or full hexadecimal commit id, nothing else (it ends up in `--version`).
fn is_commit(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

fn from_git(dir: &Path) -> Option<String> {
    if git(dir, &["rev-parse", "--show-prefix"])? != "crates/shipgate/" {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it points at, packed refs.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-path", &name],
        ) && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"]).filter(|c| is_commit(c))
}

fn from_vcs_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let start = text.find("\"sha1\"")? + "\"sha1\"".len();
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let sha = rest.strip_prefix('"')?.split('"').next()?;
    is_commit(sha).then(|| sha.chars().take(12).collect())
}
