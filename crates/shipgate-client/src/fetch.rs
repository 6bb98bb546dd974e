//! `shipgate fetch`: download a released version and verify every byte
//! against the manifest the gate signed.
//!
//! Order: decide which key to trust (pinned file, remembered key, or the
//! gate's announced key on first use), download the manifest and its
//! signature, verify the signature AND that its trusted comment binds this
//! package, version and manifest digest, then stream each listed file into
//! a private temporary directory (created beside the output directory, mode
//! 0700) while hashing it. Only when every file's size and SHA-256 match are
//! the files, the manifest and its signature moved into the output
//! directory, none replacing anything already there. Nothing unverified ever
//! appears under a final name, and no name in a release can collide with a
//! temporary one (the gate also refuses to stage files named like the
//! manifest or its signature). A first-use key is remembered only after
//! everything verified.
//!
//! Before any file is downloaded, the release must also be in the gate's
//! transparency log: the gate's checkpoint must verify with the same key,
//! extend the checkpoint remembered from the last look at this gate (a
//! rollback or fork fails loudly), and contain the `released` leaf that
//! records exactly this package, version, manifest digest and signing key
//! (see [`crate::tlog::audit`]). The new checkpoint is remembered at the end.

use std::path::{Path, PathBuf};

use shipgate_manifest::signature::CommentKind;
use shipgate_manifest::{EntryKind, Manifest, PublicKey, SignatureFile};
use shipgate_manifest::{MANIFEST_FILE, SIGNATURE_FILE};

use crate::client::{Client, ClientError, Progress};
use crate::tlog::audit::{self, ExpectedRelease, LogCheckError};
use crate::tlog::replay::{ApprovalKind, ReleaseApprovals};
use crate::tlog::saved;
use crate::tlog::witnesses::{WitnessError, WitnessPolicy, WitnessReport, unix_now};
use crate::user_config::{self, KnownGate, UserConfigError};
use shipgate_protocol::manifest::fingerprint;
use shipgate_protocol::names;

/// Largest manifest accepted.
const MAX_MANIFEST: usize = 32 << 20;
/// Largest signature file accepted.
const MAX_SIGNATURE: usize = 16 << 10;

/// Which key the fetch trusted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum KeySource {
    /// `--gate-key FILE`.
    Pinned {
        /// The file.
        path: PathBuf,
    },
    /// Remembered from an earlier fetch from this gate.
    Remembered,
    /// Accepted on first use and now remembered in this file.
    FirstUse {
        /// Where it was remembered.
        remembered_in: PathBuf,
    },
}

/// One verified file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchedFile {
    /// File name.
    pub path: String,
    /// Size.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
}

/// What a successful fetch verified.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchReport {
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// Output directory.
    pub out: PathBuf,
    /// SHA-256 of the signed manifest.
    pub manifest_sha256: String,
    /// Fingerprint of the key that verified the signature.
    pub key_fingerprint: String,
    /// Where that key came from.
    pub key_source: KeySource,
    /// The release's place in the gate's transparency log.
    pub log: LogReport,
    /// How the release was approved, as replayed from the whole log (only
    /// with [`FetchOptions::require_passkey_approvals`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals: Option<ReleaseApprovals>,
    /// The files, all verified.
    pub files: Vec<FetchedFile>,
}

