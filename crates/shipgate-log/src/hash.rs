//! RFC 6962 / RFC 9162 hashing: the 32-byte [`Hash`](struct@Hash), leaf and node hashes.
//!
//! The one-byte prefixes (`0x00` for leaves, `0x01` for interior nodes) keep a
//! leaf from ever being mistaken for a node (RFC 9162 §2.1.1), which is what
//! stops an attacker from presenting an interior node as a "leaf" in a proof.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// Size of a SHA-256 hash in bytes.
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree head.
///
/// Displays (and serialises with serde) as 64 lowercase hex digits;
/// checkpoints carry it in standard base64 instead ([`Hash::to_base64`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_LEN]);

/// A hash given as text or bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashParseError {
    /// The input decoded, but not to exactly 32 bytes.
    #[error("a hash is {HASH_LEN} bytes, this one is {0} bytes")]
    WrongLength(usize),
    /// The input is not hex (64 hex digits expected).
    #[error("a hash must be 64 hex digits")]
    NotHex,
    /// The input is not canonical standard base64 (RFC 4648 §4, padded).
    #[error("a hash must be standard base64 with padding")]
    NotBase64,
}

impl Hash {
    /// The root of the empty tree: `SHA-256("")` (RFC 9162 §2.1.1).
    pub const EMPTY_ROOT: Hash = Hash([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ]);

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Reads a hash from exactly 32 raw bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashParseError> {
        let array: [u8; HASH_LEN] = bytes
            .try_into()
            .map_err(|_| HashParseError::WrongLength(bytes.len()))?;
        Ok(Hash(array))
    }

    /// Reads a hash from 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Hash, HashParseError> {
        if text.len() != 2 * HASH_LEN {
            // Report the byte length the caller apparently meant.
            return match hex::decode(text) {
                Ok(bytes) => Err(HashParseError::WrongLength(bytes.len())),
                Err(_) => Err(HashParseError::NotHex),
            };
        }
        let mut out = [0u8; HASH_LEN];
        hex::decode_to_slice(text, &mut out).map_err(|_| HashParseError::NotHex)?;
        Ok(Hash(out))
    }

    /// Reads a hash from standard padded base64, refusing any non-canonical
    /// encoding so one hash has exactly one text form.
    pub fn from_base64(text: &str) -> Result<Hash, HashParseError> {
        let bytes = BASE64.decode(text).map_err(|_| HashParseError::NotBase64)?;
        Hash::from_slice(&bytes)
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard padded base64, as in a checkpoint's root hash line.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(text: &str) -> Result<Hash, HashParseError> {
        Hash::from_hex(text)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(Hash(Sha256::digest(b"").into()), Hash::EMPTY_ROOT);
    }

    #[test]
    fn text_forms_round_trip_and_refuse_garbage() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()), Ok(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert_eq!(Hash::from_hex("abcd"), Err(HashParseError::WrongLength(2)));
        assert_eq!(
            Hash::from_hex(&"zz".repeat(32)),
            Err(HashParseError::NotHex)
        );
        assert_eq!(
            Hash::from_base64("AAAA"),
            Err(HashParseError::WrongLength(3))
        );
        assert_eq!(Hash::from_base64("!!"), Err(HashParseError::NotBase64));
        // Unpadded base64 of 32 bytes is refused: one hash, one text form.
        let unpadded = h.to_base64().trim_end_matches('=').to_owned();
        assert_eq!(Hash::from_base64(&unpadded), Err(HashParseError::NotBase64));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Hash>("\"00\"").is_err());
    }
}
