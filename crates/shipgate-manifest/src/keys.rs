//! minisign key files: generate a pair, read public keys and secret keys
//! (unencrypted or password-protected), with errors that say which file is
//! wrong and why (a secret key given as a public key, a signature given as
//! a key, bad base64, a wrong password, ...).

use std::fmt;
use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::limits::MAX_KEY_FILE_BYTES;

const COMMENT_PREFIX: &str = "untrusted comment: ";
const PUBLIC_KEY_BYTES: usize = 42;
const SECRET_KEY_BYTES: usize = 158;
const SIGNATURE_BYTES: usize = 74;
/// Environment variable holding a secret key file's contents.
pub const SECRET_KEY_ENV: &str = "SHIPGATE_SECRET_KEY";
/// Environment variable holding the password of an encrypted secret key.
pub const PASSWORD_ENV: &str = "SHIPGATE_KEY_PASSWORD";

/// A key file that cannot be used: `origin: kind`.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct KeyError {
    /// The key file (or `$SHIPGATE_SECRET_KEY`).
    pub origin: String,
    /// What is wrong.
    pub kind: KeyErrorKind,
}

/// What is wrong with a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// The file cannot be read.
    #[error("cannot read key file: {0}")]
    Read(std::io::Error),
    /// Larger than any key file.
    #[error("too large to be a minisign key file")]
    TooLarge,
    /// Empty.
    #[error("key file is empty")]
    Empty,
    /// Not UTF-8 text.
    #[error("not a minisign key file (not text)")]
    NotText,
    /// The first line is not `untrusted comment: ...`.
    #[error("not a minisign key file (first line must start with 'untrusted comment:')")]
    MissingComment,
    /// The key line is missing.
    #[error("truncated key file (the base64 key line is missing)")]
    MissingKeyLine,
    /// More lines than a key file has.
    #[error("unexpected extra lines after the key")]
    ExtraLines,
    /// The key line is not base64.
    #[error("key line is not valid base64")]
    BadBase64,
    /// A secret key where a public key was expected.
    #[error("this is a minisign secret key, not a public key (pass the .pub file)")]
    SecretNotPublic,
    /// A public key where a secret key was expected.
    #[error("this is a minisign public key, not a secret key")]
    PublicNotSecret,
    /// A signature where a key was expected.
    #[error("this is a minisign signature, not a key")]
    Signature,
    /// Decoded to an unexpected length.
    #[error("not a minisign key ({0} bytes after base64 decoding)")]
    WrongLength(usize),
    /// Not an Ed25519 key.
    #[error("unsupported key algorithm (minisign Ed25519 keys only)")]
    UnsupportedAlgorithm,
    /// An encrypted key with an unknown KDF or checksum algorithm.
    #[error("unsupported secret key encryption or checksum algorithm")]
    UnsupportedEncryption,
    /// An encrypted key and no password was given.
    #[error("secret key is encrypted and needs a password")]
    PasswordRequired,
    /// Decryption produced a key whose checksum does not match.
    #[error("wrong password for this secret key")]
    WrongPassword,
    /// An unencrypted key whose checksum does not match.
    #[error("secret key is corrupted (checksum mismatch)")]
    Corrupted,
    /// The minisign library refused the key.
    #[error("{0}")]
    Minisign(String),
}

fn key_error(origin: &str, kind: KeyErrorKind) -> KeyError {
    KeyError {
        origin: origin.to_string(),
        kind,
    }
}

/// The 8-byte key ID; shown as minisign shows it (16 uppercase hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Reads a small text file with a size cap (key files, signatures).
pub(crate) fn read_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