/// What the log check of a fetch verified.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogReport {
    /// Index of the `released` leaf.
    pub index: u64,
    /// Size of the signed checkpoint it is included in.
    pub checkpoint_size: u64,
    /// Root hash of that checkpoint (hex).
    pub checkpoint_root: String,
    /// The log's origin.
    pub origin: String,
    /// Size of the checkpoint remembered before, which the new one extends.
    pub previous_checkpoint_size: Option<u64>,
    /// Where the new checkpoint is remembered (`None` without a user config directory).
    pub remembered_in: Option<PathBuf>,
    /// The witness cosignatures checked (`None` without `--witness`).
    pub witnesses: Option<WitnessReport>,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Talking to the gate failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The pinned key file is unusable.
    #[error("--gate-key: {0}")]
    PinnedKey(String),
    /// The gate announces a different key than the one remembered for it.
    #[error(
        "the gate's key CHANGED: remembered fingerprint {remembered}, the gate now announces {announced}"
    )]
    KeyChanged {
        /// Remembered fingerprint.
        remembered: String,
        /// Announced fingerprint.
        announced: String,
        /// The file holding the remembered key.
        file: PathBuf,
    },
    /// The user config could not be read or written.
    #[error(transparent)]
    UserConfig(#[from] UserConfigError),
    /// The signature or manifest does not verify.
    #[error("verification failed: {0}")]
    Verify(String),
    /// A downloaded file does not match the signed manifest.
    #[error("{path}: {message}")]
    FileMismatch {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The output directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file to be written already exists in the output directory.
    #[error("{0} already exists; fetch into an empty directory")]
    Exists(PathBuf),
    /// The release is not (verifiably) in the gate's transparency log, or
    /// the log is not consistent with the checkpoint remembered for the gate.
    #[error(transparent)]
    Log(#[from] LogCheckError),
    /// The checkpoint lacks the witness cosignatures required, or they are too old.
    #[error(transparent)]
    Witnesses(#[from] WitnessError),
    /// Passkey approvals were required and the log does not prove them: the
    /// release's approvals are not a quorum of verified passkey assertions,
    /// or the log breaks the gate's rules.
    #[error("{0}")]
    Approvals(String),
}

/// Options of one fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions<'a> {
    /// Package.
    pub package: &'a str,
    /// Version.
    pub version: &'a str,
    /// Output directory (created if needed).
    pub out: &'a Path,
    /// A pinned public key file.
    pub gate_key: Option<&'a Path>,
    /// The user config dir: remembered keys (without a pinned key) and
    /// remembered log checkpoints. Required without a pinned key; with one,
    /// `None` skips the comparison with an earlier checkpoint.
    pub config_dir: Option<&'a Path>,
    /// The witness cosignatures the checkpoint must carry.
    pub witnesses: Option<&'a WitnessPolicy>,
    /// Download and replay the whole log, and refuse the release unless
    /// its approvals are a quorum of verified passkey assertions.
    pub require_passkey_approvals: bool,
}

/// Fetches and verifies a release. `on_first_use` is called with the
/// fingerprint before a first-use key is relied on (the CLI prints it).
pub fn fetch(
    client: &Client,
    options: &FetchOptions<'_>,
    progress: &dyn Progress,
    on_first_use: &dyn Fn(&str),
) -> Result<FetchReport, FetchError> {
    let (package, version) = (options.package, options.version);
    names::package(package).map_err(|e| FetchError::Verify(e.to_string()))?;
    names::version(version).map_err(|e| FetchError::Verify(e.to_string()))?;

    // 1. The key to trust.
    let trusted = trusted_key(client, options.gate_key, options.config_dir, on_first_use)?;
    let key = trusted.key.clone();
    let key_fingerprint = fingerprint(&key);

    // 2. Manifest and signature.
    let base = format!("/v1/packages/{package}/versions/{version}");
    let manifest_bytes = client.get_bytes(&format!("{base}/manifest"), MAX_MANIFEST)?;
    let signature_bytes = client.get_bytes(&format!("{base}/manifest.minisig"), MAX_SIGNATURE)?;
    let manifest = verify(&manifest_bytes, &signature_bytes, &key, package, version)?;
    let manifest_sha256 = manifest.sha256().to_hex();

    // 3. The release is in the log, and the log only grew.
    let (log, note) = check_log(
        client,
        &key,
        package,
        version,
        &manifest_sha256,
        options.config_dir,
        options.witnesses,
    )?;

    // 3b. Its approvals, replayed from the whole log, before any file is
    // kept.
    let approvals = if options.require_passkey_approvals {
        Some(passkey_approvals(
            client, &key, &note, package, version, log.index, progress,
        )?)
    } else {
        None
    };

    // 4. Files, into a private directory first.
    let out = options.out;
    let (staging, files) = download_verified(client, &base, &manifest, out, progress)?;
    // Keep the signed manifest next to the files, so `minisign -Vm` and
    // `shipgate verify` can check them again later.
    for (file, bytes) in [
        (MANIFEST_FILE, &manifest_bytes),
        (SIGNATURE_FILE, &signature_bytes),
    ] {
        let path = staging.path().join(file);
        std::fs::write(&path, bytes).map_err(|source| FetchError::Io { path, source })?;
    }
    let mut names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    names.extend([MANIFEST_FILE, SIGNATURE_FILE]);
    move_into_place(staging, out, &names)?;

    let mut log = log;
    if let Some(dir) = options.config_dir {
        log.remembered_in = Some(saved::remember(dir, client.base_url(), &note)?);
    }
    let key_source = trusted.remember()?;
    Ok(FetchReport {
        package: package.to_owned(),
        version: version.to_owned(),
        out: out.to_owned(),
        manifest_sha256,
        key_fingerprint,
        key_source,
        log,
        approvals,
        files,
    })
}

/// Replays the log of the signed checkpoint in `note` and returns the
/// approvals of the release whose `released` leaf is `released_index`,
/// refusing anything short of a quorum of verified passkey approvals.
fn passkey_approvals(
    client: &Client,
    key: &PublicKey,
    note: &str,
    package: &str,
    version: &str,
    released_index: u64,
    progress: &dyn Progress,
) -> Result<ReleaseApprovals, FetchError> {
    let opened = audit::open_checkpoint(note.as_bytes(), key, "the gate's checkpoint")?;
    let report = audit::audit_entries(client, &opened.checkpoint, progress)?;
    let meaning = report.meaning;
    if let Some(first) = meaning.violations.first() {
        let count = meaning.violations.len() as u64 + meaning.more_violations;
        return Err(FetchError::Approvals(format!(
            "the gate's log breaks its rules at {count} leaves (first: leaf {} {}); run `shipgate log verify --entries` for all",
            first.index,
            shipgate_protocol::untrusted::escape_for_terminal(&first.message)
        )));
    }
    let Some(release) = meaning
        .releases
        .into_iter()
        .find(|r| r.index == released_index)
    else {
        return Err(FetchError::Approvals(format!(
            "the log's leaf {released_index} does not release {package} {version}"
        )));
    };
    let passkeys = release.passkey_approvals() as u64;
    if passkeys < release.quorum {
        let kinds: Vec<String> = release
            .approvals
            .iter()
            .map(|a| {
                let kind = match a.approval {
                    ApprovalKind::Passkey => "passkey",
                    _ => "TOTP",
                };
                format!("{} by {kind}", a.maintainer)
            })
            .collect();
        return Err(FetchError::Approvals(format!(
            "{package} {version} has {passkeys} verified passkey approval(s), but its quorum is {} (approvals: {})",
            release.quorum,
            if kinds.is_empty() {
                "none".to_owned()
            } else {
                shipgate_protocol::untrusted::escape_for_terminal(&kinds.join(", "))
            }
        )));
    }
    Ok(release)
}

/// Downloads every file the manifest lists into a new private directory
/// beside `out` and checks each against the manifest. Returns the directory
/// (removed when dropped) and the verified files.
fn download_verified(
    client: &Client,
    base: &str,
    manifest: &Manifest,
    out: &Path,
    progress: &dyn Progress,
) -> Result<(tempfile::TempDir, Vec<FetchedFile>), FetchError> {
    let parent = shipgate_fs::parent(out);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| FetchError::Io { path, source }
    };
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".shipgate-fetch-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    let mut files = Vec::new();
    for entry in manifest.entries() {
        let name = entry.path.as_str();
        let EntryKind::File { size, sha256 } = &entry.kind else {
            return Err(FetchError::Verify(format!(
                "the manifest lists {name:?} as a symlink; a release holds files only"
            )));
        };
        names::file(name).map_err(|e| FetchError::Verify(e.to_string()))?;
        refuse_existing(&out.join(name))?;
        let temp = staging.path().join(name);
        let mismatch = |message: String| FetchError::FileMismatch {
            path: name.to_owned(),
            message,
        };
        let (got_size, got_sha) = match client.download(
            &format!("{base}/files/{name}"),
            &temp,
            *size,
            progress,
        ) {
            Ok(got) => got,
            Err(ClientError::BodyEnded {
                received, message, ..
            }) => {
                return Err(mismatch(format!(
                    "{received} bytes received, then the transfer ended ({message}); the signed manifest says {size}"
                )));
            }
            Err(ClientError::TooLarge { .. }) => {
                return Err(mismatch(format!(
                    "the gate sent more than the {size} bytes the signed manifest says"
                )));
            }
            Err(other) => return Err(other.into()),
        };
        if got_size != *size {
            return Err(mismatch(format!(
                "{got_size} bytes received, the signed manifest says {size}"
            )));
        }
        if got_sha != sha256.to_hex() {
            return Err(mismatch(format!(
                "SHA-256 {got_sha} does not match the signed manifest's {sha256}"
            )));
        }
        files.push(FetchedFile {
            path: name.to_owned(),
            size: *size,
            sha256: got_sha,
        });
    }
    Ok((staging, files))
}

/// Refuses a final name that is already taken (by anything, a link too).
fn refuse_existing(dest: &Path) -> Result<(), FetchError> {
    match std::fs::symlink_metadata(dest) {
        Ok(_) => Err(FetchError::Exists(dest.to_owned())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FetchError::Io {
            path: dest.to_owned(),
            source,
        }),
    }
}

/// Moves the verified `names` from `staging` into `out`: the whole directory
/// in one rename when `out` does not exist yet, else file by file, each with
/// a hard link that fails rather than replace an existing name.
fn move_into_place(
    staging: tempfile::TempDir,
    out: &Path,
    names: &[&str],
) -> Result<(), FetchError> {
    use std::os::unix::fs::PermissionsExt as _;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| FetchError::Io { path, source }
    };
    for name in names {
        refuse_existing(&out.join(name))?;
    }
    if std::fs::symlink_metadata(out).is_err() {
        let from = staging.path();
        // The directory was private while unverified files were in it.
        std::fs::set_permissions(from, std::fs::Permissions::from_mode(0o755)).map_err(io(from))?;
        let from = staging.keep();
        return match std::fs::rename(&from, out) {
            Ok(()) => shipgate_fs::sync_dir(shipgate_fs::parent(out)).map_err(io(out)),
            Err(source) => {
                let _ = std::fs::remove_dir_all(&from);
                Err(FetchError::Io {
                    path: out.to_owned(),
                    source,
                })
            }
        };
    }
    for name in names {
        let dest = out.join(name);
        std::fs::hard_link(staging.path().join(name), &dest).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                FetchError::Exists(dest.clone())
            } else {
                FetchError::Io {
                    path: dest.clone(),
                    source,
                }
            }
        })?;
    }
    shipgate_fs::sync_dir(out).map_err(io(out))
}

