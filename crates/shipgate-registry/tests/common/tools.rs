//! Real artifacts made by the real tools: `npm pack`, `python -m build`, `cargo package`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{peer, python, run};

fn only_file_with_suffix(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one *{suffix} in {}: {found:?}",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

/// npm's environment confined to `home` (cache, user config), no update checks.
pub fn npm(home: &Path) -> Command {
    let mut command = Command::new(peer("SHIPGATE_NPM", "npm"));
    command
        .env("npm_config_cache", home.join("npm-cache"))
        .env("npm_config_userconfig", home.join("npmrc"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("HOME", home);
    command
}

/// `npm pack` of a package with this `package.json`; returns the tarball.
pub fn npm_pack(work: &Path, package_json: &serde_json::Value, files: &[(&str, &str)]) -> PathBuf {
    let source = work.join("npm-src");
    let out = work.join("npm-out");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        source.join("package.json"),
        serde_json::to_vec_pretty(package_json).unwrap(),
    )
    .unwrap();
    for (name, content) in files {
        std::fs::write(source.join(name), content).unwrap();
    }
    run(npm(work)
        .arg("pack")
        .arg("--pack-destination")
        .arg(&out)
        .current_dir(&source));
    only_file_with_suffix(&out, ".tgz")
}

/// `python -m build` (sdist and wheel) of a setuptools project; returns (wheel, sdist).
pub fn python_build(work: &Path, name: &str, version: &str) -> (PathBuf, PathBuf) {
    python_build_with(work, name, version, "")
}

/// [`python_build`] with `extra` appended to the module (to make other bytes).
pub fn python_build_with(
    work: &Path,
    name: &str,
    version: &str,
    extra: &str,
) -> (PathBuf, PathBuf) {
    let source = work.join("py-src");
    let out = work.join("py-out");
    let module = name.replace('-', "_");
    std::fs::create_dir_all(source.join(&module)).unwrap();
    std::fs::write(
        source.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"shipgate test package\"\n\
             dependencies = [\"requests>=2\"]\n\n[project.scripts]\n{name}-cli = \"{module}:main\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        source.join(&module).join("__init__.py"),
        format!("VERSION = \"{version}\"\n\ndef main():\n    print(VERSION)\n{extra}"),
    )
    .unwrap();
    run(Command::new(python())
        .args(["-m", "build", "--no-isolation", "--outdir"])
        .arg(&out)
        .arg(&source)
        .env("HOME", work));
    (
        only_file_with_suffix(&out, ".whl"),
        only_file_with_suffix(&out, ".tar.gz"),
    )
}

/// cargo's environment confined to `work` (its own CARGO_HOME and target directory).
pub fn cargo(work: &Path) -> Command {
    let mut command = Command::new(peer("SHIPGATE_CARGO", "cargo"));
    command
        .env("CARGO_HOME", work.join("cargo-home"))
        .env("CARGO_TARGET_DIR", work.join("cargo-target"))
        .env_remove("CARGO_REGISTRY_TOKEN")
        .env_remove("RUSTC_WRAPPER");
    command
}

/// `cargo package` (offline) of a crate without dependencies; returns the `.crate`.
pub fn cargo_package(work: &Path, name: &str, version: &str, build_rs: bool) -> PathBuf {
    let source = work.join(format!("crate-src-{version}"));
    std::fs::create_dir_all(source.join("src")).unwrap();
    std::fs::write(
        source.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             license = \"MIT\"\ndescription = \"shipgate test crate\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        source.join("src/lib.rs"),
        format!("pub const VERSION: &str = \"{version}\";\n"),
    )
    .unwrap();
    if build_rs {
        std::fs::write(source.join("build.rs"), "fn main() {}\n").unwrap();
    }
    run(cargo(work)
        .args([
            "package",
            "--offline",
            "--no-verify",
            "--allow-dirty",
            "--manifest-path",
        ])
        .arg(source.join("Cargo.toml")));
    work.join("cargo-target/package")
        .join(format!("{name}-{version}.crate"))
}
