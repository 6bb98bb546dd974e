//! Secrets at rest: the maintainers' TOTP secrets are stored in the database
//! sealed with AES-256-GCM under a key that lives in its own file
//! (`secrets_key_file` in gate.toml), never in the database. A copy of
//! `gate.db` alone (a backup, a stolen disk image) then reveals no second
//! factor; the key file is backed up separately and kept out of database
//! backups.
//!
//! Stored form: `sealed:v1:` followed by base64 of `nonce (12 bytes) ||
//! ciphertext || tag (16 bytes)`. The maintainer's name is the associated
//! data, so a sealed secret copied onto another maintainer's row does not
//! open. Nonces are random: a gate seals a handful of secrets in its life,
//! far below the 2^32 messages where random 96-bit nonces become a risk.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::private_files::{self, PrivateFileError};

/// Prefix of a sealed secret in the database.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// First word of the key file, so a wrong file is recognised.
const KEY_FILE_HEADER: &str = "shipgate-secrets-key-v1";

/// The key is 256 bits.
const KEY_LEN: usize = 32;

/// Why the secrets key could not be loaded or a secret not sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// The key file is readable by others, or its directory is.
    #[error(transparent)]
    Permissions(#[from] PrivateFileError),
    /// The key file could not be read or created.
    #[error("secrets key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file is not `shipgate-secrets-key-v1 <base64 of 32 bytes>`.
    #[error(
        "secrets key file {0}: not a shipgate secrets key (expected one line `{KEY_FILE_HEADER} <base64 of 32 bytes>`)"
    )]
    Malformed(PathBuf),
    /// No randomness from the operating system.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// A stored secret did not open: another key, another row, or edited.
    #[error(
        "the stored TOTP secret of {0:?} does not open with this secrets key (another key file, or the row was edited)"
    )]
    WrongKey(String),
    /// The sealing primitive refused (never expected).
    #[error("AES-256-GCM refused the operation")]
    Crypto,
}

/// The key that seals secrets at rest.
pub struct SecretsKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

impl SecretsKey {
    /// A fresh random key (tests, and the first start).
    pub fn generate() -> Result<Self, SecretsError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| SecretsError::Random(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8; KEY_LEN]) -> Result<Self, SecretsError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SecretsError::Crypto)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Loads the key file, creating it (mode 0600, never overwriting) when
    /// it does not exist. A key file readable by other users is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretsError> {
        let io = |source| SecretsError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; KEY_LEN];
                getrandom::fill(&mut bytes).map_err(|e| SecretsError::Random(e.to_string()))?;
                let text = format!("{KEY_FILE_HEADER} {}\n", STANDARD.encode(bytes));
                let mut file = private_files::create_new_private(path).map_err(io)?;
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                if let Some(dir) = path.parent() {
                    private_files::sync_dir(dir);
                }
                tracing::warn!(
                    path = %path.display(),
                    "created the secrets key file: back it up separately from the database"
                );
                return Self::from_bytes(&bytes);
            }
            Err(err) => return Err(io(err)),
        }
        private_files::check_private_file(path, "secrets key file")?;
        let text = std::fs::read_to_string(path).map_err(io)?;
        let malformed = || SecretsError::Malformed(path.to_owned());
        let mut words = text.split_whitespace();
        if words.next() != Some(KEY_FILE_HEADER) {
            return Err(malformed());
        }
        let encoded = words.next().ok_or_else(malformed)?;
        if words.next().is_some() {
            return Err(malformed());
        }
        let decoded = STANDARD.decode(encoded).map_err(|_| malformed())?;
        let bytes: [u8; KEY_LEN] = decoded.try_into().map_err(|_| malformed())?;
        Self::from_bytes(&bytes)
    }

    /// Seals `secret` for the maintainer `owner`.
    pub fn seal(&self, owner: &str, secret: &str) -> Result<String, SecretsError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SecretsError::Random(e.to_string()))?;
        let mut buffer = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SecretsError::Crypto)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&buffer);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(stored)))
    }

    /// Opens what [`seal`](Self::seal) stored for `owner`.
    pub fn open(&self, owner: &str, stored: &str) -> Result<String, SecretsError> {
        let wrong = || SecretsError::WrongKey(owner.to_owned());
        let encoded = stored.strip_prefix(SEALED_PREFIX).ok_or_else(wrong)?;
        let mut bytes = STANDARD.decode(encoded).map_err(|_| wrong())?;
        if bytes.len() < NONCE_LEN {
            return Err(wrong());
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = bytes.try_into().map_err(|_| wrong())?;
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| wrong())?;
        String::from_utf8(plain.to_vec()).map_err(|_| wrong())
    }
}

/// True when a stored secret is already sealed (rows written before
/// secrets were encrypted hold the plain base32 secret).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_owner_and_key() {
        let key = SecretsKey::generate().unwrap();
        let sealed = key.seal("alice", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(key.open("alice", &sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        // Another row, another key, an edited byte, a plain value: refused.
        assert!(matches!(
            key.open("bob", &sealed),
            Err(SecretsError::WrongKey(_))
        ));
        let other = SecretsKey::generate().unwrap();
        assert!(other.open("alice", &sealed).is_err());
        let mut edited = sealed.clone().into_bytes();
        let last = edited.len() - 3;
        edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
        assert!(
            key.open("alice", &String::from_utf8(edited).unwrap())
                .is_err()
        );
        for bad in [
            "JBSWY3DPEHPK3PXP",
            "sealed:v1:",
            "sealed:v1:!!",
            "sealed:v1:AAAA",
        ] {
            assert!(key.open("alice", bad).is_err(), "{bad}");
        }
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(sealed, key.seal("alice", "JBSWY3DPEHPK3PXP").unwrap());
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = crate::private_files::private_tempdir();
        let path = dir.path().join("secrets.key");
        let first = SecretsKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let sealed = first.seal("alice", "S").unwrap();
        let again = SecretsKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("alice", &sealed).unwrap(), "S");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretsKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");

        for bad in [
            "",
            "shipgate-secrets-key-v1\n",
            "other AAAA\n",
            "shipgate-secrets-key-v1 AAAA\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = SecretsKey::load_or_create(&path).unwrap_err();
            assert!(matches!(err, SecretsError::Malformed(_)), "{bad:?}: {err}");
        }
    }
}