/// The key a client trusts for a gate, and whether to remember it.
#[derive(Debug)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    source: KeySource,
    first_use: Option<(PathBuf, KnownGate)>,
}

impl TrustedKey {
    /// Remembers a first-use key (call only once everything verified) and
    /// says where the key came from.
    pub fn remember(self) -> Result<KeySource, UserConfigError> {
        match self.first_use {
            Some((dir, known)) => Ok(KeySource::FirstUse {
                remembered_in: user_config::remember_gate(&dir, known)?,
            }),
            None => Ok(self.source),
        }
    }
}

/// Decides which key to trust: the pinned file, else the key remembered for
/// this gate (refusing a changed one), else the gate's announced key on
/// first use (`on_first_use` gets its fingerprint before it is relied on).
pub fn trusted_key(
    client: &Client,
    gate_key: Option<&Path>,
    config_dir: Option<&Path>,
    on_first_use: &dyn Fn(&str),
) -> Result<TrustedKey, FetchError> {
    if let Some(path) = gate_key {
        let key = PublicKey::from_file(path).map_err(|e| FetchError::PinnedKey(e.to_string()))?;
        return Ok(TrustedKey {
            key,
            source: KeySource::Pinned {
                path: path.to_owned(),
            },
            first_use: None,
        });
    }
    let dir = config_dir.ok_or(FetchError::UserConfig(UserConfigError::NoDirectory))?;
    let info = client.info()?;
    let url = user_config::normalize_url(client.base_url());
    if let Some(known) = user_config::known_gate(dir, &url)? {
        if known.key_fingerprint != info.key_fingerprint {
            return Err(FetchError::KeyChanged {
                remembered: known.key_fingerprint,
                announced: info.key_fingerprint,
                file: dir.join(user_config::KNOWN_GATES_FILE),
            });
        }
        let key = PublicKey::parse(&known.public_key, "remembered gate key")
            .map_err(|e| FetchError::Verify(e.to_string()))?;
        return Ok(TrustedKey {
            key,
            source: KeySource::Remembered,
            first_use: None,
        });
    }
    let key = PublicKey::parse(&info.public_key, "the gate's announced key")
        .map_err(|e| FetchError::Verify(e.to_string()))?;
    if fingerprint(&key) != info.key_fingerprint {
        return Err(FetchError::Verify(
            "the gate's announced fingerprint does not match its key".into(),
        ));
    }
    on_first_use(&info.key_fingerprint);
    let known = KnownGate {
        url,
        key_fingerprint: info.key_fingerprint,
        public_key: key.to_file_contents(),
    };
    Ok(TrustedKey {
        key,
        source: KeySource::Remembered,
        first_use: Some((dir.to_owned(), known)),
    })
}

