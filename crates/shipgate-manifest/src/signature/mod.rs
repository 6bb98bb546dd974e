//! minisign signatures over manifests.
//!
//! shipgate writes minisign's prehashed format (`ED`: Ed25519 over the
//! BLAKE2b-512 of the file) with a [`TrustedComment`] binding name,
//! version, manifest SHA-256 and time, so `minisign -Vm shipgate.manifest
//! -p key.pub` verifies it. It reads prehashed and legacy (`Ed`)
//! signatures, including ones made by `minisign -S`.

mod comment;

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

pub use comment::{CommentError, TrustedComment};

use crate::keys::{KeyId, PublicKey, SigningKey, read_capped};
use crate::limits::MAX_SIGNATURE_BYTES;
use crate::manifest::Manifest;

const UNTRUSTED_PREFIX: &str = "untrusted comment: ";
const TRUSTED_PREFIX: &str = "trusted comment: ";

/// A signature file that cannot be read or used: `origin: kind`.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct SignatureError {
    /// The signature file.
    pub origin: String,
    /// What is wrong.
    pub kind: SignatureErrorKind,
}

/// What is wrong with a signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureErrorKind {
    /// The file cannot be read.
    #[error("cannot read signature file: {0}")]
    Read(std::io::Error),
    /// Larger than any signature file.
    #[error("too large to be a minisign signature")]
    TooLarge,
    /// Empty.
    #[error("signature file is empty")]
    Empty,
    /// Not UTF-8.
    #[error("not a minisign signature (not text)")]
    NotText,
    /// First line is not `untrusted comment: ...`.
    #[error("not a minisign signature (first line must start with 'untrusted comment:')")]
    MissingUntrustedComment,
    /// Fewer than four lines.
    #[error("truncated signature file (missing {0})")]
    Truncated(&'static str),
    /// A line that is not valid base64 or has the wrong length.
    #[error("garbled signature file ({0})")]
    Garbled(&'static str),
    /// More than four lines.
    #[error("unexpected extra lines after the signature")]
    ExtraLines,
    /// An algorithm other than `Ed`/`ED`.
    #[error("unsupported signature algorithm (minisign Ed25519 only)")]
    UnsupportedAlgorithm,
    /// No public key given to check it with.
    #[error("signature present but no public key was given to check it")]
    NoPublicKey,
    /// Made by a key that is none of the given ones.
    #[error("signed by key {signed_by}, which is none of the given public keys ({given})")]
    UnknownKey {
        /// The signature's key ID.
        signed_by: KeyId,
        /// The given keys' IDs.
        given: String,
    },
    /// The Ed25519 check failed.
    #[error(
        "signature does not verify with key {0}: the manifest or the trusted comment was changed after signing"
    )]
    BadSignature(KeyId),
    /// A shipgate trusted comment that is malformed or names another module.
    #[error(transparent)]
    Comment(#[from] CommentError),
    /// Signing failed in the minisign library.
    #[error("signing failed: {0}")]
    Sign(String),
}

fn sig_error(origin: &str, kind: SignatureErrorKind) -> SignatureError {
    SignatureError {
        origin: origin.to_string(),
        kind,
    }
}

/// A parsed minisign signature file.
#[derive(Clone)]
pub struct SignatureFile {
    origin: String,
    untrusted_comment: String,
    trusted_comment: String,
    key_id: KeyId,
    prehashed: bool,
    inner: minisign_verify::Signature,
}

impl fmt::Debug for SignatureFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignatureFile({} by {})", self.origin, self.key_id)
    }
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The key that verified it.
    pub key_id: KeyId,
    /// Where that key came from.
    pub key_origin: String,
    /// Prehashed (`ED`) or legacy (`Ed`).
    pub prehashed: bool,
    /// The trusted comment: shipgate's (checked against the manifest) or foreign.
    pub comment: CommentKind,
}

/// The trusted comment of a valid signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommentKind {
    /// A shipgate comment that matches the manifest.
    Shipgate(TrustedComment),
    /// Not a shipgate comment (for example minisign's default); it binds
    /// nothing shipgate can check.
    Foreign(String),
}

