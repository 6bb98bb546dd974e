//! The shipgate trusted comment: the signed line of a minisign signature
//! that binds the signature to one module, one version and one manifest.
//!
//! ```text
//! shipgate v1 name=hello version=1.2.0 manifest-sha256=<64 hex> timestamp=1767225600
//! ```
//!
//! Fields in this order, single spaces, nothing else. A comment that does
//! not start with `shipgate ` is a *foreign* comment (for example
//! minisign's default `timestamp:...\tfile:...`): the signature can still
//! be valid, but it binds nothing shipgate can check.

use std::fmt;

use crate::digest::Sha256Digest;
use crate::manifest::{Manifest, ModuleName, ModuleVersion};

const PREFIX: &str = "shipgate ";
const VERSION: &str = "v1";

/// A parsed shipgate trusted comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedComment {
    /// Module name.
    pub name: ModuleName,
    /// Module version.
    pub version: ModuleVersion,
    /// SHA-256 of the signed manifest's bytes.
    pub manifest_sha256: Sha256Digest,
    /// Signing time, seconds since the Unix epoch.
    pub timestamp: u64,
}

/// A trusted comment that says `shipgate` but is not well formed, or that
/// does not match the manifest it signs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommentError {
    /// A shipgate comment of another version.
    #[error("trusted comment has unsupported shipgate comment version '{0}'")]
    UnsupportedVersion(String),
    /// Fields missing, extra or out of order.
    #[error(
        "malformed shipgate trusted comment (expected '{PREFIX}{VERSION} name=... version=... manifest-sha256=... timestamp=...')"
    )]
    Malformed,
    /// A field that does not match the manifest.
    #[error(
        "trusted comment says {field} '{signed}' but the manifest has '{actual}' (signature belongs to another module or version)"
    )]
    Mismatch {
        /// `name`, `version` or `manifest-sha256`.
        field: &'static str,
        /// The signed value.
        signed: String,
        /// The manifest's value.
        actual: String,
    },
}

impl TrustedComment {
    /// The comment for `manifest`, signed at `timestamp`.
    pub fn for_manifest(manifest: &Manifest, timestamp: u64) -> Self {
        Self {
            name: manifest.name().clone(),
            version: manifest.version().clone(),
            manifest_sha256: manifest.sha256(),
            timestamp,
        }
    }

    /// Parses a trusted comment: `Ok(None)` when it is not a shipgate
    /// comment at all, an error when it claims to be one but is malformed.
    pub fn parse(text: &str) -> Result<Option<Self>, CommentError> {
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return Ok(None);
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields[0].is_empty() {
            return Err(CommentError::Malformed);
        }
        if fields[0] != VERSION {
            return Err(CommentError::UnsupportedVersion(fields[0].to_string()));
        }
        let [_, name, version, digest, timestamp] = fields[..] else {
            return Err(CommentError::Malformed);
        };
        let value = |field: &str, key: &str| {
            field
                .strip_prefix(key)
                .ok_or(CommentError::Malformed)
                .map(str::to_string)
        };
        let name = ModuleName::new(value(name, "name=")?).map_err(|_| CommentError::Malformed)?;
        let version =
            ModuleVersion::new(value(version, "version=")?).map_err(|_| CommentError::Malformed)?;
        let manifest_sha256 = value(digest, "manifest-sha256=")?
            .parse()
            .map_err(|_| CommentError::Malformed)?;
        let timestamp = value(timestamp, "timestamp=")?;
        if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CommentError::Malformed);
        }
        let timestamp = timestamp.parse().map_err(|_| CommentError::Malformed)?;
        Ok(Some(Self {
            name,
            version,
            manifest_sha256,
            timestamp,
        }))
    }

    /// Checks that this comment names `manifest` (whose canonical bytes
    /// hash to `manifest_sha256`).
    pub fn check(
        &self,
        manifest: &Manifest,
        manifest_sha256: &Sha256Digest,
    ) -> Result<(), CommentError> {
        let mismatch = |field, signed: String, actual: String| CommentError::Mismatch {
            field,
            signed,
            actual,
        };
        if &self.name != manifest.name() {
            return Err(mismatch(
                "name",
                self.name.to_string(),
                manifest.name().to_string(),
            ));
        }
        if &self.version != manifest.version() {
            return Err(mismatch(
                "version",
                self.version.to_string(),
                manifest.version().to_string(),
            ));
        }
        if &self.manifest_sha256 != manifest_sha256 {
            return Err(mismatch(
                "manifest-sha256",
                self.manifest_sha256.to_string(),
                manifest_sha256.to_string(),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for TrustedComment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{VERSION} name={} version={} manifest-sha256={} timestamp={}",
            self.name, self.version, self.manifest_sha256, self.timestamp
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_classifies_foreign_and_malformed_comments() {
        let comment = TrustedComment {
            name: ModuleName::new("hello").unwrap(),
            version: ModuleVersion::new("1.0.0").unwrap(),
            manifest_sha256: Sha256Digest::of(b"m"),
            timestamp: 1_700_000_000,
        };
        let text = comment.to_string();
        assert_eq!(TrustedComment::parse(&text), Ok(Some(comment)));
        assert_eq!(
            TrustedComment::parse("timestamp:1700000000\tfile:shipgate.manifest\thashed"),
            Ok(None)
        );
        assert_eq!(
            TrustedComment::parse(&text.replace("v1", "v9")),
            Err(CommentError::UnsupportedVersion("v9".into()))
        );
        for bad in [
            text.replace("name=", "nom="),
            format!("{text} extra=1"),
            text.replace("timestamp=1700000000", "timestamp=-1"),
            text.replace(' ', "  "),
            "shipgate v1".to_string(),
        ] {
            assert_eq!(
                TrustedComment::parse(&bad),
                Err(CommentError::Malformed),
                "{bad}"
            );
        }
    }
}
