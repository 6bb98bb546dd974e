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
