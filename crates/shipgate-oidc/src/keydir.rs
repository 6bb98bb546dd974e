//! A directory of private signing keys (`KEYDIR`).
//!
//! One PKCS#8 PEM file per key, named `<created>-<alg>.pem` where `<created>`
//! is a UTC stamp such as `20260501T120000.123456789Z`. The name, not the
//! file's mtime (which copies and backups change), orders the keys: the last
//! name in byte order is the newest key and the one that signs. Every key is
//! published, so rotation is: add a key, wait until the longest-lived token
//! signed by the old one has expired, delete the old file.
//!
//! RS256 (RSA 2048) is the default algorithm because it is the one every JWT
//! library and cloud verifier supports (RFC 7518 marks it "recommended", and
//! OIDC discovery requires it); 2048 bits is the floor RFC 7518 §3.3 sets and
//! keeps verification fast (the throughput that matters: tokens are verified
//! far more often than issued). ES256 and EdDSA are there for smaller tokens.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

use crate::alg::Algorithm;
use crate::jwk::PublicJwk;
use crate::signature::VerifyingKey;
use crate::timestamp;

/// PEM label of the PKCS#8 private key files.
const PEM_LABEL: &str = "PRIVATE KEY";

/// Errors reading or writing a key directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyDirError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no `.pem` key file.
    #[error("{0}: no key files (*.pem)")]
    Empty(PathBuf),
    /// A `.pem` file whose name is not `<created>-<alg>.pem`.
    #[error(
        "{0}: the name is not `<created>-<alg>.pem` (e.g. 20260501T120000.000000000Z-rs256.pem)"
    )]
    BadFileName(PathBuf),
    /// The file is not a PEM `PRIVATE KEY` (PKCS#8) of the named algorithm.
    #[error("{path}: {reason}")]
    BadKey { path: PathBuf, reason: String },
    /// Two files hold the same key.
    #[error("{second}: holds the same key as {first} (kid {kid})")]
    DuplicateKey {
        kid: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// The crypto library could not generate or encode a key.
    #[error("key generation failed: {0}")]
    Generate(String),
    /// Signing failed (a key the backend could not use).
    #[error("signing with key {kid} failed: {reason}")]
    Sign { kid: String, reason: String },
}

