//! The user's shipgate files: maintainer credentials and the gate keys
//! accepted on first use.
//!
//! Directory: `$SHIPGATE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/shipgate`, else
//! `~/.config/shipgate`.
//!
//! - `credentials.toml` (must not be readable by group or others, like an
//!   SSH key; `chmod 600`):
//!   ```toml
//!   [[gate]]
//!   url = "https://gate.example.com"
//!   maintainer_token = "sgm_alice_..."
//!   ```
//! - `known_gates.toml` (written by `shipgate fetch` on first use):
//!   ```toml
//!   [[gate]]
//!   url = "https://gate.example.com"
//!   key_fingerprint = "9f86d0..."
//!   public_key = "untrusted comment: ...\nRWQ...\n"
//!   ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the maintainer credentials.
pub const CREDENTIALS_FILE: &str = "credentials.toml";
/// File name of the remembered gate keys.
pub const KNOWN_GATES_FILE: &str = "known_gates.toml";

/// Why a user file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserConfigError {
    /// Neither `SHIPGATE_CONFIG_DIR`, `XDG_CONFIG_HOME` nor `HOME` is set.
    #[error("cannot find the user config directory: set SHIPGATE_CONFIG_DIR or HOME")]
    NoDirectory,
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The credentials file is readable by other users.
    #[error("{path} is readable by other users (mode {mode:o}); it holds secrets")]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The user config directory.
pub fn config_dir() -> Result<PathBuf, UserConfigError> {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("SHIPGATE_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = env("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(dir).join("shipgate"));
    }
    env("HOME")
        .map(|home| PathBuf::from(home).join(".config").join("shipgate"))
        .ok_or(UserConfigError::NoDirectory)
}

/// Normalises a gate URL for lookups (no trailing slash).
pub fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    gate: Vec<GateCredentials>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateCredentials {
    url: String,
    maintainer_token: String,
}

/// Largest user file read (one entry per gate; a few KiB each).
const MAX_FILE_BYTES: u64 = 16 << 20;

fn read_optional(path: &Path) -> Result<Option<String>, UserConfigError> {
    use std::io::Read as _;
    let io_err = |source| UserConfigError::Io {
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err(err)),
    };
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io_err)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(UserConfigError::Invalid {
            path: path.to_owned(),
            message: format!("larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    Ok(Some(text))
}

/// The maintainer token stored for `gate_url` in `dir/credentials.toml`.
pub fn maintainer_token(dir: &Path, gate_url: &str) -> Result<Option<String>, UserConfigError> {
    let path = dir.join(CREDENTIALS_FILE);
    let Some(text) = read_optional(&path)? else {
        return Ok(None);
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map_err(|source| UserConfigError::Io {
                path: path.clone(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(UserConfigError::TooOpen {
                path,
                mode: mode & 0o777,
            });
        }
    }
    let file: CredentialsFile = toml::from_str(&text).map_err(|e| UserConfigError::Invalid {
        path: path.clone(),
        message: e.message().to_owned(),
    })?;
    let wanted = normalize_url(gate_url);
    Ok(file
        .gate
        .into_iter()
        .find(|g| normalize_url(&g.url) == wanted)
        .map(|g| g.maintainer_token))
}

/// A gate key remembered on first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownGate {
    /// The gate URL (normalised).
    pub url: String,
    /// SHA-256 of the raw public key.
    pub key_fingerprint: String,
    /// The minisign public key file text.
    pub public_key: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownGatesFile {
    #[serde(default)]
    gate: Vec<KnownGate>,
}

fn read_known(path: &Path) -> Result<KnownGatesFile, UserConfigError> {
    match read_optional(path)? {
        None => Ok(KnownGatesFile::default()),
        Some(text) => toml::from_str(&text).map_err(|e| UserConfigError::Invalid {
            path: path.to_owned(),
            message: e.message().to_owned(),
        }),
    }
}

/// The key remembered for `gate_url`, if any.
pub fn known_gate(dir: &Path, gate_url: &str) -> Result<Option<KnownGate>, UserConfigError> {
    let wanted = normalize_url(gate_url);
    Ok(read_known(&dir.join(KNOWN_GATES_FILE))?
        .gate
        .into_iter()
        .find(|g| g.url == wanted))
}

/// Remembers a gate's key (replacing nothing: callers check first).
pub fn remember_gate(dir: &Path, gate: KnownGate) -> Result<PathBuf, UserConfigError> {
    let path = dir.join(KNOWN_GATES_FILE);
    let io_err = |source| UserConfigError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let mut file = read_known(&path)?;
    file.gate.retain(|g| g.url != gate.url);
    file.gate.push(gate);
    let text = toml::to_string(&file).map_err(|e| UserConfigError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    // Atomic and durable: a crash never leaves a half-written file, and a
    // link planted at the file or a temporary name is never written through.
    shipgate_fs::write_atomic(&path, text.as_bytes()).map_err(io_err)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_gates_round_trip_per_url() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(known_gate(dir.path(), "http://a").unwrap(), None);
        let gate = KnownGate {
            url: "http://a".into(),
            key_fingerprint: "f1".into(),
            public_key: "untrusted comment: x\nRWQ\n".into(),
        };
        remember_gate(dir.path(), gate.clone()).unwrap();
        assert_eq!(known_gate(dir.path(), "http://a/").unwrap(), Some(gate));
        assert_eq!(known_gate(dir.path(), "http://b").unwrap(), None);
        std::fs::write(dir.path().join(KNOWN_GATES_FILE), "gate = 5").unwrap();
        assert!(known_gate(dir.path(), "http://a").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn credentials_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CREDENTIALS_FILE);
        std::fs::write(
            &path,
            "[[gate]]\nurl = \"http://g/\"\nmaintainer_token = \"sgm_a_x\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            maintainer_token(dir.path(), "http://g"),
            Err(UserConfigError::TooOpen { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            maintainer_token(dir.path(), "http://g").unwrap().as_deref(),
            Some("sgm_a_x")
        );
        assert_eq!(maintainer_token(dir.path(), "http://other").unwrap(), None);
    }
}
