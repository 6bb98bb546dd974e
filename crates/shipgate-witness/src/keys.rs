//! The witness key file: one line, `PRIVATE+KEY+<name>+<key ID>+base64(0x04 || seed)`
//! (the format of Go's `sumdb/note` signer keys), mode 0600; and beside it
//! `<file>.pub` with the verifier key that logs and clients pin.

use std::io;
use std::path::{Path, PathBuf};

use shipgate_log::{CosignatureError, CosignatureSigner};

/// Largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// A key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not a witness private key.
    #[error("{path}: {error}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        error: CosignatureError,
    },
    /// The private key file can be read by others.
    #[error("{path}: mode {mode:o} lets other users read the witness key; chmod 600 it")]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The name is not a valid key name.
    #[error(
        "invalid witness name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidName(String),
    /// The operating system gave no randomness.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// The key file exists already (never overwritten).
    #[error("{0} exists already; a witness key is never overwritten")]
    Exists(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The public key file beside a private key file: `<file>.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Generates a witness key named `name`: the private key in `path` (0600)
/// and the verifier key in `path.pub`. Refuses to overwrite either.
pub fn generate_key_files(name: &str, path: &Path) -> Result<CosignatureSigner, KeyFileError> {
    let public = public_key_path(path);
    for existing in [path, public.as_path()] {
        if existing.symlink_metadata().is_ok() {
            return Err(KeyFileError::Exists(existing.to_owned()));
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let signer = CosignatureSigner::from_ed25519_seed(name, &seed)
        .map_err(|_| KeyFileError::InvalidName(name.to_owned()))?;
    shipgate_fs::write_private(path, format!("{}\n", signer.private_key()).as_bytes())
        .map_err(io_err(path))?;
    shipgate_fs::write_atomic(&public, format!("{}\n", signer.verifier()).as_bytes())
        .map_err(io_err(&public))?;
    Ok(signer)
}

/// Reads a witness private key file; refuses one readable by others.
pub fn read_key_file(path: &Path) -> Result<CosignatureSigner, KeyFileError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(io_err(path))?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io_err(path))?;
    CosignatureSigner::parse_private_key(text.trim_end()).map_err(|error| KeyFileError::Malformed {
        path: path.to_owned(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.key");
        let signer = generate_key_files("witness.test/w1", &path).unwrap();
        let back = read_key_file(&path).unwrap();
        assert_eq!(back.verifier(), signer.verifier());
        let public = std::fs::read_to_string(public_key_path(&path)).unwrap();
        assert_eq!(public.trim_end(), signer.verifier().to_string());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                read_key_file(&path),
                Err(KeyFileError::TooOpen { .. })
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(
            generate_key_files("witness.test/w1", &path),
            Err(KeyFileError::Exists(_))
        ));
        assert!(matches!(
            generate_key_files("bad name", &dir.path().join("other.key")),
            Err(KeyFileError::InvalidName(_))
        ));
        let garbage = dir.path().join("garbage.key");
        shipgate_fs::write_private(&garbage, b"PRIVATE+KEY+x\n").unwrap();
        assert!(matches!(
            read_key_file(&garbage),
            Err(KeyFileError::Malformed { .. })
        ));
    }
}