/// A private key from KEYDIR, ready to sign.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    created: String,
    path: PathBuf,
    public: PublicJwk,
    encoding: EncodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PKCS#8 PEM private key that must be of `alg`'s type.
    pub fn from_pem(alg: Algorithm, pem_text: &[u8], path: &Path) -> Result<Self, KeyDirError> {
        let bad = |reason: String| KeyDirError::BadKey {
            path: path.to_owned(),
            reason,
        };
        let block = pem::parse(pem_text).map_err(|err| bad(format!("not a PEM file: {err}")))?;
        if block.tag() != PEM_LABEL {
            return Err(bad(format!(
                "PEM label is {:?}; expected \"{PEM_LABEL}\" (PKCS#8); convert with `openssl pkcs8 -topk8 -nocrypt`",
                block.tag()
            )));
        }
        let der = block.contents();
        let wrong_type = |_| bad(format!("not an unencrypted PKCS#8 {} key", alg.file_tag()));
        let (public, encoding) = match alg {
            Algorithm::RS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(wrong_type)?;
                let components: aws_lc_rs::rsa::PublicKeyComponents<Vec<u8>> =
                    pair.public_key().into();
                let public = PublicJwk::Rsa {
                    n: components.n,
                    e: components.e,
                };
                if public.rsa_bits() < crate::jwk::MIN_RSA_BITS {
                    return Err(bad(format!(
                        "RSA key of {} bits; at least 2048 are required",
                        public.rsa_bits()
                    )));
                }
                (public, EncodingKey::from_rsa_pem(pem_text))
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(wrong_type)?;
                let point = pair.public_key().as_ref();
                let (x, y) = point
                    .get(1..33)
                    .zip(point.get(33..65))
                    .ok_or_else(|| bad("unexpected P-256 public key encoding".into()))?;
                let public = PublicJwk::P256 {
                    x: x.to_vec(),
                    y: y.to_vec(),
                };
                (public, EncodingKey::from_ec_pem(pem_text))
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(wrong_type)?;
                let public = PublicJwk::Ed25519 {
                    x: pair.public_key().as_ref().to_vec(),
                };
                (public, EncodingKey::from_ed_pem(pem_text))
            }
        };
        let encoding = encoding.map_err(|err| bad(format!("unusable key: {err}")))?;
        Ok(SigningKey {
            kid: public.thumbprint(),
            created: String::new(),
            path: path.to_owned(),
            public,
            encoding,
        })
    }

    /// Generates a new key and returns it with its PEM text.
    pub fn generate(alg: Algorithm) -> Result<(SigningKey, String), KeyDirError> {
        let failed = |err: aws_lc_rs::error::Unspecified| KeyDirError::Generate(err.to_string());
        let der: Vec<u8> = match alg {
            Algorithm::RS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(failed)?;
                pair.as_der().map_err(failed)?.as_ref().to_vec()
            }
            Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Algorithm::EdDSA => Ed25519KeyPair::generate()
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        let text = pem::encode(&pem::Pem::new(PEM_LABEL, der));
        let key = SigningKey::from_pem(alg, text.as_bytes(), Path::new("(generated)"))?;
        Ok((key, text))
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The public key.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// The creation stamp from the file name (empty for a key not from a file).
    pub fn created(&self) -> &str {
        &self.created
    }

    /// The file the key was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public half, as the verifier uses it.
    pub fn verifying_key(&self) -> Result<VerifyingKey, crate::jwk::JwkError> {
        VerifyingKey::new(self.kid.clone(), self.public.clone())
    }

    /// Signs `message` and returns the signature in base64url.
    pub fn sign_b64(&self, message: &[u8]) -> Result<String, KeyDirError> {
        jsonwebtoken::crypto::sign(message, &self.encoding, self.algorithm().to_jsonwebtoken())
            .map_err(|err| KeyDirError::Sign {
                kid: self.kid.clone(),
                reason: err.to_string(),
            })
    }
}

/// A key directory on disk.
#[derive(Debug, Clone)]
pub struct KeyDir {
    path: PathBuf,
}

/// A cheap summary of a directory listing (names, sizes, mtimes), used to
/// notice that KEYDIR changed without re-reading every key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing(Vec<(String, u64, Option<SystemTime>)>);

