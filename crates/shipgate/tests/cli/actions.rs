//! Installing and using shipgate from GitHub Actions: the repository's own
//! workflows and composite actions audit clean, the actions' shell scripts
//! work with the environment a runner provides (against a real dev gate and
//! its stand-in GitHub token endpoint), and the completion scripts, man pages
//! and `--version` are what the install guide promises.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::util::{assert_exit, shipgate, stderr, stdout, test_home};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn script(rel: &str) -> PathBuf {
    repo_root().join("actions").join(rel)
}

/// A directory holding only `shipgate` (the binary under test), for PATH.
fn bin_dir(tmp: &Path) -> PathBuf {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_shipgate"), bin.join("shipgate")).unwrap();
    bin
}

/// `bash SCRIPT` with a runner-like environment: RUNNER_TEMP, GITHUB_OUTPUT
/// and GITHUB_STEP_SUMMARY in `tmp`, the test's own home, PATH = `path` then
/// the system's, nothing inherited from the environment of the test run
/// that could reach a gate or a token.
fn runner_command(script: &Path, tmp: &Path, path: Option<&Path>) -> Command {
    let home = test_home();
    let system_path = "/usr/local/bin:/usr/bin:/bin";
    let path = match path {
        Some(p) => format!("{}:{system_path}", p.display()),
        None => system_path.to_owned(),
    };
    let runner_temp = tmp.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .current_dir(tmp)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("RUNNER_TEMP", &runner_temp)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("GITHUB_OUTPUT", tmp.join("github-output"))
        .env("GITHUB_STEP_SUMMARY", tmp.join("step-summary"))
        .env("GITHUB_PATH", tmp.join("github-path"))
        .stdin(Stdio::null());
    cmd
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The `name=value` lines a step wrote to GITHUB_OUTPUT.
fn output_value(tmp: &Path, name: &str) -> Option<String> {
    read(&tmp.join("github-output"))
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is needed by this test and is not on PATH (.ci/setup-ship.sh installs it)"
    );
}

// ---------------------------------------------------------------- audit clean

