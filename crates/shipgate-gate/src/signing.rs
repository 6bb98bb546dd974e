//! The gate key: a minisign secret key that only the gate holds. It signs
//! each release manifest (pillar-1 format) when the quorum is met; users
//! verify with the public key from `/v1/info` (or pinned with `--gate-key`),
//! with shipgate or the standard `minisign -Vm shipgate.manifest -p gate.pub`.

use std::path::Path;

use shipgate_manifest::signature::sign_manifest;
use shipgate_manifest::{KeyError, SecretKeyFile, SigningKey};

use crate::storage::{ReleaseDetail, SignedManifest};
pub use shipgate_protocol::manifest::{fingerprint, release_manifest};

/// Environment variable holding the gate key's password, when it is encrypted.
pub const PASSWORD_ENV: &str = "SHIPGATE_KEY_PASSWORD";

/// Why the gate key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLoadError {
    /// Unreadable, malformed, wrong password, ...
    #[error("gate key: {0}")]
    Key(#[from] KeyError),
    /// Readable by other users.
    #[error(transparent)]
    Permissions(#[from] crate::private_files::PrivateFileError),
}

/// The gate's signing key and its public half.
#[derive(Debug)]
pub struct GateKey {
    key: SigningKey,
    public_key_text: String,
    fingerprint: String,
}

impl GateKey {
    /// Loads the secret key file (password from `SHIPGATE_KEY_PASSWORD` when
    /// the key is encrypted).
    pub fn load(path: &Path) -> Result<Self, KeyLoadError> {
        crate::private_files::check_private_file(path, "gate key")?;
        let file = SecretKeyFile::from_file(path)?;
        let password = std::env::var(PASSWORD_ENV).ok();
        let key = file.unlock(password.as_deref())?;
        Ok(Self::from_key(key))
    }

    /// Wraps an unlocked key.
    pub fn from_key(key: SigningKey) -> Self {
        Self {
            public_key_text: key.public_key().to_file_contents(),
            fingerprint: fingerprint(key.public_key()),
            key,
        }
    }

    /// The unlocked key (the transparency log signs checkpoints with its seed).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key file text (minisign format).
    pub fn public_key_text(&self) -> &str {
        &self.public_key_text
    }

    /// The public key's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Builds and signs the release manifest of `release`; returns it and
    /// its SHA-256 (hex).
    pub fn sign_release(
        &self,
        release: &ReleaseDetail,
    ) -> Result<(SignedManifest, String), String> {
        let manifest = release_manifest(
            &release.summary.package,
            &release.summary.version,
            &release.files,
        )?;
        let now = u64::try_from(crate::unix_now()).unwrap_or(0);
        let signature = sign_manifest(&manifest, &self.key, now).map_err(|e| e.to_string())?;
        let bytes = manifest.to_bytes();
        let digest = manifest.sha256().to_hex();
        Ok((
            SignedManifest {
                manifest: bytes,
                signature,
            },
            digest,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use sha2::{Digest, Sha256};
    use shipgate_manifest::keys::generate_key_pair;
    use shipgate_manifest::signature::CommentKind;
    use shipgate_manifest::{Manifest, PublicKey, SignatureFile};

    use super::*;
    use crate::storage::{ReleaseFile, ReleaseState, ReleaseSummary};

    #[test]
    fn signs_a_release_manifest_that_verifies_with_the_public_key() {
        let pair = generate_key_pair(None).unwrap();
        let dir = crate::private_files::private_tempdir();
        let path = dir.path().join("gate.key");
        std::fs::write(&path, &pair.secret_key_file).unwrap();
        // Readable by others: refused, naming the fix.
        let err = GateKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let key = GateKey::load(&path).unwrap();
        let public = PublicKey::parse(key.public_key_text(), "gate.pub").unwrap();
        assert_eq!(fingerprint(&public), key.fingerprint());

        let release = ReleaseDetail {
            summary: ReleaseSummary {
                id: 1,
                package: "hello".into(),
                version: "1.0.0".into(),
                state: ReleaseState::Staged,
                created_at: 0,
                decided_at: None,
            },
            provenance: Default::default(),
            files: vec![ReleaseFile {
                path: "hello world.tar.gz".into(),
                size: 3,
                sha256: hex::encode(Sha256::digest(b"abc")),
            }],
            approvals: vec![],
            reject_reason: None,
        };
        let (signed, digest) = key.sign_release(&release).unwrap();
        assert_eq!(digest, hex::encode(Sha256::digest(&signed.manifest)));
        let manifest = Manifest::parse(&signed.manifest, "manifest").unwrap();
        assert_eq!(manifest.name().as_str(), "hello");
        let sig = SignatureFile::parse(&signed.signature, "sig").unwrap();
        let verified = sig.verify(&signed.manifest, &manifest, &[public]).unwrap();
        assert!(matches!(verified.comment, CommentKind::Shipgate(_)));
        // Another key does not verify it.
        let other = generate_key_pair(None).unwrap();
        let other = PublicKey::parse(&other.public_key_file, "other").unwrap();
        assert!(sig.verify(&signed.manifest, &manifest, &[other]).is_err());
    }

    #[test]
    fn a_broken_key_file_is_a_clear_error() {
        let dir = crate::private_files::private_tempdir();
        let path = dir.path().join("gate.key");
        std::fs::write(&path, "garbage\n").unwrap();
        let err = GateKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("gate.key"), "{err}");
        assert!(GateKey::load(&dir.path().join("missing.key")).is_err());
    }
}
