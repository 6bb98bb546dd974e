//! Reading release artifacts as hostile input, and what they declare.
//!
//! [`inspect`] opens a file from disk and streams through it once (never holding the
//! archive in memory), within [`Limits`]; only metadata files are read into memory, each
//! capped. The result, [`ArtifactInfo`], is what the gate stores and shows to reviewers.

mod check;
mod crate_file;
mod diff;
mod error;
mod limits;
mod npm;
mod paths;
pub(crate) mod python_meta;
mod sdist;
mod tar_walk;
mod wheel;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::TargetKind;

pub use check::{accepts, check_matches, check_release};
pub use diff::{Change, ChangeKind, DeclarationsDiff, Subject, diff};
pub use error::ArtifactError;
pub use limits::Limits;
pub use python_meta::{normalize_python_name, normalize_python_version};

/// The format of one artifact file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ArtifactFormat {
    /// An npm package tarball (`npm pack`), entries under `package/`.
    NpmTarball,
    /// A Python wheel (`.whl`, PEP 427).
    Wheel,
    /// A Python source distribution (`.tar.gz`, PEP 625).
    Sdist,
    /// A `.crate` file (`cargo package`).
    Crate,
}

/// What an artifact says about itself and declares for the installer's machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ArtifactInfo {
    /// The registry kind the artifact is for.
    pub kind: TargetKind,
    /// The file's format.
    pub format: ArtifactFormat,
    /// The file name it was inspected under.
    pub file_name: String,
    /// The package name as the metadata states it.
    pub name: String,
    /// The version as the metadata states it.
    pub version: String,
    /// The name compared with the staged one: PEP 503 for Python, as stated otherwise.
    pub normalized_name: String,
    /// The version compared with the staged one: PEP 440 for Python, as stated otherwise.
    pub normalized_version: String,
    /// What the artifact declares.
    pub declares: Declarations,
}

/// What an artifact declares that runs code or pulls code on the installer's machine.
///
/// Every field is a sorted map so that two releases compare entry by entry ([`diff`]).
/// Empty fields are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Declarations {
    /// npm `scripts` (all of them; the lifecycle ones are flagged by [`diff`]), name to
    /// command. A `binding.gyp` without an `install`/`preinstall` script shows up as the
    /// `install` script npm runs implicitly (`node-gyp rebuild`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, String>,
    /// Dependencies by kind, then name, to the requirement as written. Kinds: npm
    /// `dependencies`, `devDependencies`, `optionalDependencies`, `peerDependencies`,
    /// `bundleDependencies`; Python `requires-dist` (all `Requires-Dist` lines of one
    /// distribution joined by `, `); cargo `dependencies`, `dev-dependencies`,
    /// `build-dependencies`, each with `target.<cfg>.` in front when platform-specific.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, BTreeMap<String, String>>,
    /// npm `bin` entries: command name to the file it runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bins: BTreeMap<String, String>,
    /// Python entry points, `group:name` to `module:object` (console scripts are group
    /// `console_scripts`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entry_points: BTreeMap<String, String>,
    /// `.pth` files (Python runs their `import` lines at every interpreter start), path
    /// in the archive to the SHA-256 of their content.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pth_files: BTreeMap<String, String>,
    /// A crate's build script (run by cargo at build time), with its content's SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_script: Option<FileDigest>,
    /// Whether the crate is a procedural macro (runs in the compiler at build time).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub proc_macro: bool,
}