impl SignatureFile {
    /// Parses a signature file's text strictly: four lines (untrusted
    /// comment, signature, trusted comment, global signature), LF or CRLF.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SignatureError> {
        use SignatureErrorKind as K;
        let fail = |kind| sig_error(origin, kind);
        if text.trim().is_empty() {
            return Err(fail(K::Empty));
        }
        let mut lines = text.lines();
        let untrusted = lines.next().unwrap_or_default();
        let Some(untrusted_comment) = untrusted.strip_prefix(UNTRUSTED_PREFIX) else {
            return Err(fail(K::MissingUntrustedComment));
        };
        let signature_line = lines
            .next()
            .ok_or_else(|| fail(K::Truncated("the signature line")))?;
        let signature = BASE64
            .decode(signature_line)
            .map_err(|_| fail(K::Garbled("signature line is not base64")))?;
        if signature.len() != 74 {
            return Err(fail(K::Garbled("signature line has the wrong length")));
        }
        let prehashed = match &signature[..2] {
            b"ED" => true,
            b"Ed" => false,
            _ => return Err(fail(K::UnsupportedAlgorithm)),
        };
        let trusted = lines
            .next()
            .ok_or_else(|| fail(K::Truncated("the trusted comment")))?;
        let Some(trusted_comment) = trusted.strip_prefix(TRUSTED_PREFIX) else {
            return Err(fail(K::Garbled(
                "third line must start with 'trusted comment:'",
            )));
        };
        let global = lines
            .next()
            .ok_or_else(|| fail(K::Truncated("the trusted comment signature")))?;
        let global = BASE64
            .decode(global)
            .map_err(|_| fail(K::Garbled("trusted comment signature is not base64")))?;
        if global.len() != 64 {
            return Err(fail(K::Garbled(
                "trusted comment signature has the wrong length",
            )));
        }
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(fail(K::ExtraLines));
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&signature[2..10]);
        let clean = format!(
            "{UNTRUSTED_PREFIX}{untrusted_comment}\n{}\n{TRUSTED_PREFIX}{trusted_comment}\n{}\n",
            BASE64.encode(&signature),
            BASE64.encode(&global)
        );
        let inner = minisign_verify::Signature::decode(&clean)
            .map_err(|_| fail(K::Garbled("not a minisign signature")))?;
        Ok(Self {
            origin: origin.to_string(),
            untrusted_comment: untrusted_comment.to_string(),
            trusted_comment: trusted_comment.to_string(),
            key_id: KeyId(key_id),
            prehashed,
            inner,
        })
    }

    /// Reads and parses a signature file.
    pub fn from_file(path: &Path) -> Result<Self, SignatureError> {
        let origin = path.display().to_string();
        let bytes = read_capped(path, MAX_SIGNATURE_BYTES)
            .map_err(|e| sig_error(&origin, SignatureErrorKind::Read(e)))?
            .ok_or_else(|| sig_error(&origin, SignatureErrorKind::TooLarge))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| sig_error(&origin, SignatureErrorKind::NotText))?;
        Self::parse(&text, &origin)
    }

    /// The key ID that made this signature.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signed trusted comment (without its `trusted comment: ` prefix).
    pub fn trusted_comment(&self) -> &str {
        &self.trusted_comment
    }

    /// The untrusted comment: informative only, never relied on.
    pub fn untrusted_comment(&self) -> &str {
        &self.untrusted_comment
    }

    /// Prehashed (`ED`) rather than legacy (`Ed`).
    pub fn is_prehashed(&self) -> bool {
        self.prehashed
    }

    /// Verifies this signature over `manifest_bytes` with whichever of
    /// `keys` has its key ID, then checks a shipgate trusted comment
    /// against `manifest` (which must be the parse of `manifest_bytes`).
    pub fn verify(
        &self,
        manifest_bytes: &[u8],
        manifest: &Manifest,
        keys: &[PublicKey],
    ) -> Result<Verified, SignatureError> {
        let fail = |kind| sig_error(&self.origin, kind);
        if keys.is_empty() {
            return Err(fail(SignatureErrorKind::NoPublicKey));
        }
        let key = keys
            .iter()
            .find(|k| k.key_id() == self.key_id)
            .ok_or_else(|| {
                let given: Vec<String> = keys.iter().map(|k| k.key_id().to_string()).collect();
                fail(SignatureErrorKind::UnknownKey {
                    signed_by: self.key_id,
                    given: given.join(", "),
                })
            })?;
        key.verifier()
            .verify(manifest_bytes, &self.inner, true)
            .map_err(|_| fail(SignatureErrorKind::BadSignature(self.key_id)))?;
        let comment =
            match TrustedComment::parse(&self.trusted_comment).map_err(|e| fail(e.into()))? {
                Some(comment) => {
                    let digest = crate::Sha256Digest::of(manifest_bytes);
                    comment
                        .check(manifest, &digest)
                        .map_err(|e| fail(e.into()))?;
                    CommentKind::Shipgate(comment)
                }
                None => CommentKind::Foreign(self.trusted_comment.clone()),
            };
        Ok(Verified {
            key_id: key.key_id(),
            key_origin: key.origin().to_string(),
            prehashed: self.prehashed,
            comment,
        })
    }
}

