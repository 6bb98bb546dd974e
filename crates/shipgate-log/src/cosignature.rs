//! C2SP `tlog-cosignature` (`cosignature/v1`, Ed25519): a witness's
//! timestamped statement that a checkpoint is the largest consistent tree
//! head it has seen for that log.
//!
//! ```text
//! signed message = "cosignature/v1\n" "time <unix seconds>\n" <checkpoint note text>
//! signature line = "— <witness name> " base64(key ID(4) || timestamp u64 BE(8) || Ed25519 signature(64))
//! key ID         = SHA-256(<name> || "\n" || 0x04 || public key)[:4]
//! verifier key   = <name>+<hex key ID>+base64(0x04 || public key)
//! ```
//!
//! A cosignature is just another signature line of the checkpoint's note,
//! so a checkpoint with cosignatures still opens with the log's key alone
//! (unknown keys are ignored by [`crate::note`]).

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::note::keys::{check_key_id, parse_vkey};
use crate::note::{ED25519_KEY_LEN, ED25519_SIGNATURE_LEN, KeyError, NoteSignature, SignedNote};
use crate::note::{is_valid_key_name, key_id};

/// The key type byte of Ed25519 `cosignature/v1` keys (in the key ID and the verifier key).
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;
/// Length of the decoded signature after the key ID: timestamp and Ed25519 signature.
pub const COSIGNATURE_LEN: usize = 8 + ED25519_SIGNATURE_LEN;
/// Timestamps are at most 2^63 - 1 (the spec's bound).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Prefix of a private key file (`PRIVATE+KEY+<name>+<key ID>+base64(0x04 || seed)`,
/// the format of Go's `golang.org/x/mod/sumdb/note` signer keys).
pub const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A cosignature could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The note carries no signature line with this witness's name and key ID.
    #[error("no cosignature by {name} ({key_id:08x})")]
    Missing {
        /// Witness name.
        name: String,
        /// Its key ID.
        key_id: u32,
    },
    /// The signature after the key ID is not 8 + 64 bytes.
    #[error("the cosignature by {name} is {len} bytes after the key ID, not {COSIGNATURE_LEN}")]
    WrongLength {
        /// Witness name.
        name: String,
        /// The length found.
        len: usize,
    },
    /// The timestamp is above 2^63 - 1.
    #[error("the cosignature by {name} has timestamp {timestamp}, above 2^63-1")]
    TimestampOutOfRange {
        /// Witness name.
        name: String,
        /// The timestamp.
        timestamp: u64,
    },
    /// The Ed25519 signature does not verify over the checkpoint and timestamp.
    #[error("the cosignature by {name} (time {timestamp}) does not verify")]
    Invalid {
        /// Witness name.
        name: String,
        /// The timestamp it claims.
        timestamp: u64,
    },
    /// The text to cosign is empty, does not end in a newline, or the timestamp is out of range.
    #[error("cannot cosign: {0}")]
    CannotSign(&'static str),
    /// A private key file is malformed.
    #[error("witness private key: {0}")]
    PrivateKey(&'static str),
}

/// The message a cosignature signs: the two header lines and the note text.
pub fn cosignature_message(text: &str, timestamp: u64) -> Vec<u8> {
    let mut message = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    message.extend_from_slice(text.as_bytes());
    message
}

/// Cosigns checkpoints with an Ed25519 key under a witness name.
pub struct CosignatureSigner {
    name: String,
    key_id: u32,
    key_pair: Ed25519KeyPair,
    public_key: [u8; ED25519_KEY_LEN],
    seed: [u8; ED25519_KEY_LEN],
}

impl CosignatureSigner {
    /// A signer for the key with this 32-byte Ed25519 seed under `name`.
    pub fn from_ed25519_seed(
        name: &str,
        seed: &[u8; ED25519_KEY_LEN],
    ) -> Result<CosignatureSigner, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName(name.to_owned()));
        }
        let key_pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeyError::InvalidSeed)?;
        let public_key: [u8; ED25519_KEY_LEN] = key_pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::InvalidSeed)?;
        Ok(CosignatureSigner {
            name: name.to_owned(),
            key_id: key_id(name, COSIGNATURE_V1_TYPE, &public_key),
            key_pair,
            public_key,
            seed: *seed,
        })
    }

    /// Reads a private key string `PRIVATE+KEY+<name>+<key ID>+base64(0x04 || seed)`.
    pub fn parse_private_key(text: &str) -> Result<CosignatureSigner, CosignatureError> {
        let bad = CosignatureError::PrivateKey;
        let rest = text
            .trim_end_matches('\n')
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(bad("it does not start with PRIVATE+KEY+"))?;
        let (name, rest) = rest.split_once('+').ok_or(bad("no '+' after the name"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("no '+' after the key ID"))?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the key ID must be 8 hex digits"));
        }
        let stated =
            u32::from_str_radix(id_hex, 16).map_err(|_| bad("the key ID must be 8 hex digits"))?;
        let key = BASE64
            .decode(key_b64)
            .map_err(|_| bad("the key is not canonical standard base64"))?;
        let (&key_type, seed) = key.split_first().ok_or(bad("the key is empty"))?;
        if key_type != COSIGNATURE_V1_TYPE {
            return Err(bad("the key type is not 0x04 (Ed25519 cosignature/v1)"));
        }
        let seed: &[u8; ED25519_KEY_LEN] = seed
            .try_into()
            .map_err(|_| bad("the seed is not 32 bytes"))?;
        let signer = CosignatureSigner::from_ed25519_seed(name, seed)
            .map_err(|_| bad("invalid witness name"))?;
        if signer.key_id != stated {
            return Err(bad("the key ID does not match the key"));
        }
        Ok(signer)
    }

    /// The private key string (keep it secret: mode 0600).
    pub fn private_key(&self) -> String {
        let mut key = Vec::with_capacity(1 + ED25519_KEY_LEN);
        key.push(COSIGNATURE_V1_TYPE);
        key.extend_from_slice(&self.seed);
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(key)
        )
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier for this key.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key: self.public_key,
        }
    }

    /// The cosignature line (ending in a newline) over checkpoint note
    /// `text` (the note without its signatures) at `timestamp`.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<String, CosignatureError> {
        if text.is_empty() || !text.ends_with('\n') {
            return Err(CosignatureError::CannotSign(
                "the text must be non-empty and end with a newline",
            ));
        }
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::CannotSign(
                "the timestamp is above 2^63-1",
            ));
        }
        let signature = self.key_pair.sign(&cosignature_message(text, timestamp));
        let mut bytes = Vec::with_capacity(4 + COSIGNATURE_LEN);
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(signature.as_ref());
        Ok(format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(bytes)
        ))
    }
}