impl KeyDir {
    /// A key directory at `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> KeyDir {
        KeyDir { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Generates a key of `alg` and writes it as a new file (mode 0600; the
    /// directory is created with mode 0700 when missing). The file appears
    /// atomically, complete or not at all, and never replaces another.
    pub fn generate(&self, alg: Algorithm) -> Result<SigningKey, KeyDirError> {
        create_private_dir(&self.path)?;
        let (mut key, pem_text) = SigningKey::generate(alg)?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| KeyDirError::Io { path, source }
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".keygen-")
            .tempfile_in(&self.path)
            .map_err(io(&self.path))?;
        std::io::Write::write_all(&mut tmp, pem_text.as_bytes()).map_err(io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        restrict_to_owner(tmp.path())?;
        // A second key created in the same nanosecond would get the same
        // name: take the next stamp instead of overwriting.
        let mut now = SystemTime::now();
        loop {
            let created = timestamp::stamp(now);
            let path = self.path.join(format!("{created}-{}.pem", alg.file_tag()));
            match tmp.persist_noclobber(&path) {
                Ok(_) => {
                    key.created = created;
                    key.path = path;
                    return Ok(key);
                }
                Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    tmp = err.file;
                    now = now
                        .checked_add(std::time::Duration::from_nanos(1))
                        .ok_or_else(|| {
                            io(&path)(std::io::Error::other("the clock is at its maximum"))
                        })?;
                }
                Err(err) => return Err(io(&path)(err.error)),
            }
        }
    }

    /// Lists the directory cheaply (see [`Listing`]).
    pub fn listing(&self) -> Result<Listing, KeyDirError> {
        let mut entries = Vec::new();
        for name in self.pem_names()? {
            let meta = fs::metadata(self.path.join(&name)).map_err(|source| KeyDirError::Io {
                path: self.path.join(&name),
                source,
            })?;
            entries.push((name, meta.len(), meta.modified().ok()));
        }
        Ok(Listing(entries))
    }

    /// Reads every key, oldest first. Fails on any unreadable or misnamed
    /// `.pem` file (a key that cannot be published must not be skipped
    /// silently); other files (README, dotfiles) are ignored.
    pub fn load(&self) -> Result<KeyRing, KeyDirError> {
        let mut keys: Vec<SigningKey> = Vec::new();
        for name in self.pem_names()? {
            let path = self.path.join(&name);
            let (created, alg) =
                parse_file_name(&name).ok_or_else(|| KeyDirError::BadFileName(path.clone()))?;
            warn_if_readable_by_others(&path);
            let text = fs::read(&path).map_err(|source| KeyDirError::Io {
                path: path.clone(),
                source,
            })?;
            let mut key = SigningKey::from_pem(alg, &text, &path)?;
            key.created = created.to_owned();
            if let Some(first) = keys.iter().find(|k| k.kid == key.kid) {
                return Err(KeyDirError::DuplicateKey {
                    kid: key.kid,
                    first: first.path.clone(),
                    second: path,
                });
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyDirError::Empty(self.path.clone()));
        }
        Ok(KeyRing { keys })
    }

    /// The `.pem` file names, sorted (= oldest key first).
    fn pem_names(&self) -> Result<Vec<String>, KeyDirError> {
        let io = |source| KeyDirError::Io {
            path: self.path.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                tracing::debug!(path = ?entry.path(), "ignoring a file whose name is not UTF-8");
                continue;
            };
            if name.starts_with('.') || !name.ends_with(".pem") {
                continue;
            }
            names.push(name.to_owned());
        }
        names.sort();
        Ok(names)
    }
}

/// `<stamp>-<alg>.pem` → (stamp, algorithm).
fn parse_file_name(name: &str) -> Option<(&str, Algorithm)> {
    let stem = name.strip_suffix(".pem")?;
    let (created, tag) = stem.split_once('-')?;
    if !timestamp::is_stamp(created) {
        return None;
    }
    let alg = Algorithm::ALL.into_iter().find(|a| a.file_tag() == tag)?;
    Some((created, alg))
}

/// The keys of a directory, oldest first; the last one signs.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    /// Builds a ring from keys, oldest first (at least one).
    pub fn from_keys(keys: Vec<SigningKey>) -> Option<KeyRing> {
        (!keys.is_empty()).then_some(KeyRing { keys })
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The newest key: the one that signs new tokens.
    pub fn newest(&self) -> &SigningKey {
        // `keys` is never empty (checked where a ring is built).
        &self.keys[self.keys.len() - 1]
    }

    /// The public JWKS document (`{"keys":[...]}`), newest key first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .rev()
            .map(|k| k.public.to_published_json(&k.kid))
            .collect();
        json!({ "keys": keys })
    }

    /// The algorithms in use, for discovery's `id_token_signing_alg_values_supported`.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(|alg| self.keys.iter().any(|k| k.algorithm() == *alg))
            .collect()
    }
}

fn create_private_dir(path: &Path) -> Result<(), KeyDirError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| KeyDirError::Io {
        path: path.to_owned(),
        source,
    })
}

