//! The gate's transparency log: every event is a Merkle leaf (RFC 6962 /
//! RFC 9162 hashing, via `shipgate-log`), appended in the same database
//! transaction as the state change it records (`storage/log.rs`).
//!
//! - [`leaf`]: the canonical, versioned bytes of one event.
//! - [`origin`] and [`LogSigner`]: the log's name and its checkpoint key —
//!   the gate key's own Ed25519 seed, so the one key users pin verifies both
//!   release signatures and checkpoints.
//! - [`service`]: what `shipgate serve` keeps to answer `/v1/log/...`.
//! - [`audit`]: the client side (`shipgate fetch`, `shipgate log verify`).
//! - [`saved`]: the checkpoints a client remembers per gate.

pub mod audit;
pub mod leaf;
pub mod saved;
pub mod service;

use shipgate_log::{NoteSigner, NoteVerifier};
use shipgate_manifest::{PublicKey, SigningKey};

pub use leaf::{LEAF_FORMAT, LeafError, LogEvent};

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

/// Signs checkpoints for the log named `origin` with the gate key.
#[derive(Debug)]
pub struct LogSigner {
    origin: String,
    signer: NoteSigner,
}

impl LogSigner {
    /// The signer for `public_url`'s log, keyed by the gate key's seed.
    pub fn new(public_url: &str, key: &SigningKey) -> Result<LogSigner, OriginError> {
        let origin = origin(public_url)?;
        let signer = NoteSigner::from_ed25519_seed(&origin, &key.ed25519_seed())
            .map_err(|_| OriginError::BadCharacter(public_url.to_owned()))?;
        Ok(LogSigner { origin, signer })
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The note signer.
    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    /// The verifier key string `<origin>+<key id>+<base64 key>`.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().to_string()
    }
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
    use shipgate_manifest::SecretKeyFile;
    use shipgate_manifest::keys::generate_key_pair;

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

    /// The checkpoint key is the gate key: the verifier built from the
    /// minisign PUBLIC key file accepts what the seed of the SECRET key
    /// signs (two independent derivations of one Ed25519 key: minisign's and
    /// aws-lc's).
    #[test]
    fn checkpoints_verify_with_the_minisign_public_key() {
        let pair = generate_key_pair(None).unwrap();
        let secret = SecretKeyFile::parse(&pair.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        let public = PublicKey::parse(&pair.public_key_file, "p").unwrap();
        let signer = LogSigner::new("https://gate.example.com/", &secret).unwrap();
        assert_eq!(signer.origin(), "gate.example.com");
        let verifier = note_verifier("gate.example.com", &public).unwrap();
        assert_eq!(signer.verifier_key(), verifier.to_string());
        assert!(signer.verifier_key().starts_with("gate.example.com+"));
        let note =
            shipgate_log::Checkpoint::new("gate.example.com", 3, shipgate_log::Hash([7; 32]))
                .sign(signer.signer())
                .unwrap();
        let checkpoint =
            shipgate_log::Checkpoint::open(note.as_bytes(), "gate.example.com", &verifier).unwrap();
        assert_eq!(checkpoint.size, 3);
        let other = generate_key_pair(None).unwrap();
        let other = PublicKey::parse(&other.public_key_file, "o").unwrap();
        let wrong = note_verifier("gate.example.com", &other).unwrap();
        assert!(
            shipgate_log::Checkpoint::open(note.as_bytes(), "gate.example.com", &wrong).is_err()
        );
    }
}