/// Checks that the verified release is in a checkpoint signed by `key` that
/// extends the one remembered for this gate. Returns the report and the new
/// checkpoint's note (remembered by the caller once everything verified).
fn check_log(
    client: &Client,
    key: &PublicKey,
    package: &str,
    version: &str,
    manifest_sha256: &str,
    config_dir: Option<&Path>,
    witnesses: Option<&WitnessPolicy>,
) -> Result<(LogReport, String), FetchError> {
    let released = client.released_version(package, version)?;
    let new = audit::fetch_checkpoint(client, key)?;
    let witnesses = witnesses
        .map(|policy| policy.check(&new.note, unix_now()))
        .transpose()?;
    let previous = match config_dir {
        Some(dir) => saved::remembered(dir, client.base_url())?,
        None => None,
    };
    let previous_checkpoint_size = match previous {
        Some(note) => {
            let what = format!(
                "the checkpoint remembered for this gate in {}",
                config_dir
                    .map(|d| d.join(saved::SAVED_CHECKPOINTS_FILE).display().to_string())
                    .unwrap_or_default()
            );
            let old = audit::open_checkpoint(note.as_bytes(), key, &what)?;
            audit::check_extends(client, &old.checkpoint, &new.checkpoint)?;
            Some(old.checkpoint.size)
        }
        None => None,
    };
    let key_id = key.key_id().to_string();
    let expected = ExpectedRelease {
        package,
        version,
        manifest_sha256,
        signature_key_id: &key_id,
    };
    audit::check_release_included(client, &new.checkpoint, released.log_index, &expected)?;
    let report = LogReport {
        index: released.log_index,
        checkpoint_size: new.checkpoint.size,
        checkpoint_root: new.checkpoint.root.to_hex(),
        origin: new.checkpoint.origin.clone(),
        previous_checkpoint_size,
        remembered_in: None,
        witnesses,
    };
    Ok((report, new.note))
}