fn restrict_to_owner(path: &Path) -> Result<(), KeyDirError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|source| {
            KeyDirError::Io {
                path: path.to_owned(),
                source,
            }
        })?;
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "{}: private key is readable by other users (mode {:o}); run `chmod 600` on it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyDir, KeyDirError, parse_file_name};
    use crate::alg::Algorithm;

    #[test]
    fn file_names_carry_creation_time_and_algorithm() {
        assert_eq!(
            parse_file_name("20260501T120000.000000001Z-es256.pem"),
            Some(("20260501T120000.000000001Z", Algorithm::ES256))
        );
        assert_eq!(
            parse_file_name("20260501T120000.000000001Z-hs256.pem"),
            None
        );
        assert_eq!(parse_file_name("key.pem"), None);
        assert_eq!(parse_file_name("20260501T120000Z-rs256.pem"), None);
    }

    #[test]
    fn generated_keys_load_newest_last_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let keydir = KeyDir::new(dir.path().join("keys"));
        let a = keydir.generate(Algorithm::EdDSA).unwrap();
        let b = keydir.generate(Algorithm::ES256).unwrap();
        let c = keydir.generate(Algorithm::EdDSA).unwrap();
        let ring = keydir.load().unwrap();
        let kids: Vec<&str> = ring.keys().iter().map(|k| k.kid()).collect();
        assert_eq!(kids, [a.kid(), b.kid(), c.kid()]);
        assert_eq!(ring.newest().kid(), c.kid());
        assert_eq!(ring.algorithms(), [Algorithm::ES256, Algorithm::EdDSA]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode(c.path()) & 0o777, 0o600);
            assert_eq!(mode(keydir.path()) & 0o777, 0o700);
        }
        // The JWKS lists the newest key first and only public members.
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"][0]["kid"], c.kid());
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
        assert!(jwks["keys"][0].get("d").is_none());
    }

    #[test]
    fn the_name_not_the_mtime_orders_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keydir = KeyDir::new(dir.path());
        let older = keydir.generate(Algorithm::EdDSA).unwrap();
        let newer = keydir.generate(Algorithm::EdDSA).unwrap();
        // Touch the older file so its mtime is the most recent.
        let text = std::fs::read(older.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(older.path(), text).unwrap();
        assert_eq!(keydir.load().unwrap().newest().kid(), newer.kid());
    }

    #[test]
    fn refuses_misnamed_mistyped_duplicate_and_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keydir = KeyDir::new(dir.path());
        assert!(matches!(keydir.load(), Err(KeyDirError::Empty(_))));
        std::fs::write(dir.path().join("README"), "not a key").unwrap();
        assert!(matches!(keydir.load(), Err(KeyDirError::Empty(_))));

        let key = keydir.generate(Algorithm::ES256).unwrap();
        let text = std::fs::read(key.path()).unwrap();
        let other = dir.path().join("20300101T000000.000000000Z-es256.pem");
        std::fs::write(&other, &text).unwrap();
        assert!(matches!(
            keydir.load(),
            Err(KeyDirError::DuplicateKey { .. })
        ));

        std::fs::write(
            &other,
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(matches!(keydir.load(), Err(KeyDirError::BadKey { .. })));

        let renamed = dir.path().join("20300101T000000.000000000Z-eddsa.pem");
        std::fs::remove_file(&other).unwrap();
        std::fs::write(&renamed, &text).unwrap();
        let err = keydir.load().unwrap_err();
        assert!(
            err.to_string()
                .contains("not an unencrypted PKCS#8 eddsa key"),
            "{err}"
        );
        std::fs::remove_file(&renamed).unwrap();

        std::fs::write(dir.path().join("mykey.pem"), &text).unwrap();
        assert!(matches!(keydir.load(), Err(KeyDirError::BadFileName(_))));
    }

    #[test]
    fn every_algorithm_signs_and_its_public_key_verifies() {
        // Guards the jsonwebtoken backend: with no crypto feature enabled it
        // compiles but panics here.
        for alg in Algorithm::ALL {
            let (key, _) = super::SigningKey::generate(alg).unwrap();
            let sig = key.sign_b64(b"header.payload").unwrap();
            let sig = crate::b64::decode(&sig).unwrap();
            let vk = key.verifying_key().unwrap();
            vk.verify(alg, b"header.payload", &sig).unwrap();
            assert!(vk.verify(alg, b"header.payloaD", &sig).is_err());
        }
    }
}
