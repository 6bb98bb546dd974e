//! `shipgate keygen`, `sign`, `verify`, `policy explain` and `demo`, end to
//! end: the real binary, real files, the real `minisign` and `git`.

mod bad_input;
mod changed_since;
mod keygen;
mod minisign_peer;
mod policy;
mod sign_verify;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{assert_exit, shipgate, stderr, stdout};

/// Variables that would change the trust policy's context or the key
/// source: removed so each test states its own environment.
const AMBIENT: &[&str] = &[
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_REF",
    "GITHUB_BASE_REF",
    "SHIPGATE_SECRET_KEY",
    "SHIPGATE_KEY_PASSWORD",
];

/// `shipgate ARGS` in `dir` with a clean policy environment plus `env`.
pub fn sg_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = shipgate();
    for name in AMBIENT {
        cmd.env_remove(name);
    }
    cmd.current_dir(dir).args(args).envs(env.iter().copied());
    cmd.output().expect("run shipgate")
}

/// `shipgate ARGS` in `dir` with a clean policy environment.
pub fn sg(dir: &Path, args: &[&str]) -> Output {
    sg_env(dir, args, &[])
}

/// Both streams, for substring assertions.
pub fn all_output(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// Asserts the exit code and that stderr/stdout contain every needle.
#[track_caller]
pub fn expect(out: &Output, code: i32, needles: &[&str]) {
    assert_exit(out, code);
    let text = all_output(out);
    for needle in needles {
        assert!(
            text.contains(needle),
            "missing {needle:?} in output:\n{text}"
        );
    }
    assert!(!text.contains("panicked"), "panic in output:\n{text}");
}

/// Runs a peer command and asserts it succeeded.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run peer");
    assert!(
        out.status.success(),
        "{cmd:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// A temporary workspace with a key pair (`k.key`, `k.pub`) and a module
/// `modules/hello` with a few files.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let f = Self { dir };
        f.write("modules/hello/README.md", "# hello\n");
        f.write("modules/hello/src/hello.py", "print('hello')\n");
        f.write("modules/hello/data/a b.txt", "spaces in names\n");
        expect(&f.sg(&["keygen", "-s", "k.key", "-p", "k.pub"]), 0, &[]);
        f
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn sg(&self, args: &[&str]) -> Output {
        sg(self.dir.path(), args)
    }

    pub fn sg_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        sg_env(self.dir.path(), args, env)
    }

    /// Signs `modules/hello` with `k.key`.
    pub fn sign_hello(&self) {
        expect(
            &self.sg(&["sign", "modules/hello", "-s", "k.key", "--version", "1.0.0"]),
            0,
            &["signed with key"],
        );
    }

    /// `verify modules/hello -p k.pub --context push:main`.
    pub fn verify_hello(&self) -> Output {
        self.sg(&[
            "verify",
            "modules/hello",
            "-p",
            "k.pub",
            "--context",
            "push:main",
        ])
    }
}