/// The two meaningful lines of a minisign box: comment and decoded bytes.
/// Tolerates CRLF, surrounding blank lines and a missing final newline
/// (keys pasted into CI secrets often lose them); nothing else.
fn decode_box(text: &str) -> Result<(String, Vec<u8>), KeyErrorKind> {
    let mut lines = text.trim().lines().map(str::trim_end);
    let comment = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or(KeyErrorKind::Empty)?;
    let Some(comment) = comment.strip_prefix(COMMENT_PREFIX) else {
        return Err(KeyErrorKind::MissingComment);
    };
    let encoded = lines.next().ok_or(KeyErrorKind::MissingKeyLine)?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| KeyErrorKind::BadBase64)?;
    if let Some(third) = lines.next() {
        return Err(if third.starts_with("trusted comment: ") {
            KeyErrorKind::Signature
        } else {
            KeyErrorKind::ExtraLines
        });
    }
    Ok((comment.to_string(), bytes))
}

/// Reads a key file (size-capped, UTF-8): its origin (the path, as errors
/// name it) and its text.
fn read_key_file(path: &Path) -> Result<(String, String), KeyError> {
    let origin = path.display().to_string();
    let fail = |kind| key_error(&origin, kind);
    let bytes = read_capped(path, MAX_KEY_FILE_BYTES)
        .map_err(|e| fail(KeyErrorKind::Read(e)))?
        .ok_or_else(|| fail(KeyErrorKind::TooLarge))?;
    let text = String::from_utf8(bytes).map_err(|_| fail(KeyErrorKind::NotText))?;
    Ok((origin, text))
}

/// A minisign public key, as in `minisign.pub`.
#[derive(Clone)]
pub struct PublicKey {
    id: KeyId,
    base64: String,
    origin: String,
    inner: minisign_verify::PublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} from {})", self.id, self.origin)
    }
}

impl PublicKey {
    /// Parses a public key file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, KeyError> {
        let fail = |kind| key_error(origin, kind);
        let (_, bytes) = decode_box(text).map_err(fail)?;
        match bytes.len() {
            PUBLIC_KEY_BYTES => {}
            SECRET_KEY_BYTES => return Err(fail(KeyErrorKind::SecretNotPublic)),
            SIGNATURE_BYTES => return Err(fail(KeyErrorKind::Signature)),
            n => return Err(fail(KeyErrorKind::WrongLength(n))),
        }
        if &bytes[..2] != b"Ed" {
            return Err(fail(KeyErrorKind::UnsupportedAlgorithm));
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[2..10]);
        let base64 = BASE64.encode(&bytes);
        let inner = minisign_verify::PublicKey::from_base64(&base64)
            .map_err(|e| fail(KeyErrorKind::Minisign(e.to_string())))?;
        Ok(Self {
            id: KeyId(id),
            base64,
            origin: origin.to_string(),
            inner,
        })
    }

    /// Reads and parses a public key file.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let (origin, text) = read_key_file(path)?;
        Self::parse(&text, &origin)
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Where the key came from (file path).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The key in base64 (as `minisign -P` takes it).
    pub fn to_base64(&self) -> &str {
        &self.base64
    }

    /// The raw 32-byte Ed25519 public key (the key bytes after minisign's
    /// algorithm tag and key ID), for other Ed25519 formats such as the
    /// transparency log's signed-note checkpoints.
    pub fn ed25519_public_key(&self) -> [u8; 32] {
        let mut raw = [0u8; 32];
        // `parse` accepted exactly PUBLIC_KEY_BYTES: "Ed" || key ID (8) || key (32).
        if let Ok(bytes) = BASE64.decode(&self.base64)
            && let Some(key) = bytes.get(10..PUBLIC_KEY_BYTES)
        {
            raw.copy_from_slice(key);
        }
        raw
    }

    /// The key file's contents, as `minisign -G` writes them.
    pub fn to_file_contents(&self) -> String {
        format!(
            "{COMMENT_PREFIX}minisign public key {}\n{}\n",
            self.id, self.base64
        )
    }

    pub(crate) fn verifier(&self) -> &minisign_verify::PublicKey {
        &self.inner
    }
}

/// A secret key file, parsed but not yet decrypted.
#[derive(Clone)]
pub struct SecretKeyFile {
    comment: String,
    base64: String,
    encrypted: bool,
    origin: String,
}

impl fmt::Debug for SecretKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretKeyFile(from {}, encrypted: {})",
            self.origin, self.encrypted
        )
    }
}