#[test]
fn the_repository_workflows_and_actions_audit_clean_without_any_suppression() {
    let root = repo_root();
    let out = shipgate()
        .current_dir(&root)
        .args([
            "audit",
            "--format",
            "json",
            "--no-ignores",
            ".github/workflows",
            "actions",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for want in [
        ".github/workflows/release.yml",
        ".github/workflows/ci.yml",
        "actions/audit/action.yml",
        "actions/stage/action.yml",
        "actions/install/action.yml",
    ] {
        assert!(files.contains(&want), "{want} was not audited: {files:?}");
    }
    assert_eq!(
        report["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_release_workflow_builds_the_archives_the_install_script_downloads() {
    let release = read(&repo_root().join(".github/workflows/release.yml"));
    let install = read(&script("install/install-shipgate.sh"));
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(release.contains(&format!("target: {target}")), "{target}");
        assert!(
            install.contains(&format!(") target={target} ;;")),
            "{target}"
        );
    }
    assert!(release.contains(r#""dist/shipgate-$VERSION-$TARGET.tar.gz""#));
    assert!(install.contains(r#"archive="shipgate-${version}-${target}.tar.gz""#));
    // Every `uses:` is pinned to a full commit SHA with a version comment.
    for file in [
        ".github/workflows/release.yml",
        ".github/workflows/ci.yml",
        "actions/audit/action.yml",
    ] {
        for line in read(&repo_root().join(file))
            .lines()
            .filter(|l| l.contains("uses:"))
        {
            let (_, rest) = line.split_once('@').unwrap();
            let (sha, comment) = rest.split_once(" # v").unwrap_or_else(|| panic!("{line}"));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{file}: {line}"
            );
            assert!(!comment.is_empty(), "{file}: {line}");
        }
    }
}

// -------------------------------------------------------------- install script

/// A fake release directory `BASE/vVERSION/` with this test binary packed as
/// the x86_64 Linux archive, and its SHA256SUMS.
fn fake_release(tmp: &Path, version: &str) -> (PathBuf, String) {
    let base = tmp.join("releases");
    let dir = base.join(format!("v{version}"));
    let pack = tmp.join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_shipgate"), pack.join("shipgate")).unwrap();
    std::fs::write(pack.join("LICENSE"), "license\n").unwrap();
    let archive = format!("shipgate-{version}-x86_64-unknown-linux-musl.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(dir.join(&archive))
        .arg("-C")
        .arg(&pack)
        .args(["shipgate", "LICENSE"])
        .status()
        .unwrap();
    assert!(status.success());
    let digest = crate::gate_util::sha256_hex(&std::fs::read(dir.join(&archive)).unwrap());
    let sums = format!(
        "{}  shipgate-{version}-aarch64-apple-darwin.tar.gz\n{digest}  {archive}\n",
        "0".repeat(64)
    );
    std::fs::write(dir.join("SHA256SUMS"), &sums).unwrap();
    (base, sums)
}

fn install(tmp: &Path, base: &Path, env: &[(&str, &str)]) -> Output {
    let _ = std::fs::remove_file(tmp.join("github-path"));
    let mut cmd = runner_command(&script("install/install-shipgate.sh"), tmp, None);
    cmd.env(
        "SHIPGATE_DOWNLOAD_BASE",
        format!("file://{}", base.display()),
    );
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn install_script_installs_only_an_archive_that_matches_sha256sums() {
    require_tool("curl");
    let tmp = tempfile::tempdir().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let (base, sums) = fake_release(tmp.path(), version);

    // SHA256SUMS from the release, then pinned: both install, onto GITHUB_PATH.
    for env in [
        vec![("SHIPGATE_VERSION", version)],
        vec![
            ("SHIPGATE_VERSION", version),
            ("SHIPGATE_SHA256SUMS", &sums),
        ],
    ] {
        let out = install(tmp.path(), &base, &env);
        assert_exit(&out, 0);
        assert!(
            stdout(&out).contains(&format!("installed shipgate {version} (commit ")),
            "{}",
            stdout(&out)
        );
        let dir = read(&tmp.path().join("github-path")).trim().to_owned();
        let installed = Path::new(&dir).join("shipgate");
        let reported = Command::new(&installed).arg("--version").output().unwrap();
        assert!(stdout(&reported).starts_with(&format!("shipgate {version}")));
    }

    // A pinned SHA256SUMS that does not match the download: refused, not extracted.
    let runner_temp = tmp.path().join("runner-temp");
    std::fs::remove_dir_all(&runner_temp).unwrap();
    let wrong = sums.replace(&sums[sums.find('\n').unwrap() + 1..][..64], &"1".repeat(64));
    let out = install(
        tmp.path(),
        &base,
        &[
            ("SHIPGATE_VERSION", version),
            ("SHIPGATE_SHA256SUMS", &wrong),
        ],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("SHA256SUMS says 1111"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("github-path").exists());
    let leftovers: Vec<_> = walk(&runner_temp)
        .into_iter()
        .filter(|p| p.ends_with("shipgate") || p.extension().is_some_and(|e| e == "gz"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A release whose archive was replaced after SHA256SUMS was pinned.
    let archive = base.join(format!("v{version}")).join(format!(
        "shipgate-{version}-x86_64-unknown-linux-musl.tar.gz"
    ));
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&archive, bytes).unwrap();
    let out = install(
        tmp.path(),
        &base,
        &[
            ("SHIPGATE_VERSION", version),
            ("SHIPGATE_SHA256SUMS", &sums),
        ],
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("not installed"), "{}", stderr(&out));

    // Hostile or unusable inputs: one clear error each, nothing installed.
    for (env, needle) in [
        (vec![("SHIPGATE_VERSION", "")], "must be a release version"),
        (
            vec![("SHIPGATE_VERSION", "../../etc")],
            "must be a release version",
        ),
        (
            vec![("SHIPGATE_VERSION", "1.0.0; rm -rf /")],
            "must be a release version",
        ),
        (
            vec![
                ("SHIPGATE_VERSION", version),
                ("SHIPGATE_SHA256SUMS", "garbage"),
            ],
            "SHA256SUMS has no SHA-256 for",
        ),
        (
            vec![("SHIPGATE_VERSION", version), ("RUNNER_OS", "Windows")],
            "no shipgate release binary for runner Windows/X64",
        ),
        (vec![("SHIPGATE_VERSION", "9.9.9")], "cannot download"),
    ] {
        let out = install(tmp.path(), &base, &env);
        assert_exit(&out, 1);
        assert!(stderr(&out).contains(needle), "{env:?}: {}", stderr(&out));
        assert!(!tmp.path().join("github-path").exists(), "{env:?}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

// ---------------------------------------------------------------- audit script

#[test]
fn audit_script_writes_sarif_and_counts_findings_without_failing_on_them() {
    require_tool("jq");
    let tmp = tempfile::tempdir().unwrap();
    let bin = bin_dir(tmp.path());
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    std::fs::write(
        repo.join(".github/workflows/release.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
    )
    .unwrap();
    let run = |args: &str| {
        let _ = std::fs::remove_file(tmp.path().join("github-output"));
        runner_command(&script("audit/audit.sh"), tmp.path(), Some(&bin))
            .env("INPUT_ARGS", args)
            .output()
            .unwrap()
    };
    let out = run(&format!("--min-severity low {}", repo.display()));
    assert_exit(&out, 0);
    let findings: usize = output_value(tmp.path(), "findings")
        .unwrap()
        .parse()
        .unwrap();
    assert!(findings >= 2, "{}", stdout(&out));
    let sarif_path = output_value(tmp.path(), "sarif").unwrap();
    let sarif: serde_json::Value = serde_json::from_str(&read(Path::new(&sarif_path))).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif_path.starts_with(&tmp.path().display().to_string()));

    // The repository's own files: zero findings.
    let out = run(&format!(
        "{} {}",
        repo_root().join(".github/workflows").display(),
        repo_root().join("actions").display()
    ));
    assert_exit(&out, 0);
    assert_eq!(output_value(tmp.path(), "findings").as_deref(), Some("0"));

    // A usage error fails the step, and no output claims a result.
    let out = run(&tmp.path().join("missing").display().to_string());
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("shipgate audit failed (exit 2)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(output_value(tmp.path(), "findings"), None);
}

// ---------------------------------------------------------------- stage script

/// A running script whose stderr is read line by line while it waits.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = child.stderr.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn expect_stderr(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.iter().any(|l| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no stderr line with {needle:?}; got {:?}", self.seen),
            }
        }
    }

    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut out).unwrap();
        self.seen.extend(self.lines.iter());
        (status.code(), out, self.seen.join("\n"))
    }
}

struct DevGate {
    child: Child,
    url: String,
    request_url: String,
    request_token: String,
    maintainer: String,
    secret: String,
}

impl Drop for DevGate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dev_gate(dir: &Path) -> DevGate {
    let (child, banner) = crate::gate_flow::start_dev(dir);
    let find = |needle: &str| {
        banner
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no line starting with {needle:?} in {banner:?}"))
            .to_owned()
    };
    let value = |needle: &str| {
        find(needle)
            .split_once('=')
            .unwrap()
            .1
            .trim_matches('\'')
            .to_owned()
    };
    let last = |needle: &str| find(needle).split_whitespace().last().unwrap().to_owned();
    DevGate {
        url: banner[0].strip_prefix("listening on ").unwrap().to_owned(),
        request_url: value("export ACTIONS_ID_TOKEN_REQUEST_URL="),
        request_token: value("export ACTIONS_ID_TOKEN_REQUEST_TOKEN="),
        maintainer: last("maintainer token"),
        secret: last("TOTP secret"),
        child,
    }
}

fn stage_command(gate: &DevGate, tmp: &Path, bin: &Path, version: &str, wait: &str) -> Command {
    let _ = std::fs::remove_file(tmp.join("github-output"));
    let _ = std::fs::remove_file(tmp.join("step-summary"));
    let mut cmd = runner_command(&script("stage/stage.sh"), tmp, Some(bin));
    cmd.env("ACTIONS_ID_TOKEN_REQUEST_URL", &gate.request_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &gate.request_token)
        .env("INPUT_GATE", &gate.url)
        .env("INPUT_PACKAGE", "hello")
        .env("INPUT_VERSION", version)
        .env("INPUT_FILES", "dist/*.tar.gz\n  notes.txt  \n")
        .env("INPUT_WAIT", wait)
        .env("INPUT_UNTIL", "5m");
    cmd
}

#[test]
fn stage_script_stages_with_the_job_token_waits_and_outputs_the_execution_token() {
    require_tool("jq");
    let tmp = tempfile::tempdir().unwrap();
    let gate = dev_gate(tmp.path());
    let bin = bin_dir(tmp.path());
    std::fs::create_dir_all(tmp.path().join("dist")).unwrap();
    std::fs::write(
        tmp.path().join("dist/hello-1.0.0.tar.gz"),
        b"archive bytes\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"notes\n").unwrap();

    // wait: false stages and outputs the release id only.
    let out = stage_command(&gate, tmp.path(), &bin, "0.9.0", "false")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(output_value(tmp.path(), "release-id").as_deref(), Some("1"));
    assert_eq!(output_value(tmp.path(), "token"), None);
    let summary = read(&tmp.path().join("step-summary"));
    assert!(summary.contains("hello 0.9.0 — staged"), "{summary}");
    assert!(
        summary.contains("| `hello-1.0.0.tar.gz` | 14 |"),
        "{summary}"
    );

    // wait: true stages, waits for the maintainer, outputs the execution token.
    let mut running = Running::spawn(stage_command(&gate, tmp.path(), &bin, "1.0.0", "true"));
    running.expect_stderr("staged release 2");
    let approve = shipgate()
        .current_dir(tmp.path())
        .env("SHIPGATE_MAINTAINER_TOKEN", &gate.maintainer)
        .args([
            "approve",
            "2",
            "--gate",
            &gate.url,
            "--code",
            &crate::gate_util::totp(&gate.secret, 0),
        ])
        .output()
        .unwrap();
    assert_exit(&approve, 0);
    let (code, out, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(output_value(tmp.path(), "release-id").as_deref(), Some("2"));
    let token = output_value(tmp.path(), "token").unwrap();
    assert_eq!(token.split('.').count(), 3, "{token}");
    // Masked before anything else could print it.
    assert!(out.contains(&format!("::add-mask::{token}")), "{out}");
    let summary = read(&tmp.path().join("step-summary"));
    assert!(summary.contains("hello 1.0.0 — released"), "{summary}");
    assert!(summary.contains("Approved by: dev."), "{summary}");
    assert!(
        !summary.contains(&token),
        "the token must not land in the summary"
    );

    // The token is the gate's, for this release: `oidc verify` accepts it.
    let verify = shipgate()
        .current_dir(tmp.path())
        .env("SHIPGATE_CACHE_DIR", tmp.path().join("cache"))
        .env("SHIPGATE_OIDC_TOKEN", &token)
        .args([
            "oidc",
            "verify",
            "--issuer",
            &gate.url,
            "--audience",
            "deploy:hello",
        ])
        .output()
        .unwrap();
    assert_exit(&verify, 0);
    assert!(
        stdout(&verify).contains("sub=release:hello@1.0.0"),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn stage_script_refuses_bad_inputs_before_anything_is_staged() {
    require_tool("jq");
    let tmp = tempfile::tempdir().unwrap();
    let gate = dev_gate(tmp.path());
    let bin = bin_dir(tmp.path());
    std::fs::create_dir_all(tmp.path().join("dist")).unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"notes\n").unwrap();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "no file matches 'dist/*.tar.gz'"),
        (
            vec![("INPUT_FILES", "notes.txt"), ("INPUT_WAIT", "yes")],
            "wait must be true or false",
        ),
        (
            vec![("INPUT_FILES", "\n \n")],
            "the files input names no file",
        ),
        (
            vec![("INPUT_FILES", "notes.txt"), ("INPUT_GATE", "")],
            "the gate input is required",
        ),
        (
            vec![
                ("INPUT_FILES", "notes.txt"),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""),
            ],
            "permissions: id-token: write",
        ),
    ];
    for (env, needle) in cases {
        let mut cmd = stage_command(&gate, tmp.path(), &bin, "1.0.0", "false");
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(needle), "{env:?}: {}", stderr(&out));
        assert_eq!(output_value(tmp.path(), "release-id"), None);
    }
    // A token the gate refuses: shipgate's own exit code and message, no output.
    let mut cmd = stage_command(&gate, tmp.path(), &bin, "1.0.0", "false");
    cmd.env("INPUT_FILES", "notes.txt")
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-request-token");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GitHub Actions OIDC token"),
        "{}",
        stderr(&out)
    );
    assert_eq!(output_value(tmp.path(), "release-id"), None);
    let (_, body) = crate::gate_util::raw_http(
        gate.url.rsplit(':').next().unwrap().parse().unwrap(),
        b"GET /v1/releases HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(body.contains("\"releases\":[]"), "{body}");
}

// ------------------------------------------------- completions, man, --version

#[test]
fn completion_scripts_are_valid_for_each_shell() {
    let out = shipgate().args(["completions", "bash"]).output().unwrap();
    assert_exit(&out, 0);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("shipgate.bash");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    // Sourcing it registers the completion function.
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p shipgate", file.display()))
        .output()
        .unwrap();
    assert!(stdout(&check).contains("complete"), "{}", stderr(&check));
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = shipgate().args(["completions", shell]).output().unwrap();
        assert_exit(&out, 0);
        let script = stdout(&out);
        for sub in ["stage", "approve", "fetch", "audit", "completions"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
    }
    let out = shipgate().args(["completions", "tcsh"]).output().unwrap();
    assert_exit(&out, 2);
}

#[test]
fn man_writes_one_page_per_command_and_subcommand() {
    require_tool("man");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man/man1");
    let out = shipgate()
        .args(["man", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let written: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    for page in [
        "shipgate.1",
        "shipgate-stage.1",
        "shipgate-admin-enroll.1",
        "shipgate-oidc-verify.1",
        "shipgate-man.1",
    ] {
        let path = dir.join(page);
        assert!(
            written.contains(&path.display().to_string()),
            "{page}: {written:?}"
        );
        let roff = read(&path);
        assert!(
            roff.contains(".SH NAME") && roff.contains(".SH SYNOPSIS"),
            "{page}"
        );
    }
    assert!(!dir.join("shipgate-help.1").exists());
    let rendered = Command::new("man")
        .arg("-l")
        .arg(dir.join("shipgate-stage.1"))
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", stderr(&rendered));
    let text = stdout(&rendered);
    assert!(text.contains("NAME") && text.contains("--gate"), "{text}");
    assert!(
        text.contains("Example"),
        "the --help examples are in the page: {text}"
    );

    // An --out that cannot be a directory: one clear error.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = shipgate()
        .args(["man", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("cannot create"), "{}", stderr(&out));
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = shipgate().arg("--version").output().unwrap();
    assert_exit(&out, 0);
    let line = stdout(&out).trim().to_owned();
    let commit = line
        .strip_prefix(&format!("shipgate {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        commit == "unknown" || commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{line}"
    );
    // Built from this checkout: the commit is its HEAD.
    let head = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["rev-parse", "--short=12", "HEAD"])
        .output();
    if let Ok(head) = head
        && head.status.success()
    {
        assert_eq!(commit, stdout(&head).trim(), "{line}");
    }
}
