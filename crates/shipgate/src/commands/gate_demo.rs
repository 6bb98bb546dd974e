//! The release-gate part of `shipgate demo`: a dev gate and the whole flow
//! with real processes on a free loopback port — mint a CI token, stage
//! with `--wait` as a GitHub Actions publish job would (the dev gate stands
//! in for the runner's token endpoint), a refused approval by the CI token
//! and by a wrong TOTP code, approve, the waiting job receives the gate's
//! execution token, fetch and verify, the execution token checked like a
//! deploy step would (and refused for another digest), and a tampered
//! download refused.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use shipgate_gate::credentials::totp_code;
use shipgate_gate::dev::{self, DEV_PACKAGE};

use super::demo::Demo;
use crate::exit::CliError;

/// The running dev gate; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exe() -> Result<std::path::PathBuf, CliError> {
    std::env::current_exe()
        .map_err(|e| CliError::usage(format!("demo: cannot find the shipgate binary: {e}")))
}

/// What a command printed, each line tagged with its stream, in the order
/// the lines arrived.
struct Ran {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    transcript: Vec<(&'static str, String)>,
}

impl Ran {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    fn success(&self) -> bool {
        self.status.success()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Everything it printed, stdout and stderr in arrival order.
    fn text(&self) -> String {
        self.transcript
            .iter()
            .map(|(_, line)| line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn shipgate(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Ran, CliError> {
    let mut cmd = Command::new(exe()?);
    cmd.current_dir(dir)
        .env_remove("SHIPGATE_OIDC_TOKEN")
        .env_remove("SHIPGATE_MAINTAINER_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env("SHIPGATE_CONFIG_DIR", dir.join("user-config"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::usage(format!("demo: cannot run shipgate: {e}")))?;
    // Both streams are read line by line into one transcript, so a step
    // shows what the command printed in the order it printed it.
    let transcript = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stdout_bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(pipe) = child.stdout.take() {
        let (transcript, bytes) = (transcript.clone(), stdout_bytes.clone());
        readers.push(std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                if let Ok(mut all) = bytes.lock() {
                    all.extend_from_slice(&line);
                }
                let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                if let Ok(mut t) = transcript.lock() {
                    t.push(("stdout", text));
                }
                line.clear();
            }
        }));
    }
    if let Some(pipe) = child.stderr.take() {
        let transcript = transcript.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Ok(mut t) = transcript.lock() {
                    t.push(("stderr", line));
                }
            }
        }));
    }
    let status = child
        .wait()
        .map_err(|e| CliError::usage(format!("demo: cannot run shipgate: {e}")))?;
    for reader in readers {
        let _ = reader.join();
    }
    Ok(Ran {
        status,
        stdout: take_all(&stdout_bytes),
        transcript: take_all(&transcript),
    })
}

/// `shipgate stage --wait` running in the background; killed when dropped.
struct Waiting {
    child: Child,
    stderr: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Waiting {
    /// Reads stderr lines until one contains `needle` (or 60 s pass).
    fn wait_for_line(&mut self, needle: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.seen.iter().any(|l| l.contains(needle)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return false,
            }
        }
        true
    }

    /// Waits for the exit; returns (exit code, stdout, stderr).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().ok().and_then(|s| s.code());
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        }
        self.seen.extend(self.stderr.try_iter());
        (status, out, self.seen.join("\n"))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `shipgate stage --wait` as a GitHub Actions job would run it.
