//! Why a publish did not happen, sorted by what the caller should do next.

use crate::artifact::ArtifactError;

/// A publish that did not (or not yet) succeed.
///
/// The messages never contain the credential: it is scrubbed from registry answers, and
/// never part of a URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The registry already holds this version with other bytes. Never overwritten; a
    /// person has to look.
    #[error("conflict: {detail}")]
    Conflict {
        /// What the registry holds against what was to be published.
        detail: String,
    },
    /// Worth retrying later: the registry could not be reached, timed out, answered 5xx or
    /// 429, or answered something that is not the protocol (a proxy's error page).
    #[error("{detail} (will retry)")]
    Retriable {
        /// What happened, with the registry's URL and status.
        detail: String,
    },
    /// Retrying will not help: the credential was refused (401/403), the registry refused
    /// the upload (other 4xx), or the target is misconfigured.
    #[error("{detail}")]
    Permanent {
        /// What happened, with the registry's URL and status.
        detail: String,
    },
    /// The file to publish could not be read, is not what it claims to be, or changed
    /// since staging (its SHA-256 differs).
    #[error("{0}")]
    Artifact(#[from] ArtifactError),
}

impl PublishError {
    /// Whether a later attempt may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, PublishError::Retriable { .. })
    }

    /// Whether the registry holds this version with other bytes.
    pub fn is_conflict(&self) -> bool {
        matches!(self, PublishError::Conflict { .. })
    }
}
