//! The publishing credential: held, sent, never shown.

use base64::Engine as _;

/// A registry credential: a token, or a username and password (PyPI only).
///
/// `Debug` and `Display` print `<redacted>`; errors built while publishing have the secret
/// (and its Basic-auth encoding) scrubbed from anything a registry echoes back.
#[derive(Clone)]
pub struct Credential {
    username: Option<String>,
    secret: String,
}

impl Credential {
    /// A token: npm bearer token, PyPI API token (sent as `__token__`), cargo token.
    /// Surrounding whitespace (a token file's trailing newline) is removed.
    pub fn token(token: impl Into<String>) -> Self {
        Credential {
            username: None,
            secret: token.into().trim().to_owned(),
        }
    }

    /// A username and password, for package indexes without tokens (pypiserver).
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credential {
            username: Some(username.into()),
            secret: password.into(),
        }
    }

    /// The same secret, sent as the password of `username` (PyPI Basic auth; a
    /// pypiserver takes an htpasswd user instead of `__token__`).
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// A token read from a file that only its owner can read (mode 0600 or stricter);
    /// surrounding whitespace is removed. The error never contains the file's content.
    pub fn from_file(path: &std::path::Path) -> Result<Self, CredentialError> {
        let shown = path.display().to_string();
        let metadata = std::fs::metadata(path).map_err(|source| CredentialError::Unreadable {
            path: shown.clone(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CredentialError::TooOpen { path: shown, mode });
            }
        }
        let text = std::fs::read_to_string(path).map_err(|source| CredentialError::Unreadable {
            path: shown.clone(),
            source,
        })?;
        let credential = Credential::token(text);
        if credential.secret.is_empty() {
            return Err(CredentialError::Empty { source_name: shown });
        }
        Ok(credential)
    }

    /// A token from an environment variable of this process.
    pub fn from_env(variable: &str) -> Result<Self, CredentialError> {
        let value = std::env::var(variable).map_err(|_| CredentialError::MissingVariable {
            variable: variable.to_owned(),
        })?;
        let credential = Credential::token(value);
        if credential.secret.is_empty() {
            return Err(CredentialError::Empty {
                source_name: format!("${variable}"),
            });
        }
        Ok(credential)
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// The Basic-auth pair for PyPI: `__token__` and the token unless a username was given.
    pub(crate) fn pypi_basic(&self) -> (&str, &str) {
        (
            self.username.as_deref().unwrap_or("__token__"),
            &self.secret,
        )
    }

    /// `text` with every form of the secret this crate sends replaced by `<redacted>`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.secret.is_empty() {
            return text.to_owned();
        }
        let (user, password) = self.pypi_basic();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        text.replace(&self.secret, "<redacted>")
            .replace(&basic, "<redacted>")
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A credential could not be loaded. Never contains the credential itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The token file could not be read.
    #[error("token file {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The token file can be read by others than its owner.
    #[error("token file {path}: mode {mode:04o} lets others read it; chmod 600 it")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The environment variable is not set (or not UTF-8).
    #[error("environment variable {variable} is not set")]
    MissingVariable {
        /// The variable's name.
        variable: String,
    },
    /// The file or variable holds only whitespace.
    #[error("{source_name}: the token is empty")]
    Empty {
        /// The file or `$VARIABLE`.
        source_name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::Credential;

    #[test]
    fn token_files_must_be_private_and_errors_never_show_them() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("token");
        std::fs::write(&path, "npm_SecretToken\n").unwrap_or_else(|e| panic!("{e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
            let error = Credential::from_file(&path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("mode 0644"), "{error}");
            assert!(!error.contains("npm_SecretToken"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let credential = Credential::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(credential.secret(), "npm_SecretToken");
        assert_eq!(format!("{credential:?}"), "Credential(<redacted>)");
        assert!(
            credential
                .scrub("echo npm_SecretToken back")
                .contains("<redacted>")
        );
        assert!(Credential::from_env("SHIPGATE_TEST_SURELY_UNSET_VARIABLE").is_err());
    }
}
