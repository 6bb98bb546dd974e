//! The gate key: signs release manifests. (Wired to shipgate-manifest once
//! that crate lands on main; until then every signing attempt fails closed.)

use std::path::Path;

use crate::storage::{ReleaseDetail, SignedManifest};

/// Why the gate key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLoadError {
    /// The key file could not be read.
    #[error("cannot read gate key {path}: {message}")]
    Read {
        /// Path.
        path: String,
        /// Reason.
        message: String,
    },
}

/// The gate's signing key.
#[derive(Debug)]
pub struct GateKey {
    public_key_text: String,
    fingerprint: String,
}

impl GateKey {
    /// Loads the key.
    pub fn load(path: &Path) -> Result<Self, KeyLoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyLoadError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            public_key_text: String::new(),
            fingerprint: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())),
        })
    }

    /// Public key file text.
    pub fn public_key_text(&self) -> &str {
        &self.public_key_text
    }

    /// Fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Signs the release manifest of `release`.
    pub fn sign_release(
        &self,
        release: &ReleaseDetail,
    ) -> Result<(SignedManifest, String), String> {
        Err(format!(
            "cannot sign release {}: manifest signing is not wired yet",
            release.summary.id
        ))
    }
}
