//! Ed25519 note keys: the signer (from a 32-byte seed) and the verifier,
//! with the C2SP key ID and the `<name>+<hex key ID>+<base64 key>` verifier
//! key string used by Go's `golang.org/x/mod/sumdb/note` and the witnesses.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 in C2SP signed notes.
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;
/// Length of an Ed25519 public key and of a seed.
pub const ED25519_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// A key or key string could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Key names must be non-empty, without spaces, `+` or control characters.
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidName(String),
    /// The verifier key string is not `<name>+<8 hex digits>+<base64>`.
    #[error("malformed verifier key: {0}")]
    Malformed(&'static str),
    /// The key is of another type than expected: Ed25519 note keys (0x01)
    /// where a log key is read, Ed25519 cosignature keys (0x04) where a
    /// witness key is read.
    #[error(
        "unsupported key type 0x{0:02x} in verifier key (log keys are Ed25519 0x01, witness keys Ed25519 cosignature 0x04)"
    )]
    UnsupportedAlgorithm(u8),
    /// The public key is not 32 bytes.
    #[error("an Ed25519 public key is {ED25519_KEY_LEN} bytes, this one is {0}")]
    WrongKeyLength(usize),
    /// The key ID written in the key string is not the one the key has.
    #[error("the verifier key says key ID {stated:08x} but its name and key give {computed:08x}")]
    KeyIdMismatch {
        /// The key ID in the string.
        stated: u32,
        /// The key ID computed from the name and key.
        computed: u32,
    },
    /// The seed was refused by the Ed25519 implementation.
    #[error("the Ed25519 seed was refused")]
    InvalidSeed,
}

/// Whether `name` may name a key in a signed note: non-empty, no Unicode
/// space, no `+` (C2SP signed-note), and no ASCII control character (which a
/// note could not contain anyway).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < '\u{20}')
}

/// The C2SP key ID: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || signature type || public key)`.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', signature_type])
        .chain_update(public_key)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

/// Reads the text form of a verifier key, `<name>+<8 hex digit key ID>+base64(type ||
/// 32-byte Ed25519 key)`, shared by note keys and witness cosignature keys (which
/// differ only in the type byte): the name (after `check_name`), the key ID it
/// states and the public key. The caller computes the key ID from these and
/// compares it with [`check_key_id`].
pub(crate) fn parse_vkey(
    vkey: &str,
    key_type: u8,
    check_name: fn(&str) -> Result<(), KeyError>,
) -> Result<(&str, u32, [u8; ED25519_KEY_LEN]), KeyError> {
    // The name has no '+', the key ID is hex: the first two '+' split the
    // fields; the base64 key may itself contain '+'.
    let (name, rest) = vkey
        .split_once('+')
        .ok_or(KeyError::Malformed("no '+' after the key name"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or(KeyError::Malformed("no '+' after the key ID"))?;
    check_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed("the key ID must be 8 hex digits"));
    }
    let stated = u32::from_str_radix(id_hex, 16)
        .map_err(|_| KeyError::Malformed("the key ID must be 8 hex digits"))?;
    let key = BASE64
        .decode(key_b64)
        .map_err(|_| KeyError::Malformed("the key must be standard base64"))?;
    let (&found_type, public_key) = key
        .split_first()
        .ok_or(KeyError::Malformed("the key is empty"))?;
    if found_type != key_type {
        return Err(KeyError::UnsupportedAlgorithm(found_type));
    }
    let public_key: [u8; ED25519_KEY_LEN] = public_key
        .try_into()
        .map_err(|_| KeyError::WrongKeyLength(public_key.len()))?;
    Ok((name, stated, public_key))
}

/// The key ID a verifier key states must be the one its name and key give.
pub(crate) fn check_key_id(stated: u32, computed: u32) -> Result<(), KeyError> {
    if stated == computed {
        Ok(())
    } else {
        Err(KeyError::KeyIdMismatch { stated, computed })
    }
}

/// Signs notes with an Ed25519 key under a key name.
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key_pair: Ed25519KeyPair,
    public_key: [u8; ED25519_KEY_LEN],
}

impl NoteSigner {
    /// A signer for the key with this 32-byte Ed25519 seed under `name`.
    ///
    /// For a minisign (or libsodium) secret key, the seed is the first 32 of
    /// its 64 secret-key bytes. For a log, C2SP recommends the key name be
    /// the checkpoint origin.
    pub fn from_ed25519_seed(
        name: &str,
        seed: &[u8; ED25519_KEY_LEN],
    ) -> Result<NoteSigner, KeyError> {
        check_name(name)?;
        let key_pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeyError::InvalidSeed)?;
        let public_key: [u8; ED25519_KEY_LEN] = key_pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::InvalidSeed)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id: key_id(name, ED25519_SIGNATURE_TYPE, &public_key),
            key_pair,
            public_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier for this signer's public key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key: self.public_key,
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key_pair.sign(message).as_ref().to_vec()
    }
}

impl fmt::Debug for NoteSigner {
    // Never print the key pair.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// Checks note signatures made by one Ed25519 key under one key name.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    public_key: [u8; ED25519_KEY_LEN],
}

impl NoteVerifier {
    /// A verifier for this Ed25519 public key under `name`.
    pub fn from_ed25519_public_key(
        name: &str,
        public_key: &[u8; ED25519_KEY_LEN],
    ) -> Result<NoteVerifier, KeyError> {
        check_name(name)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id(name, ED25519_SIGNATURE_TYPE, public_key),
            public_key: *public_key,
        })
    }

    /// Reads a verifier key string `<name>+<8 hex digit key ID>+<base64(0x01 || key)>`.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, KeyError> {
        let (name, stated, public_key) = parse_vkey(vkey, ED25519_SIGNATURE_TYPE, check_name)?;
        let verifier = NoteVerifier::from_ed25519_public_key(name, &public_key)?;
        check_key_id(stated, verifier.key_id)?;
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; ED25519_KEY_LEN] {
        &self.public_key
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == ED25519_SIGNATURE_LEN
            && UnparsedPublicKey::new(&ED25519, &self.public_key)
                .verify(message, signature)
                .is_ok()
    }
}

/// The verifier key string, `<name>+<key ID>+<base64(0x01 || key)>`.
impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = Vec::with_capacity(1 + ED25519_KEY_LEN);
        key.push(ED25519_SIGNATURE_TYPE);
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

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl FromStr for NoteVerifier {
    type Err = KeyError;
    fn from_str(vkey: &str) -> Result<NoteVerifier, KeyError> {
        NoteVerifier::parse(vkey)
    }
}
