//! The per-module operations behind `shipgate sign` and `shipgate verify`:
//! a module is a directory holding `shipgate.manifest` and, once signed,
//! `shipgate.manifest.minisig`.

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::Sha256Digest;
use crate::hash::Progress;
use crate::keys::{PublicKey, SigningKey};
use crate::limits::MAX_MANIFEST_BYTES;
use crate::manifest::{
    LabelError, Manifest, ModuleName, ModuleVersion, ParseError, ParseErrorKind,
};
use crate::policy::Mode;
use crate::signature::{
    CommentKind, SignatureError, SignatureErrorKind, SignatureFile, TrustedComment, Verified,
    sign_manifest,
};
use crate::tree::{TreeDiff, TreeError, diff_tree, manifest_for_dir};
use crate::walk::WalkError;

/// The manifest file at a module's root.
pub const MANIFEST_FILE: &str = "shipgate.manifest";
/// The detached minisign signature next to it.
pub const SIGNATURE_FILE: &str = "shipgate.manifest.minisig";
/// Version given to a module that has none yet.
pub const DEFAULT_VERSION: &str = "0.0.0";

/// A module that cannot be read, written or signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// The module directory does not exist.
    #[error("{}: module directory does not exist", .0.display())]
    NoSuchDirectory(PathBuf),
    /// The module path is not a directory.
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The manifest cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    ReadManifest {
        /// The manifest file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The manifest is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The tree cannot be walked or hashed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The directory name is not a usable module name.
    #[error("{}: the directory name cannot be the module name: it {error}", dir.display())]
    DefaultName {
        /// The module directory.
        dir: PathBuf,
        /// Why.
        error: LabelError,
    },
    /// Writing the manifest or signature failed.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignatureError),
}

/// A manifest read from a module, with its exact bytes.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The bytes on disk (canonical, since parsing is strict).
    pub bytes: Vec<u8>,
    /// The manifest file.
    pub path: PathBuf,
}

fn check_dir(dir: &Path) -> Result<(), ModuleError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(ModuleError::NotADirectory(dir.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(ModuleError::NoSuchDirectory(dir.to_path_buf()))
        }
        Err(source) => Err(ModuleError::ReadManifest {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// Reads and parses `DIR/shipgate.manifest`; `Ok(None)` when there is none.
/// A symlinked manifest is refused (it could point anywhere).
pub fn read_manifest(dir: &Path) -> Result<Option<LoadedManifest>, ModuleError> {
    let path = dir.join(MANIFEST_FILE);
    if is_symlink(&path) {
        return Err(ModuleError::ReadManifest {
            path,
            source: io::Error::other("is a symlink; a manifest must be a regular file"),
        });
    }
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ModuleError::ReadManifest { path, source }),
    };
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ModuleError::ReadManifest {
            path: path.clone(),
            source,
        })?;
    let origin = path.display().to_string();
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(ParseError {
            origin,
            line: 0,
            kind: ParseErrorKind::TooLarge,
        }
        .into());
    }
    let manifest = Manifest::parse(&bytes, &origin)?;
    Ok(Some(LoadedManifest {
        manifest,
        bytes,
        path,
    }))
}

/// Writes `bytes` to `path` atomically (temporary file in the same
/// directory, then rename), so a crash never leaves half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModuleError> {
    write_atomically_with_mode(path, bytes, None)
}