impl SecretKeyFile {
    /// Parses a secret key file's text (from a file or from
    /// `$SHIPGATE_SECRET_KEY`); `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, KeyError> {
        let fail = |kind| key_error(origin, kind);
        let (comment, bytes) = decode_box(text).map_err(fail)?;
        match bytes.len() {
            SECRET_KEY_BYTES => {}
            PUBLIC_KEY_BYTES => return Err(fail(KeyErrorKind::PublicNotSecret)),
            SIGNATURE_BYTES => return Err(fail(KeyErrorKind::Signature)),
            n => return Err(fail(KeyErrorKind::WrongLength(n))),
        }
        if &bytes[..2] != b"Ed" {
            return Err(fail(KeyErrorKind::UnsupportedAlgorithm));
        }
        let encrypted = match &bytes[2..4] {
            [0, 0] => false,
            b"Sc" => true,
            _ => return Err(fail(KeyErrorKind::UnsupportedEncryption)),
        };
        if &bytes[4..6] != b"B2" {
            return Err(fail(KeyErrorKind::UnsupportedEncryption));
        }
        Ok(Self {
            comment,
            base64: BASE64.encode(&bytes),
            encrypted,
            origin: origin.to_string(),
        })
    }

    /// Reads and parses a secret key file.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let (origin, text) = read_key_file(path)?;
        Self::parse(&text, &origin)
    }

    /// Does [`SecretKeyFile::unlock`] need a password?
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Where the key came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Decrypts (when encrypted) and checks the key. `password` is required
    /// for an encrypted key and ignored otherwise.
    pub fn unlock(&self, password: Option<&str>) -> Result<SigningKey, KeyError> {
        let fail = |kind| key_error(&self.origin, kind);
        // A clean box, whatever line endings the original had.
        let boxed = minisign::SecretKeyBox::from(format!(
            "{COMMENT_PREFIX}{}\n{}\n",
            self.comment, self.base64
        ));
        let secret = if self.encrypted {
            let password = password.ok_or_else(|| fail(KeyErrorKind::PasswordRequired))?;
            minisign::SecretKey::from_box(boxed, Some(password.to_string())).map_err(|e| match e
                .kind()
            {
                minisign::ErrorKind::Verify => fail(KeyErrorKind::WrongPassword),
                _ => fail(KeyErrorKind::Minisign(e.to_string())),
            })?
        } else if self.has_zero_checksum() {
            // `minisign -G -W` (C, 0.11) leaves the checksum of an
            // unencrypted key zeroed; the self-test below still catches a
            // corrupted key.
            let bytes = BASE64
                .decode(&self.base64)
                .map_err(|_| fail(KeyErrorKind::BadBase64))?;
            minisign::SecretKey::from_bytes(&bytes)
                .map_err(|e| fail(KeyErrorKind::Minisign(e.to_string())))?
        } else {
            minisign::SecretKey::from_unencrypted_box(boxed).map_err(|e| match e.kind() {
                minisign::ErrorKind::Verify => fail(KeyErrorKind::Corrupted),
                _ => fail(KeyErrorKind::Minisign(e.to_string())),
            })?
        };
        let key = SigningKey::from_secret(secret).map_err(fail)?;
        key.self_test()
            .map_err(|()| fail(KeyErrorKind::Corrupted))?;
        Ok(key)
    }

    fn has_zero_checksum(&self) -> bool {
        BASE64.decode(&self.base64).is_ok_and(|bytes| {
            bytes.len() == SECRET_KEY_BYTES && bytes[126..].iter().all(|b| *b == 0)
        })
    }
}

/// A decrypted secret key, ready to sign; holds its public key too.
#[derive(Clone)]
pub struct SigningKey {
    secret: minisign::SecretKey,
    public: minisign::PublicKey,
    public_key: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public_key.id)
    }
}

