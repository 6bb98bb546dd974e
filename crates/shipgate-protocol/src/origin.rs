//! The log's name (its origin: the first line of every checkpoint and the
//! name of the checkpoint key) and the checkpoint verifier a client builds
//! from the gate's public key.

use shipgate_log::NoteVerifier;
use shipgate_manifest::PublicKey;

/// The gate's public URL is not usable as a log origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    /// Not `http://` or `https://`.
    #[error("public_url {0:?} does not start with http:// or https://")]
    NotHttp(String),
    /// Nothing after the scheme, or a query or fragment.
    #[error("public_url {0:?} has no host, or has a query or fragment")]
    NoHost(String),
    /// Whitespace, `+` or control characters (not allowed in a note key name).
    #[error("public_url {0:?} contains whitespace, '+' or a control character")]
    BadCharacter(String),
}

/// The log's origin (the first line of every checkpoint, and the name of
/// the checkpoint key): the public URL without its scheme and trailing
/// slashes, host in lowercase — `https://Gate.example.com/` gives
/// `gate.example.com`, `http://127.0.0.1:8080/gate` gives `127.0.0.1:8080/gate`.
pub fn origin(public_url: &str) -> Result<String, OriginError> {
    let rest = public_url
        .strip_prefix("https://")
        .or_else(|| public_url.strip_prefix("http://"))
        .ok_or_else(|| OriginError::NotHttp(public_url.to_owned()))?;
    let rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if host.is_empty() || rest.contains(['?', '#']) {
        return Err(OriginError::NoHost(public_url.to_owned()));
    }
    let origin = format!("{}{path}", host.to_ascii_lowercase());
    if !shipgate_log::note::is_valid_key_name(&origin) {
        return Err(OriginError::BadCharacter(public_url.to_owned()));
    }
    Ok(origin)
}

/// The checkpoint verifier for the log `origin`, from the gate's minisign
/// public key (the note key name is the origin).
pub fn note_verifier(
    origin: &str,
    key: &PublicKey,
) -> Result<NoteVerifier, shipgate_log::KeyError> {
    NoteVerifier::from_ed25519_public_key(origin, &key.ed25519_public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_the_public_url_without_scheme() {
        for (url, expected) in [
            ("https://gate.example.com", "gate.example.com"),
            ("https://Gate.Example.com/", "gate.example.com"),
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("https://example.com/Gate/v2//", "example.com/Gate/v2"),
        ] {
            assert_eq!(origin(url).unwrap(), expected, "{url}");
        }
        assert!(matches!(origin("ftp://x"), Err(OriginError::NotHttp(_))));
        for bad in ["https://", "https:///path", "https://x?y", "https://x/#y"] {
            assert!(matches!(origin(bad), Err(OriginError::NoHost(_))), "{bad}");
        }
        for bad in ["https://a b", "https://a+b", "https://a\tb"] {
            assert!(
                matches!(origin(bad), Err(OriginError::BadCharacter(_))),
                "{bad}"
            );
        }
    }
}
