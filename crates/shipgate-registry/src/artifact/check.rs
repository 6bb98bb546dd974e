//! The staged name and version against what the artifact says.

use std::collections::BTreeSet;
use std::path::Path;

use super::python_meta::{normalize_python_name, normalize_python_version};
use super::{ArtifactError, ArtifactFormat, ArtifactInfo, Limits, inspect_with};
use crate::TargetKind;

/// Whether a file of this name is something `kind` publishes (by its suffix: `.tgz` for
/// npm, `.whl` or `.tar.gz` for PyPI, `.crate` for cargo). Lets the caller pick, among a
/// release's files, those that go to a target.
pub fn accepts(kind: TargetKind, file_name: &str) -> bool {
    match kind {
        TargetKind::Npm => file_name.ends_with(".tgz"),
        TargetKind::Pypi => file_name.ends_with(".whl") || file_name.ends_with(".tar.gz"),
        TargetKind::Cargo => file_name.ends_with(".crate"),
    }
}

/// Checks the files staged for one target: the right number and kind of files, each read
/// within `limits` and stating the staged `name` and `version`. `files` are
/// `(staged file name, path on disk)`. Returns each file's [`ArtifactInfo`], in order.
///
/// npm takes exactly one tarball and cargo exactly one `.crate`; PyPI takes one or more
/// wheels and sdists (at most one sdist, no file name twice).
pub fn check_release(
    kind: TargetKind,
    files: &[(&str, &Path)],
    name: &str,
    version: &str,
    limits: &Limits,
) -> Result<Vec<ArtifactInfo>, ArtifactError> {
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let wrong = |detail: String| ArtifactError::WrongFiles { detail };
    if files.is_empty() {
        return Err(wrong(format!("no files staged for the {kind} target")));
    }
    if let Some(other) = names.iter().find(|n| !accepts(kind, n)) {
        return Err(wrong(format!(
            "{other}: not a file the {kind} target publishes ({})",
            match kind {
                TargetKind::Npm => "an npm tarball, .tgz",
                TargetKind::Pypi => "a wheel .whl or an sdist .tar.gz",
                TargetKind::Cargo => "a .crate file",
            }
        )));
    }
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    if unique.len() != names.len() {
        return Err(wrong(format!(
            "a file name is staged twice: {}",
            names.join(", ")
        )));
    }
    match kind {
        TargetKind::Npm | TargetKind::Cargo if files.len() != 1 => {
            return Err(wrong(format!(
                "the {kind} target publishes exactly one file, {} staged: {}",
                files.len(),
                names.join(", ")
            )));
        }
        TargetKind::Pypi if names.iter().filter(|n| n.ends_with(".tar.gz")).count() > 1 => {
            return Err(wrong(format!(
                "PyPI takes one sdist per version, several staged: {}",
                names.join(", ")
            )));
        }
        _ => {}
    }
    let mut infos = Vec::with_capacity(files.len());
    for (file_name, path) in files {
        let info = inspect_with(kind, file_name, path, limits)?;
        check_matches(&info, name, version)?;
        infos.push(info);
    }
    Ok(infos)
}

/// Checks that `info` states the staged `name` and `version`.
///
/// Python names compare PEP 503 normalised and versions PEP 440 normalised (so staging
/// `My_Pkg` `1.0.0-rc1` matches `my-pkg` `1.0.0rc1`); npm and cargo compare exactly. The
/// error names the file, the field, what it says and what was expected.
pub fn check_matches(info: &ArtifactInfo, name: &str, version: &str) -> Result<(), ArtifactError> {
    let (expected_name, expected_version) = match info.kind {
        TargetKind::Pypi => (
            normalize_python_name(name),
            // A staged version that is not PEP 440 cannot match any valid artifact; compare
            // it as written so the error shows it.
            normalize_python_version(version).unwrap_or_else(|_| version.to_owned()),
        ),
        TargetKind::Npm | TargetKind::Cargo => (name.to_owned(), version.to_owned()),
    };
    let source = match info.format {
        ArtifactFormat::NpmTarball => "package/package.json",
        ArtifactFormat::Wheel => "METADATA",
        ArtifactFormat::Sdist => "PKG-INFO",
        ArtifactFormat::Crate => "Cargo.toml [package]",
    };
    if info.normalized_name != expected_name {
        return Err(ArtifactError::Mismatch {
            file: info.file_name.clone(),
            field: format!("{source} name"),
            found: info.name.clone(),
            expected: name.to_owned(),
        });
    }
    if info.normalized_version != expected_version {
        return Err(ArtifactError::Mismatch {
            file: info.file_name.clone(),
            field: format!("{source} version"),
            found: info.version.clone(),
            expected: version.to_owned(),
        });
    }
    Ok(())
}
