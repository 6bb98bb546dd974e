//! A real cargo registry behind the gate (cargo-http-registry, read as a
//! sparse index): the reviewer is warned about the crate's build script, and
//! after approval `cargo fetch` resolves the crate with the approved bytes'
//! checksum.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::gate_util::{
    CiIssuer, Gate, enroll, hello_publisher, json, sha256_hex, totp, write_gate_key,
};
use crate::publish_util::wait_for_targets;
use crate::util::{assert_exit, stdout};

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cargo(work: &Path) -> Command {
    let mut command = Command::new(crate::util::peer("cargo"));
    command
        .env("CARGO_HOME", work.join("cargo-home"))
        .env("CARGO_TARGET_DIR", work.join("cargo-target"))
        .env_remove("CARGO_REGISTRY_TOKEN")
        .env_remove("RUSTC_WRAPPER");
    command
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cargo_resolves_the_approved_crate() {
    let bin = std::env::var_os("SHIPGATE_CARGO_HTTP_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("SHIPGATE_CARGO_HTTP_REGISTRY is not set: source .ci/setup-registries.sh")
        });
    let ci = CiIssuer::start();
    let work = tempfile::tempdir().unwrap();
    let port = crate::publish_util::unused_port();
    let _registry = Registry(
        Command::new(&bin)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg(work.path().join("cargo-registry"))
            .env("HOME", work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "cargo-http-registry did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let index = format!("sparse+http://127.0.0.1:{port}/crates/");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"\ndata_dir = \"data\"\ngate_key = \"gate.key\"\naudience = \"shipgate-test\"\nmax_upload_bytes = 1048576\n\n[[package]]\nname = \"hello\"\nmaintainers = [\"alice\"]\n\n{}\n[[package.target]]\nkind = \"cargo\"\nregistry = \"{index}\"\ntoken_file = \"cargo-token\"\n",
            hello_publisher(&ci.url)
        ),
    )
    .unwrap();
    write_gate_key(dir.path());
    {
        use std::os::unix::fs::PermissionsExt as _;
        let token = dir.path().join("cargo-token");
        std::fs::write(&token, "cargo-token-for-the-test\n").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let gate = Gate::start_in(dir);
    let (alice, secret) = enroll(&gate, "alice", "hello");

    // `cargo package` of crate hello 0.3.0 with a build script.
    let source = work.path().join("crate-src");
    std::fs::create_dir_all(source.join("src")).unwrap();
    std::fs::write(
        source.join("Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.3.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"shipgate test crate\"\n",
    )
    .unwrap();
    std::fs::write(source.join("src/lib.rs"), "pub const V: u32 = 3;\n").unwrap();
    std::fs::write(source.join("build.rs"), "fn main() {}\n").unwrap();
    run(cargo(work.path())
        .args([
            "package",
            "--offline",
            "--no-verify",
            "--allow-dirty",
            "--manifest-path",
        ])
        .arg(source.join("Cargo.toml")));
    let packaged = work.path().join("cargo-target/package/hello-0.3.0.crate");
    std::fs::copy(&packaged, gate.path().join("hello-0.3.0.crate")).unwrap();
    let sha = sha256_hex(&std::fs::read(&packaged).unwrap());

    let token = ci.github_token("shipgate-test", "acme/hello", "42", "0.3.0", &[]);
    assert_exit(
        &gate.stage(&token, "hello", "0.3.0", &["hello-0.3.0.crate"]),
        0,
    );
    let show = gate.cli(&[], &["release", "show", "1", "--gate", &gate.url]);
    assert!(
        stdout(&show)
            .lines()
            .any(|l| l.starts_with("! added build script")),
        "{}",
        stdout(&show)
    );
    let view = json(&gate.cli(
        &[],
        &["release", "show", "1", "--gate", &gate.url, "--json"],
    ));
    assert_eq!(view["artifacts"]["loud"], true, "{view}");

    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice)],
        &[
            "approve",
            "1",
            "--gate",
            &gate.url,
            "--code",
            &totp(&secret, 0),
        ],
    );
    assert_exit(&out, 0);
    let view = wait_for_targets(&gate, "1");
    assert_eq!(view["targets"][0]["state"], "published", "{view}");
    assert_eq!(
        view["targets"][0]["integrity"][0]["integrity"],
        format!("sha256:{sha}")
    );

    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(consumer.join("src")).unwrap();
    std::fs::create_dir_all(consumer.join(".cargo")).unwrap();
    std::fs::write(
        consumer.join(".cargo/config.toml"),
        format!("[registries.gate-test]\nindex = \"{index}\"\n"),
    )
    .unwrap();
    std::fs::write(
        consumer.join("Cargo.toml"),
        "[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nhello = { version = \"=0.3.0\", registry = \"gate-test\" }\n",
    )
    .unwrap();
    std::fs::write(consumer.join("src/lib.rs"), "").unwrap();
    run(cargo(work.path()).arg("fetch").current_dir(&consumer));
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).unwrap();
    assert!(lock.contains(&format!("checksum = \"{sha}\"")), "{lock}");
}