/// Like [`write_atomically`], with the file mode set before the file
/// appears at `path` (`None`: an existing file's mode, else 0644). Used for
/// secret keys (0600), which must never be readable, even briefly.
pub fn write_atomically_with_mode(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> Result<(), ModuleError> {
    // Manifests and signatures are meant to be read by everyone (an
    // existing file keeps its mode); keys ask for their own.
    let mode = match mode {
        Some(mode) => shipgate_fs::Mode::Exact(mode),
        None => shipgate_fs::Mode::KeepOr(shipgate_fs::PUBLIC_MODE),
    };
    shipgate_fs::write_atomic_with(path, mode, |file| file.write_all(bytes)).map_err(|source| {
        ModuleError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Name and version to record; `None` keeps the existing manifest's value
/// (or the default: directory name, `0.0.0`).
#[derive(Debug, Clone, Default)]
pub struct ManifestOptions {
    /// Module name to record.
    pub name: Option<ModuleName>,
    /// Module version to record.
    pub version: Option<ModuleVersion>,
}

/// The result of writing a module's manifest.
#[derive(Debug, Clone)]
pub struct WrittenManifest {
    /// The manifest now on disk.
    pub manifest: Manifest,
    /// Its SHA-256.
    pub sha256: Sha256Digest,
    /// False when the file already had exactly these bytes.
    pub changed: bool,
    /// A signature of the previous manifest was removed because it no
    /// longer matched.
    pub removed_stale_signature: bool,
}

fn default_name(dir: &Path) -> Result<ModuleName, ModuleError> {
    let absolute = std::fs::canonicalize(dir).map_err(|source| ModuleError::ReadManifest {
        path: dir.to_path_buf(),
        source,
    })?;
    let name = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    ModuleName::new(name).map_err(|error| ModuleError::DefaultName {
        dir: dir.to_path_buf(),
        error,
    })
}

/// Writes or refreshes `DIR/shipgate.manifest` (the `--checksum-only`
/// path). A signature left from an older manifest is removed, since it
/// would no longer verify.
pub fn write_manifest(
    dir: &Path,
    options: &ManifestOptions,
    progress: Option<Progress<'_>>,
) -> Result<WrittenManifest, ModuleError> {
    check_dir(dir)?;
    let existing = read_manifest(dir)?;
    let name = match (&options.name, &existing) {
        (Some(name), _) => name.clone(),
        (None, Some(old)) => old.manifest.name().clone(),
        (None, None) => default_name(dir)?,
    };
    let version = match (&options.version, &existing) {
        (Some(version), _) => version.clone(),
        (None, Some(old)) => old.manifest.version().clone(),
        (None, None) => {
            ModuleVersion::new(DEFAULT_VERSION).map_err(|error| ModuleError::DefaultName {
                dir: dir.to_path_buf(),
                error,
            })?
        }
    };
    let manifest = manifest_for_dir(dir, name, version, progress)?;
    let bytes = manifest.to_bytes();
    let changed = existing.as_ref().is_none_or(|old| old.bytes != bytes);
    let mut removed_stale_signature = false;
    if changed {
        write_atomically(&dir.join(MANIFEST_FILE), &bytes)?;
        let signature = dir.join(SIGNATURE_FILE);
        match std::fs::remove_file(&signature) {
            Ok(()) => removed_stale_signature = true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ModuleError::Write {
                    path: signature,
                    source,
                });
            }
        }
    }
    Ok(WrittenManifest {
        sha256: Sha256Digest::of(&bytes),
        manifest,
        changed,
        removed_stale_signature,
    })
}

/// The result of signing a module.
#[derive(Debug, Clone)]
pub struct SignedModule {
    /// The manifest that was signed.
    pub manifest: Manifest,
    /// Its SHA-256.
    pub sha256: Sha256Digest,
    /// The trusted comment written.
    pub comment: TrustedComment,
    /// The manifest file's bytes changed.
    pub manifest_changed: bool,
}

/// Writes the manifest and `DIR/shipgate.manifest.minisig`, signed with
/// `key` at `timestamp` (seconds since the Unix epoch).
pub fn sign_module(
    dir: &Path,
    key: &SigningKey,
    options: &ManifestOptions,
    timestamp: u64,
    progress: Option<Progress<'_>>,
) -> Result<SignedModule, ModuleError> {
    let written = write_manifest(dir, options, progress)?;
    let signature = sign_manifest(&written.manifest, key, timestamp)?;
    write_atomically(&dir.join(SIGNATURE_FILE), signature.as_bytes())?;
    Ok(SignedModule {
        comment: TrustedComment::for_manifest(&written.manifest, timestamp),
        sha256: written.sha256,
        manifest: written.manifest,
        manifest_changed: written.changed,
    })
}

/// The verdict on one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Tree and signature are as the mode requires.
    Pass,
    /// A check failed (a file differs, a signature is missing or invalid).
    Fail,
    /// The module could not be checked (no such directory, malformed manifest).
    Error,
}

/// The signature part of a module's verification.
#[derive(Debug)]
pub enum SignatureCheck {
    /// Not reached (the module failed earlier).
    NotChecked,
    /// No signature file.
    Absent,
    /// Valid with one of the given keys.
    Valid(Verified),
    /// Present and not valid (or not checkable: no key given).
    Invalid(SignatureError),
}

/// Everything `verify` found about one module.
#[derive(Debug)]
pub struct ModuleReport {
    /// The module directory as given.
    pub dir: PathBuf,
    /// The mode it was checked under.
    pub mode: Mode,
    /// The manifest, when it could be read.
    pub manifest: Option<Manifest>,
    /// SHA-256 of the manifest file.
    pub manifest_sha256: Option<Sha256Digest>,
    /// The directory exists but has no manifest.
    pub manifest_missing: bool,
    /// The module could not be checked at all.
    pub error: Option<ModuleError>,
    /// The tree compared with the manifest.
    pub tree: Option<Result<TreeDiff, WalkError>>,
    /// The signature check.
    pub signature: SignatureCheck,
}

impl ModuleReport {
    /// Pass, fail or error, applying `mode`: a present signature must be
    /// valid in every mode; `require-signature` also needs one with a
    /// shipgate trusted comment.
    pub fn outcome(&self) -> Outcome {
        if self.error.is_some() {
            return Outcome::Error;
        }
        if self.failures().is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    }

    /// Why the module fails, one line each (file differences excluded:
    /// they are in [`ModuleReport::tree`]).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(error) = &self.error {
            out.push(error.to_string());
            return out;
        }
        if self.manifest_missing {
            out.push(format!(
                "{}: no {MANIFEST_FILE} in this module",
                self.dir.display()
            ));
            return out;
        }
        match &self.tree {
            Some(Err(error)) => out.push(error.to_string()),
            Some(Ok(diff)) if !diff.is_clean() => {
                let count = diff.added.len() + diff.missing.len() + diff.changed.len();
                out.push(format!("{count} file(s) differ from the manifest"));
            }
            _ => {}
        }
        let signature_path = self.dir.join(SIGNATURE_FILE);
        match (&self.signature, self.mode) {
            (SignatureCheck::Invalid(error), _) => out.push(error.to_string()),
            (SignatureCheck::Absent, Mode::RequireSignature) => out.push(format!(
                "{}: missing (mode require-signature needs a valid signature)",
                signature_path.display()
            )),
            (SignatureCheck::Valid(verified), Mode::RequireSignature) => {
                if let CommentKind::Foreign(_) = verified.comment {
                    out.push(format!(
                        "{}: trusted comment is not a shipgate comment; re-sign with shipgate sign",
                        signature_path.display()
                    ));
                }
            }
            _ => {}
        }
        out
    }

    /// Things worth saying that do not fail the module.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let SignatureCheck::Valid(verified) = &self.signature
            && let (CommentKind::Foreign(_), Mode::ChecksumOnly) = (&verified.comment, self.mode)
        {
            out.push(format!(
                "{}: signature is valid but its trusted comment is not a shipgate comment (it binds no name or version); re-sign with shipgate sign",
                self.dir.join(SIGNATURE_FILE).display()
            ));
        }
        out
    }
}

