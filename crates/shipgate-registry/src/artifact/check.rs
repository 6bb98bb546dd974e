//! The staged name and version against what the artifact says.

use super::python_meta::{normalize_python_name, normalize_python_version};
use super::{ArtifactError, ArtifactFormat, ArtifactInfo};
use crate::TargetKind;

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