impl SigningKey {
    fn from_secret(secret: minisign::SecretKey) -> Result<Self, KeyErrorKind> {
        let public = minisign::PublicKey::from_secret_key(&secret)
            .map_err(|e| KeyErrorKind::Minisign(e.to_string()))?;
        let text = format!(
            "{COMMENT_PREFIX}minisign public key\n{}\n",
            public.to_base64()
        );
        let public_key = PublicKey::parse(&text, "secret key").map_err(|e| e.kind)?;
        Ok(Self {
            secret,
            public,
            public_key,
        })
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.public_key.id
    }

    /// Signs a fixed message and verifies it with the derived public key:
    /// a secret key whose halves do not belong together fails here.
    fn self_test(&self) -> Result<(), ()> {
        let message = b"shipgate key self-test";
        let signature = minisign::sign(
            None,
            &self.secret,
            std::io::Cursor::new(message),
            Some("self-test"),
            None,
        )
        .map_err(|_| ())?;
        let signature =
            minisign_verify::Signature::decode(&signature.into_string()).map_err(|_| ())?;
        self.public_key
            .verifier()
            .verify(message, &signature, false)
            .map_err(|_| ())
    }

    /// The 32-byte Ed25519 seed of this (decrypted) key: the first half of
    /// the libsodium-style 64-byte secret key minisign stores. The gate
    /// signs its transparency-log checkpoints with it (C2SP signed notes),
    /// so one pinned key verifies both release signatures and checkpoints.
    pub fn ed25519_seed(&self) -> [u8; 32] {
        // The decrypted key's layout: algorithm (2), KDF (2), checksum
        // algorithm (2), salt (32), opslimit (8), memlimit (8), key ID (8),
        // then the secret key: seed (32) || public key (32), then checksum.
        const SEED_OFFSET: usize = 2 + 2 + 2 + 32 + 8 + 8 + 8;
        let mut seed = [0u8; 32];
        let bytes = self.secret.to_bytes();
        if let Some(slice) = bytes.get(SEED_OFFSET..SEED_OFFSET + 32) {
            seed.copy_from_slice(slice);
        }
        seed
    }

    pub(crate) fn minisign_keys(&self) -> (&minisign::PublicKey, &minisign::SecretKey) {
        (&self.public, &self.secret)
    }
}

/// A freshly generated key pair: the two files' contents.
pub struct GeneratedKeyPair {
    /// The secret key file (minisign format; encrypted when a password was given).
    pub secret_key_file: String,
    /// The public key file (minisign format).
    pub public_key_file: String,
    /// The key ID.
    pub key_id: KeyId,
}

impl fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GeneratedKeyPair({})", self.key_id)
    }
}