/// Signs `manifest` with `key` in minisign's prehashed format; returns the
/// signature file's contents. The trusted comment binds name, version,
/// manifest SHA-256 and `timestamp`.
pub fn sign_manifest(
    manifest: &Manifest,
    key: &SigningKey,
    timestamp: u64,
) -> Result<String, SignatureError> {
    let bytes = manifest.to_bytes();
    let comment = TrustedComment::for_manifest(manifest, timestamp).to_string();
    let untrusted = format!(
        "shipgate signature of {} {} by key {}",
        manifest.name(),
        manifest.version(),
        key.key_id()
    );
    let (public, secret) = key.minisign_keys();
    let signature = minisign::sign(
        Some(public),
        secret,
        Cursor::new(bytes),
        Some(&comment),
        Some(&untrusted),
    )
    .map_err(|e| sig_error("signing", SignatureErrorKind::Sign(e.to_string())))?;
    Ok(signature.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SecretKeyFile, generate_key_pair};
    use crate::manifest::{ModuleName, ModuleVersion, RelPath};

    fn manifest(name: &str) -> Manifest {
        Manifest::from_files(
            ModuleName::new(name).unwrap(),
            ModuleVersion::new("1.0.0").unwrap(),
            [(RelPath::new("a").unwrap(), 1, crate::Sha256Digest::of(b"a"))],
        )
        .unwrap()
    }

    fn keys() -> (SigningKey, PublicKey) {
        let pair = generate_key_pair(None).unwrap();
        let signing = SecretKeyFile::parse(&pair.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        let public = PublicKey::parse(&pair.public_key_file, "p").unwrap();
        (signing, public)
    }

    #[test]
    fn signs_and_verifies_with_a_bound_trusted_comment() {
        let (signing, public) = keys();
        let m = manifest("hello");
        let text = sign_manifest(&m, &signing, 1_700_000_000).unwrap();
        let sig = SignatureFile::parse(&text, "sig").unwrap();
        assert!(sig.is_prehashed());
        let verified = sig
            .verify(&m.to_bytes(), &m, std::slice::from_ref(&public))
            .unwrap();
        let CommentKind::Shipgate(comment) = verified.comment else {
            panic!()
        };
        assert_eq!(comment.timestamp, 1_700_000_000);
        assert_eq!(comment.manifest_sha256, m.sha256());
    }

    #[test]
    fn refuses_other_keys_other_manifests_and_edited_comments() {
        let (signing, public) = keys();
        let (_, other_public) = keys();
        let m = manifest("hello");
        let text = sign_manifest(&m, &signing, 1).unwrap();
        let sig = SignatureFile::parse(&text, "sig").unwrap();
        let err = sig
            .verify(&m.to_bytes(), &m, std::slice::from_ref(&other_public))
            .unwrap_err();
        assert!(
            matches!(err.kind, SignatureErrorKind::UnknownKey { .. }),
            "{err}"
        );
        let err = sig.verify(&m.to_bytes(), &m, &[]).unwrap_err();
        assert!(matches!(err.kind, SignatureErrorKind::NoPublicKey));
        let other = manifest("other");
        let err = sig
            .verify(&other.to_bytes(), &other, std::slice::from_ref(&public))
            .unwrap_err();
        assert!(
            matches!(err.kind, SignatureErrorKind::BadSignature(_)),
            "{err}"
        );
        let edited = text.replace("version=1.0.0", "version=9.0.0");
        let err = SignatureFile::parse(&edited, "sig")
            .unwrap()
            .verify(&m.to_bytes(), &m, &[public])
            .unwrap_err();
        assert!(
            matches!(err.kind, SignatureErrorKind::BadSignature(_)),
            "{err}"
        );
    }

    #[test]
    fn truncated_garbled_and_empty_signatures_are_refused() {
        let (signing, _) = keys();
        let text = sign_manifest(&manifest("m"), &signing, 1).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let cases = [
            (String::new(), "empty"),
            ("garbage\n".to_string(), "first line"),
            (lines[..1].join("\n"), "truncated"),
            (lines[..3].join("\n"), "truncated"),
            (
                format!("{}\n{}x\n{}\n{}\n", lines[0], lines[1], lines[2], lines[3]),
                "garbled",
            ),
            (
                format!(
                    "{}\n{}\n{}\n{}\n",
                    lines[0],
                    &lines[1][..40],
                    lines[2],
                    lines[3]
                ),
                "garbled",
            ),
            (format!("{text}more\n"), "extra lines"),
        ];
        for (input, needle) in cases {
            let err = SignatureFile::parse(&input, "s").unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }
}
