//! The gate's transparency log: every event is a Merkle leaf (RFC 6962 /
//! RFC 9162 hashing, via `shipgate-log`), appended in the same database
//! transaction as the state change it records (`storage/log.rs`).
//!
//! - [`leaf`]: the canonical, versioned bytes of one event.
//! - [`origin`] and [`LogSigner`]: the log's name and its checkpoint key —
//!   the gate key's own Ed25519 seed, so the one key users pin verifies both
//!   release signatures and checkpoints.
//! - [`service`]: what `shipgate serve` keeps to answer `/v1/log/...`.
//! - [`witnesses`]: the witnesses asked to cosign checkpoints.
//!
//! The client side (`shipgate fetch`, `shipgate log verify`) is in
//! `shipgate_client::tlog`; the leaf format and the origin are shared in
//! `shipgate_protocol`.

pub mod service;
pub mod witnesses;

use shipgate_log::NoteSigner;
use shipgate_manifest::SigningKey;

pub use shipgate_protocol::leaf::{self, LEAF_FORMAT, LeafError, LogEvent};
pub use shipgate_protocol::origin::{OriginError, note_verifier, origin};

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

#[cfg(test)]
mod tests {
    use shipgate_manifest::keys::generate_key_pair;
    use shipgate_manifest::{PublicKey, SecretKeyFile};

    use super::*;

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