/// Generates an Ed25519 key pair in minisign's formats. With `password`,
/// the secret key is encrypted as minisign does (scrypt + XOR).
pub fn generate_key_pair(password: Option<&str>) -> Result<GeneratedKeyPair, KeyError> {
    let fail = |e: minisign::PError| key_error("keygen", KeyErrorKind::Minisign(e.to_string()));
    let pair = match password {
        None => minisign::KeyPair::generate_unencrypted_keypair().map_err(fail)?,
        Some(password) => minisign::KeyPair::generate_encrypted_keypair(Some(password.to_string()))
            .map_err(fail)?,
    };
    let mut id = [0u8; 8];
    id.copy_from_slice(pair.pk.keynum());
    let key_id = KeyId(id);
    let comment = if password.is_some() {
        format!("minisign encrypted secret key {key_id}")
    } else {
        format!("minisign unencrypted secret key {key_id}")
    };
    let secret_key_file = pair.sk.to_box(Some(&comment)).map_err(fail)?.into_string();
    let public_key_file = format!(
        "{COMMENT_PREFIX}minisign public key {key_id}\n{}\n",
        pair.pk.to_base64()
    );
    Ok(GeneratedKeyPair {
        secret_key_file,
        public_key_file,
        key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_and_match() {
        let pair = generate_key_pair(None).unwrap();
        let public = PublicKey::parse(&pair.public_key_file, "pub").unwrap();
        let secret = SecretKeyFile::parse(&pair.secret_key_file, "key").unwrap();
        assert!(!secret.is_encrypted());
        let signing = secret.unlock(None).unwrap();
        assert_eq!(signing.key_id(), public.key_id());
        assert_eq!(public.key_id(), pair.key_id);
        assert_eq!(public.to_file_contents(), pair.public_key_file);
        // CRLF and a lost final newline are tolerated.
        let crlf = pair.secret_key_file.trim_end().replace('\n', "\r\n");
        SecretKeyFile::parse(&crlf, "env")
            .unwrap()
            .unlock(None)
            .unwrap();
    }

    #[test]
    fn the_ed25519_seed_and_public_key_are_the_raw_key_halves() {
        let pair = generate_key_pair(Some("pw")).unwrap();
        let public = PublicKey::parse(&pair.public_key_file, "pub").unwrap();
        let signing = SecretKeyFile::parse(&pair.secret_key_file, "key")
            .unwrap()
            .unlock(Some("pw"))
            .unwrap();
        let seed = signing.ed25519_seed();
        // minisign's 64-byte secret key is seed || public key (libsodium).
        let secret = signing.secret.to_bytes();
        assert_eq!(&secret[62..94], &seed[..]);
        assert_eq!(&secret[94..126], &public.ed25519_public_key()[..]);
        assert_ne!(seed, [0u8; 32], "decrypted, not the encrypted bytes");
        assert_eq!(
            signing.public_key().ed25519_public_key(),
            public.ed25519_public_key()
        );
        let raw = BASE64.decode(public.to_base64()).unwrap();
        assert_eq!(&raw[10..], &public.ed25519_public_key()[..]);
        // A fresh key has another seed; the same key file, the same seed.
        let again = SecretKeyFile::parse(&pair.secret_key_file, "key")
            .unwrap()
            .unlock(Some("pw"))
            .unwrap();
        assert_eq!(again.ed25519_seed(), seed);
        let other = generate_key_pair(None).unwrap();
        let other = SecretKeyFile::parse(&other.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        assert_ne!(other.ed25519_seed(), seed);
    }

    #[test]
    fn encrypted_keys_need_the_right_password() {
        let pair = generate_key_pair(Some("s3cret")).unwrap();
        let secret = SecretKeyFile::parse(&pair.secret_key_file, "key").unwrap();
        assert!(secret.is_encrypted());
        assert!(matches!(
            secret.unlock(None).unwrap_err().kind,
            KeyErrorKind::PasswordRequired
        ));
        assert!(matches!(
            secret.unlock(Some("wrong")).unwrap_err().kind,
            KeyErrorKind::WrongPassword
        ));
        assert_eq!(secret.unlock(Some("s3cret")).unwrap().key_id(), pair.key_id);
    }

    #[test]
    fn wrong_type_and_malformed_key_files_are_named() {
        let pair = generate_key_pair(None).unwrap();
        let err = PublicKey::parse(&pair.secret_key_file, "k.key").unwrap_err();
        assert_eq!(
            err.to_string(),
            "k.key: this is a minisign secret key, not a public key (pass the .pub file)"
        );
        assert!(matches!(
            SecretKeyFile::parse(&pair.public_key_file, "p")
                .unwrap_err()
                .kind,
            KeyErrorKind::PublicNotSecret
        ));
        for (text, expected) in [
            ("", "empty"),
            ("hello\n", "first line must start"),
            ("untrusted comment: x\n", "truncated"),
            ("untrusted comment: x\n!!!\n", "not valid base64"),
            ("untrusted comment: x\nAAAA\n", "3 bytes"),
        ] {
            let err = PublicKey::parse(text, "p").unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        // A flipped bit in an unencrypted secret key fails its checksum.
        let (comment, mut bytes) = decode_box(&pair.secret_key_file).unwrap();
        bytes[100] ^= 1;
        let text = format!("{COMMENT_PREFIX}{comment}\n{}\n", BASE64.encode(&bytes));
        let err = SecretKeyFile::parse(&text, "k")
            .unwrap()
            .unlock(None)
            .unwrap_err();
        assert!(matches!(err.kind, KeyErrorKind::Corrupted), "{err}");
    }
}