fn stage_and_wait(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Waiting, CliError> {
    let mut cmd = Command::new(exe()?);
    cmd.current_dir(dir)
        .env_remove("SHIPGATE_OIDC_TOKEN")
        .env_remove("SHIPGATE_AUDIENCE")
        .env("SHIPGATE_CONFIG_DIR", dir.join("user-config"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::usage(format!("demo: cannot run shipgate: {e}")))?;
    let (send, stderr) = std::sync::mpsc::channel();
    if let Some(pipe) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
    }
    Ok(Waiting {
        child,
        stderr,
        seen: Vec::new(),
    })
}

/// The last "credentials refused" line of the gate's log (empty if none).
fn last_refusal(log: &Path) -> String {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .rev()
        .find(|l| l.contains("credentials refused"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

/// Empties a vector the reader threads filled.
fn take_all<T>(shared: &std::sync::Mutex<Vec<T>>) -> Vec<T> {
    shared
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// The exit code and everything the command printed (at most 40 lines).
fn got(out: &Ran) -> String {
    let code = out.code().map_or("killed".to_owned(), |c| c.to_string());
    let lines: Vec<&str> = out
        .transcript
        .iter()
        .map(|(_, line)| line.as_str())
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut shown = lines
        .iter()
        .take(40)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > 40 {
        shown.push_str(&format!("\n... ({} more lines)", lines.len() - 40));
    }
    format!("got: exit {code}\n{shown}")
}

/// Runs the gate flow in `workdir/gate`.
pub fn gate_flow(demo: &mut Demo, workdir: &Path) -> Result<(), CliError> {
    let dir = workdir.join("gate");
    std::fs::create_dir_all(&dir).map_err(|e| CliError::usage(format!("demo: {e}")))?;
    demo.section("release gate: a dev gate on loopback");
    let setup = shipgate_gate::block_on(dev::prepare(&dir.join("shipgate-dev")))
        .map_err(|e| CliError::usage(format!("demo: {e}")))?
        .map_err(|e| CliError::usage(format!("demo: {e}")))?;
    // The gate's log: where it writes the precise reason behind every
    // refusal it answers with a generic message.
    let gate_log_path = dir.join("gate.log");
    let gate_log = std::fs::File::create(&gate_log_path)
        .map_err(|e| CliError::usage(format!("demo: {}: {e}", gate_log_path.display())))?;
    let mut child = Command::new(exe()?)
        .current_dir(&dir)
        .env("SHIPGATE_LOG", "warn")
        .args(["serve", "--config"])
        .arg(&setup.config_path)
        .stdout(Stdio::piped())
        .stderr(gate_log)
        .spawn()
        .map_err(|e| CliError::usage(format!("demo: cannot start the gate: {e}")))?;
    let stdout = child.stdout.take();
    let server = Server(child);
    let mut line = String::new();
    if let Some(out) = stdout {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let url = setup.config.public_url.clone();
    demo.step(
        &format!(
            "start `shipgate serve` (dev config in {})",
            setup.dir.display()
        ),
        "listening on the configured loopback port",
        line.trim() == format!("listening on {url}"),
        &format!("got: {}", line.trim()),
    );

    // `shipgate fetch` of hello 1.0.0 into `out`, pinned to the dev gate's key.
    let fetch = |out: &str| {
        shipgate(
            &dir,
            &[],
            &[
                "fetch",
                "--gate",
                &url,
                DEV_PACKAGE,
                "1.0.0",
                "--out",
                out,
                "--gate-key",
                "shipgate-dev/gate.pub",
            ],
        )
    };

    demo.section("stage from CI");
    let mint = dev::mint_args(&setup, "1.0.0");
    let mint: Vec<&str> = mint.iter().map(String::as_str).collect();
    let out = shipgate(&dir, &[], &mint)?;
    let ci_token = out.stdout().trim().to_owned();
    demo.step(
        "mint a GitHub-shaped CI token with `shipgate oidc issue`, as CI holds one (the dev issuer stands in for GitHub Actions)",
        "a signed JWT",
        out.success() && ci_token.split('.').count() == 3,
        &format!("got: {}...", ci_token.chars().take(40).collect::<String>()),
    );
    let artifact = "hello-1.0.0.tar.gz";
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join(artifact), &payload)
        .map_err(|e| CliError::usage(format!("demo: {e}")))?;
    let (request_url, request_token) = dev::actions_env(&setup, "1.0.0").ok_or_else(|| {
        CliError::usage("demo: the dev gate has no stand-in GitHub token endpoint")
    })?;
    let mut waiting = stage_and_wait(
        &dir,
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token),
        ],
        &[
            "stage",
            "--wait",
            "--timeout",
            "5m",
            "--gate",
            &url,
            "--package",
            DEV_PACKAGE,
            "--version",
            "1.0.0",
            artifact,
        ],
    )?;
    let staged = waiting.wait_for_line("staged release 1");
    demo.step(
        "stage hello 1.0.0 with `shipgate stage --wait`, as a GitHub Actions publish job (its OIDC token from ACTIONS_ID_TOKEN_REQUEST_URL, served here by the dev gate)",
        "staged release 1 (staging never publishes); the job keeps waiting for the maintainers",
        staged,
        &format!("got: {}", waiting.seen.join("\n")),
    );
    let out = fetch("early")?;
    demo.step(
        "try to fetch the staged version",
        "refused: nothing is served before approval (exit 1)",
        out.code() == Some(1),
        &got(&out),
    );

    // A second staged release, so that replaying a code below is tried on
    // a decision that would otherwise succeed.
    let mint = dev::mint_args(&setup, "1.0.1");
    let mint: Vec<&str> = mint.iter().map(String::as_str).collect();
    let second_token = shipgate(&dir, &[], &mint)?.stdout().trim().to_owned();
    let out = shipgate(
        &dir,
        &[("SHIPGATE_OIDC_TOKEN", &second_token)],
        &[
            "stage",
            "--gate",
            &url,
            "--package",
            DEV_PACKAGE,
            "--version",
            "1.0.1",
            artifact,
        ],
    )?;
    demo.step(
        "stage hello 1.0.1 too (another CI run)",
        "staged release 2",
        out.success() && out.text().contains("staged release 2"),
        &got(&out),
    );

    demo.section("approve with a second factor");
    // `shipgate approve 1` with a maintainer token and a TOTP code.
    let approve = |token: &str, code: &str| {
        shipgate(
            &dir,
            &[("SHIPGATE_MAINTAINER_TOKEN", token)],
            &["approve", "1", "--gate", &url, "--code", code],
        )
    };
    let out = approve(&ci_token, "12345678")?;
    demo.step(
        "approve with the CI token",
        "refused (exit 1): a CI identity can never approve",
        out.code() == Some(1),
        &format!("{}\ngate log: {}", got(&out), last_refusal(&gate_log_path)),
    );
    let maintainer = &setup.maintainer;
    let now = u64::try_from(shipgate_gate::unix_now()).unwrap_or(0);
    let good = totp_code(&maintainer.totp_secret, now).map_err(CliError::usage)?;
    let wrong = if good == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let out = approve(&maintainer.token, wrong)?;
    let reason = last_refusal(&gate_log_path);
    demo.step(
        "approve with the maintainer token and a wrong TOTP code",
        "refused (exit 1); the gate's log says: wrong TOTP code (it counts towards the lockout)",
        out.code() == Some(1) && reason.contains("wrong TOTP code"),
        &format!("{}\ngate log: {reason}", got(&out)),
    );
    let out = approve(&maintainer.token, &good)?;
    demo.step(
        "approve with the maintainer token and the current TOTP code",
        "released: the gate signed the release manifest with its own key",
        out.success() && out.stdout().contains("released"),
        &got(&out),
    );
    // The same code again, on release 2: the token is valid, the release is
    // staged, the maintainer may approve it. Only replay protection stops it.
    let out = shipgate(
        &dir,
        &[("SHIPGATE_MAINTAINER_TOKEN", &maintainer.token)],
        &["approve", "2", "--gate", &url, "--code", &good],
    )?;
    let reason = last_refusal(&gate_log_path);
    demo.step(
        "replay the same TOTP code to approve release 2, which is staged and approvable",
        "refused (exit 1); the gate's log says why: the code was already used (each code is usable once)",
        out.code() == Some(1) && reason.contains("already used"),
        &format!("{}\ngate log: {reason}", got(&out)),
    );

    demo.section("the waiting CI job gets an execution token");
    let (code, token_out, wait_err) = waiting.finish();
    let exec_token = token_out.trim().to_owned();
    demo.step(
        "`stage --wait` sees the release, fetches a fresh CI token, and asks the gate for an execution token",
        "exit 0; stdout is only the gate-signed token (TOKEN=$(shipgate stage --wait ...) works)",
        code == Some(0) && exec_token.split('.').count() == 3 && !exec_token.contains('\n'),
        &format!(
            "got: exit {}, {}...\n{}",
            code.map_or("killed".to_owned(), |c| c.to_string()),
            exec_token.chars().take(40).collect::<String>(),
            wait_err
                .lines()
                .filter(|l| l.contains("released") || l.contains("execution token"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );

    demo.section("fetch and verify");
    let out = fetch("fetched")?;
    let same = std::fs::read(dir.join("fetched").join(artifact)).is_ok_and(|b| b == payload);
    demo.step(
        "fetch hello 1.0.0 pinned to the gate's public key",
        "every file verified against the signed manifest, bytes identical",
        out.success() && same,
        &got(&out),
    );
    let manifest_sha = std::fs::read(dir.join("fetched").join("shipgate.manifest"))
        .map(|bytes| shipgate_client::client::sha256_hex(&bytes))
        .unwrap_or_default();
    let zeros = "0".repeat(40);
    let audience = format!("deploy:{DEV_PACKAGE}");
    let verify = |digest: &str| {
        shipgate(
            &dir,
            &[("SHIPGATE_OIDC_TOKEN", &exec_token)],
            &[
                "oidc",
                "verify",
                "--issuer",
                &url,
                "--audience",
                &audience,
                "--no-cache",
                "--expect",
                &format!("digest={digest}"),
                "--expect",
                &format!("commit_sha={zeros}"),
            ],
        )
    };
    let out = verify(&manifest_sha)?;
    demo.step(
        &format!(
            "deploy step: `shipgate oidc verify --issuer {url} --audience {audience} --expect digest=<sha256 of the fetched manifest> --expect commit_sha=<the commit>`"
        ),
        "token verified: signed by the gate, bound to exactly the approved manifest and commit",
        out.success() && !manifest_sha.is_empty(),
        &got(&out),
    );
    let other = shipgate_client::client::sha256_hex(b"some other build");
    let out = verify(&other)?;
    demo.step(
        "the same token checked against another manifest digest (a deploy of other bytes)",
        "refused (exit 1): the token names only the approved digest",
        out.code() == Some(1),
        &got(&out),
    );
    let out = shipgate(
        &dir,
        &[],
        &[
            "log",
            "verify",
            "--gate",
            &url,
            "--gate-key",
            "shipgate-dev/gate.pub",
            "--entries",
        ],
    )?;
    demo.step(
        "audit the gate's transparency log",
        "its signed checkpoint extends the one the fetch remembered; every leaf re-hashed",
        out.success() && out.stdout().contains("the root matches"),
        &got(&out),
    );
    // Tamper with the stored blob (same size, one byte changed): the gate
    // now serves other bytes, as a compromised disk or mirror would.
    let blob = dir
        .join("shipgate-dev/data/blobs")
        .join(shipgate_client::client::sha256_hex(&payload));
    let mut evil = payload.clone();
    evil[1000] ^= 0xff;
    let tampered = std::fs::write(&blob, &evil).is_ok();
    let out = fetch("tampered")?;
    demo.step(
        "replace the stored artifact on the gate's disk, fetch again",
        "refused (exit 1): the bytes no longer match the signed manifest",
        tampered && out.code() == Some(1) && !dir.join("tampered").join(artifact).exists(),
        &got(&out),
    );
    drop(server);
    Ok(())
}