/// Verifies a manifest's signature with `key` and that the signed comment
/// binds exactly `package` and `version`.
pub fn verify(
    manifest_bytes: &[u8],
    signature_bytes: &[u8],
    key: &PublicKey,
    package: &str,
    version: &str,
) -> Result<Manifest, FetchError> {
    let manifest = Manifest::parse(manifest_bytes, "release manifest")
        .map_err(|e| FetchError::Verify(e.to_string()))?;
    let text = std::str::from_utf8(signature_bytes)
        .map_err(|_| FetchError::Verify("the signature is not text".into()))?;
    let signature = SignatureFile::parse(text, "release manifest signature")
        .map_err(|e| FetchError::Verify(e.to_string()))?;
    let verified = signature
        .verify(manifest_bytes, &manifest, std::slice::from_ref(key))
        .map_err(|e| FetchError::Verify(e.to_string()))?;
    if !matches!(verified.comment, CommentKind::Shipgate(_)) {
        return Err(FetchError::Verify(
            "the signature's trusted comment does not bind the package, version and digest".into(),
        ));
    }
    if manifest.name().as_str() != package || manifest.version().as_str() != version {
        return Err(FetchError::Verify(format!(
            "the signed manifest is for {} {}, not {package} {version}",
            manifest.name(),
            manifest.version()
        )));
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use shipgate_manifest::keys::generate_key_pair;
    use shipgate_manifest::signature::sign_manifest;

    use super::*;
    use shipgate_protocol::manifest::release_manifest;
    use shipgate_protocol::release::ReleaseFile;

    fn signed() -> (Vec<u8>, String, PublicKey, shipgate_manifest::SigningKey) {
        let pair = generate_key_pair(None).unwrap();
        let secret = shipgate_manifest::SecretKeyFile::parse(&pair.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        let public = PublicKey::parse(&pair.public_key_file, "p").unwrap();
        let manifest = release_manifest(
            "hello",
            "1.0",
            &[ReleaseFile {
                path: "a.txt".into(),
                size: 1,
                sha256: "a".repeat(64),
            }],
        )
        .unwrap();
        let sig = sign_manifest(&manifest, &secret, 1).unwrap();
        (manifest.to_bytes(), sig, public, secret)
    }

    #[test]
    fn verifies_a_gate_signature_and_its_binding() {
        let (bytes, sig, key, _) = signed();
        verify(&bytes, sig.as_bytes(), &key, "hello", "1.0").unwrap();
        // Asked for another version or package: refused even though the signature is valid.
        assert!(verify(&bytes, sig.as_bytes(), &key, "hello", "2.0").is_err());
        assert!(verify(&bytes, sig.as_bytes(), &key, "other", "1.0").is_err());
    }

    #[test]
    fn refuses_tampering_wrong_keys_and_garbage() {
        let (bytes, sig, key, _) = signed();
        let mut tampered = bytes.clone();
        let last = tampered.len() - 2;
        tampered[last] ^= 1;
        assert!(verify(&tampered, sig.as_bytes(), &key, "hello", "1.0").is_err());
        let (_, _, other_key, _) = signed();
        assert!(verify(&bytes, sig.as_bytes(), &other_key, "hello", "1.0").is_err());
        for garbage in [&b""[..], b"\xff\xfe", b"untrusted comment: x\n"] {
            assert!(verify(&bytes, garbage, &key, "hello", "1.0").is_err());
            assert!(verify(garbage, sig.as_bytes(), &key, "hello", "1.0").is_err());
        }
        // A signature over another manifest (a replayed old release) fails.
        let (old_bytes, old_sig, _, secret) = signed();
        let _ = old_bytes;
        let other = release_manifest("hello", "1.0", &[]).unwrap();
        let replayed = sign_manifest(&other, &secret, 1).unwrap();
        let pk = secret.public_key().clone();
        assert!(verify(&bytes, replayed.as_bytes(), &pk, "hello", "1.0").is_err());
        let _ = old_sig;
    }
}