impl fmt::Debug for CosignatureSigner {
    // Never print the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// Checks `cosignature/v1` signatures by one witness key.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    public_key: [u8; ED25519_KEY_LEN],
}

impl CosignatureVerifier {
    /// A verifier for this Ed25519 public key under `name`.
    pub fn from_ed25519_public_key(
        name: &str,
        public_key: &[u8; ED25519_KEY_LEN],
    ) -> Result<CosignatureVerifier, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName(name.to_owned()));
        }
        Ok(CosignatureVerifier {
            name: name.to_owned(),
            key_id: key_id(name, COSIGNATURE_V1_TYPE, public_key),
            public_key: *public_key,
        })
    }

    /// Reads a verifier key `<name>+<8 hex digit key ID>+base64(0x04 || key)`.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, KeyError> {
        // The name is checked by `from_ed25519_public_key`.
        let (name, stated, public_key) = parse_vkey(vkey, COSIGNATURE_V1_TYPE, |_| Ok(()))?;
        let verifier = CosignatureVerifier::from_ed25519_public_key(name, &public_key)?;
        check_key_id(stated, verifier.key_id)?;
        Ok(verifier)
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Whether a signature line of a note is meant for this key (same name and key ID).
    pub fn matches(&self, signature: &NoteSignature) -> bool {
        signature.name == self.name && signature.key_id == self.key_id
    }

    /// Verifies one signature line (already matched by name and key ID)
    /// over note `text`; returns its timestamp.
    pub fn verify(&self, text: &str, signature: &NoteSignature) -> Result<u64, CosignatureError> {
        let bytes = signature.signature.as_slice();
        let (Some(time), Some(ed25519)) = (bytes.get(..8), bytes.get(8..)) else {
            return Err(self.wrong_length(bytes.len()));
        };
        if ed25519.len() != ED25519_SIGNATURE_LEN {
            return Err(self.wrong_length(bytes.len()));
        }
        let mut be = [0u8; 8];
        be.copy_from_slice(time);
        let timestamp = u64::from_be_bytes(be);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange {
                name: self.name.clone(),
                timestamp,
            });
        }
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(&cosignature_message(text, timestamp), ed25519)
            .map_err(|_| CosignatureError::Invalid {
                name: self.name.clone(),
                timestamp,
            })?;
        Ok(timestamp)
    }

    /// This witness's cosignature on a parsed note: the timestamp of its
    /// newest line. Every line with this key's name and ID must verify (a
    /// bad one is never outweighed by a good one).
    pub fn check(&self, note: &SignedNote) -> Result<u64, CosignatureError> {
        let mut newest = None;
        for signature in note.signatures().iter().filter(|s| self.matches(s)) {
            let timestamp = self.verify(note.text(), signature)?;
            newest = newest.max(Some(timestamp));
        }
        newest.ok_or_else(|| CosignatureError::Missing {
            name: self.name.clone(),
            key_id: self.key_id,
        })
    }

    fn wrong_length(&self, len: usize) -> CosignatureError {
        CosignatureError::WrongLength {
            name: self.name.clone(),
            len,
        }
    }
}

/// The verifier key string, `<name>+<key ID>+base64(0x04 || key)`.
impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = Vec::with_capacity(1 + ED25519_KEY_LEN);
        key.push(COSIGNATURE_V1_TYPE);
        key.extend_from_slice(&self.public_key);
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(key)
        )
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureVerifier({self})")
    }
}

impl FromStr for CosignatureVerifier {
    type Err = KeyError;
    fn from_str(vkey: &str) -> Result<CosignatureVerifier, KeyError> {
        CosignatureVerifier::parse(vkey)
    }
}

#[cfg(test)]
#[path = "cosignature_tests.rs"]
mod tests;