/// Verifies one module: recomputes the tree against the manifest and
/// checks the signature (always, when present) against any of `keys`.
pub fn verify_module(
    dir: &Path,
    keys: &[PublicKey],
    mode: Mode,
    progress: Option<Progress<'_>>,
) -> ModuleReport {
    let mut report = ModuleReport {
        dir: dir.to_path_buf(),
        mode,
        manifest: None,
        manifest_sha256: None,
        manifest_missing: false,
        error: None,
        tree: None,
        signature: SignatureCheck::NotChecked,
    };
    if let Err(error) = check_dir(dir) {
        report.error = Some(error);
        return report;
    }
    let loaded = match read_manifest(dir) {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            report.manifest_missing = true;
            return report;
        }
        Err(error) => {
            report.error = Some(error);
            return report;
        }
    };
    report.manifest_sha256 = Some(Sha256Digest::of(&loaded.bytes));
    let signature_path = dir.join(SIGNATURE_FILE);
    report.signature = if is_symlink(&signature_path) {
        SignatureCheck::Invalid(SignatureError {
            origin: signature_path.display().to_string(),
            kind: SignatureErrorKind::Read(io::Error::other(
                "is a symlink; a signature must be a regular file",
            )),
        })
    } else if signature_path.symlink_metadata().is_ok() {
        match SignatureFile::from_file(&signature_path) {
            Ok(signature) => match signature.verify(&loaded.bytes, &loaded.manifest, keys) {
                Ok(verified) => SignatureCheck::Valid(verified),
                Err(error) => SignatureCheck::Invalid(error),
            },
            Err(error) => SignatureCheck::Invalid(error),
        }
    } else {
        SignatureCheck::Absent
    };
    // The manifest bytes are no longer needed: free them before hashing.
    let LoadedManifest {
        manifest, bytes, ..
    } = loaded;
    drop(bytes);
    report.tree = Some(diff_tree(dir, &manifest, progress));
    report.manifest = Some(manifest);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SecretKeyFile, generate_key_pair};

    #[test]
    fn sign_then_verify_then_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("hello");
        std::fs::create_dir(&module).unwrap();
        std::fs::write(module.join("a.txt"), b"a").unwrap();
        let pair = generate_key_pair(None).unwrap();
        let key = SecretKeyFile::parse(&pair.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        let public = key.public_key().clone();

        let signed = sign_module(&module, &key, &ManifestOptions::default(), 1, None).unwrap();
        assert_eq!(signed.manifest.name().as_str(), "hello");
        assert_eq!(signed.manifest.version().as_str(), "0.0.0");
        let report = verify_module(
            &module,
            std::slice::from_ref(&public),
            Mode::RequireSignature,
            None,
        );
        assert_eq!(report.outcome(), Outcome::Pass, "{:?}", report.failures());

        std::fs::write(module.join("a.txt"), b"b").unwrap();
        let report = verify_module(
            &module,
            std::slice::from_ref(&public),
            Mode::RequireSignature,
            None,
        );
        assert_eq!(report.outcome(), Outcome::Fail);
        let Some(Ok(diff)) = &report.tree else {
            panic!()
        };
        assert_eq!(diff.changed.len(), 1);

        // A checksum-only refresh drops the now stale signature.
        let written = write_manifest(&module, &ManifestOptions::default(), None).unwrap();
        assert!(written.changed && written.removed_stale_signature);
        let report = verify_module(&module, &[], Mode::ChecksumOnly, None);
        assert_eq!(report.outcome(), Outcome::Pass);
        let report = verify_module(&module, &[public], Mode::RequireSignature, None);
        assert_eq!(report.outcome(), Outcome::Fail);
    }

    #[test]
    fn missing_directory_is_an_error_and_missing_manifest_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let report = verify_module(&dir.path().join("nope"), &[], Mode::ChecksumOnly, None);
        assert_eq!(report.outcome(), Outcome::Error);
        let report = verify_module(dir.path(), &[], Mode::ChecksumOnly, None);
        assert_eq!(report.outcome(), Outcome::Fail);
    }
}
