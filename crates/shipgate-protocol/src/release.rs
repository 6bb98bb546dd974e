//! A release as the gate stores it and the HTTP API shows it: its state,
//! the CI provenance it was staged with, its files and its approvals.

use serde::{Deserialize, Serialize};

/// Where a release is in its life. It only moves forward:
/// `staged → released` or `staged → rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReleaseState {
    /// Uploaded by CI, waiting for maintainers.
    Staged,
    /// Approved by the quorum, manifest signed, files served.
    Released,
    /// Refused by a maintainer; the version may be staged again.
    Rejected,
}

impl ReleaseState {
    /// The database and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Released => "released",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the database and API spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "staged" => Some(Self::Staged),
            "released" => Some(Self::Released),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Who built a release: taken from the verified CI token, never from the
/// request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provenance {
    /// Token issuer.
    pub issuer: String,
    /// Token subject.
    pub subject: String,
    /// `owner/repo`.
    pub repository: String,
    /// Numeric owner id, when the provider gives one.
    pub repository_owner_id: Option<String>,
    /// The workflow that ran (GitHub `workflow_ref` / `job_workflow_ref`).
    pub workflow: String,
    /// The git ref that was built.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The commit that was built.
    pub commit_sha: String,
    /// The CI run id.
    pub run_id: String,
    /// The deployment environment, if any.
    pub environment: Option<String>,
    /// The triggering event (`push`, `release`, ...), if given.
    pub event_name: Option<String>,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseFile {
    /// File name (one path segment).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::FileName))]
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Sha256Hex))]
    pub sha256: String,
}

/// A release to insert when staging.
#[derive(Debug, Clone)]
pub struct NewRelease {
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Who built it.
    pub provenance: Provenance,
    /// Its files; each one's blob is already durable (its key is its sha256).
    pub files: Vec<ReleaseFile>,
}

/// A release as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseSummary {
    /// Release id.
    pub id: i64,
    /// Package name.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::PackageName))]
    pub package: String,
    /// Version.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::VersionName))]
    pub version: String,
    /// Current state.
    pub state: ReleaseState,
    /// Staging time (Unix seconds).
    pub created_at: i64,
    /// Release or rejection time (Unix seconds).
    pub decided_at: Option<i64>,
}

/// One approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Maintainer name.
    pub maintainer: String,
    /// When (Unix seconds).
    pub approved_at: i64,
}

/// Everything known about one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDetail {
    /// Id, package, version, state and times.
    #[serde(flatten)]
    pub summary: ReleaseSummary,
    /// Who built it.
    pub provenance: Provenance,
    /// Its files, sorted by path.
    pub files: Vec<ReleaseFile>,
    /// Approvals so far.
    pub approvals: Vec<Approval>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
}