impl Declarations {
    /// Everything the files of one release declare together (a wheel and an sdist, say),
    /// for [`diff`]ing release against release. Where two files declare the same key
    /// differently, both values are kept, joined by ` | `.
    pub fn merged<'a>(infos: impl IntoIterator<Item = &'a ArtifactInfo>) -> Declarations {
        fn join(into: &mut BTreeMap<String, String>, from: &BTreeMap<String, String>) {
            for (key, value) in from {
                match into.get_mut(key) {
                    Some(existing)
                        if existing != value && !existing.split(" | ").any(|v| v == value) =>
                    {
                        existing.push_str(" | ");
                        existing.push_str(value);
                    }
                    Some(_) => {}
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        let mut all = Declarations::default();
        for info in infos {
            let d = &info.declares;
            join(&mut all.scripts, &d.scripts);
            for (kind, deps) in &d.dependencies {
                join(all.dependencies.entry(kind.clone()).or_default(), deps);
            }
            join(&mut all.bins, &d.bins);
            join(&mut all.entry_points, &d.entry_points);
            join(&mut all.pth_files, &d.pth_files);
            if all.build_script.is_none() {
                all.build_script = d.build_script.clone();
            }
            all.proc_macro |= d.proc_macro;
        }
        all
    }
}

/// A file inside an archive and the SHA-256 of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The path inside the package (relative to its root directory).
    pub path: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Reads `path` as an artifact of `kind` with the default [`Limits`].
///
/// `file_name` is the name the file was staged under (the file on disk may have another
/// name); it selects the format for PyPI (`.whl` or `.tar.gz`) and is checked against the
/// archive where the format fixes it (wheels, sdists, crates).
pub fn inspect(
    kind: TargetKind,
    file_name: &str,
    path: &Path,
) -> Result<ArtifactInfo, ArtifactError> {
    inspect_with(kind, file_name, path, &Limits::default())
}

/// [`inspect`] with explicit [`Limits`].
pub fn inspect_with(
    kind: TargetKind,
    file_name: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ArtifactInfo, ArtifactError> {
    read(kind, file_name, path, limits).map(|read| read.info)
}

/// What publishing needs besides [`ArtifactInfo`]: the metadata as the registry wants it.
pub(crate) enum Metadata {
    /// The whole `package/package.json`.
    Npm(serde_json::Map<String, serde_json::Value>),
    /// The core metadata fields (`METADATA` or `PKG-INFO`) in order, and the description.
    Python(python_meta::CoreMetadata),
    /// The packaged `Cargo.toml` and the README's text when the crate has one.
    Cargo {
        manifest: toml::Table,
        readme: Option<String>,
    },
}

/// An artifact read once for publishing: what it declares and its metadata.
pub(crate) struct ReadArtifact {
    pub(crate) info: ArtifactInfo,
    pub(crate) metadata: Metadata,
}

pub(crate) fn read(
    kind: TargetKind,
    file_name: &str,
    path: &Path,
    limits: &Limits,
) -> Result<ReadArtifact, ArtifactError> {
    match kind {
        TargetKind::Npm => {
            if !file_name.ends_with(".tgz") {
                return Err(ArtifactError::UnsupportedFile {
                    file: file_name.to_owned(),
                    expected: "an npm package tarball (.tgz, as `npm pack` makes)",
                });
            }
            npm::read(file_name, path, limits)
        }
        TargetKind::Pypi => {
            if file_name.ends_with(".whl") {
                wheel::read(file_name, path, limits)
            } else if file_name.ends_with(".tar.gz") {
                sdist::read(file_name, path, limits)
            } else {
                Err(ArtifactError::UnsupportedFile {
                    file: file_name.to_owned(),
                    expected: "a wheel (.whl) or an sdist (.tar.gz)",
                })
            }
        }
        TargetKind::Cargo => {
            if !file_name.ends_with(".crate") {
                return Err(ArtifactError::UnsupportedFile {
                    file: file_name.to_owned(),
                    expected: "a .crate file (as `cargo package` makes)",
                });
            }
            crate_file::read(file_name, path, limits)
        }
    }
}

/// Decodes a metadata file's bytes as UTF-8.
pub(crate) fn utf8(file: &str, entry: &str, bytes: Vec<u8>) -> Result<String, ArtifactError> {
    String::from_utf8(bytes).map_err(|_| ArtifactError::NotUtf8 {
        file: file.to_owned(),
        entry: entry.to_owned(),
    })
}

/// Lowercase hex SHA-256 of a byte string.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The python tag part of a wheel file name (sent as PyPI's `pyversion`).
pub(crate) fn wheel_python_tag(file: &str) -> Result<String, ArtifactError> {
    wheel::parse_file_name(file).map(|w| w.python_tag)
}
